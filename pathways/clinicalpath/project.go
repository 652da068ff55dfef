package clinicalpath

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Instance statuses.
const (
	StatusActive    = "active"
	StatusCompleted = "completed"
	StatusWithdrawn = "withdrawn"
)

// Completion of a completed instance: standard, or variant when it had at least one negative
// variance (变异完成). Status stays "completed" either way, so counts by status are simple;
// QC reads NegativeVariance for the variance rate.
const (
	CompletionStandard = "standard"
	CompletionVariant  = "variant"
)

// Item statuses.
const (
	ItemPending = "pending"
	ItemDone    = "done"
	ItemOverdue = "overdue"
	ItemWaived  = "waived" // not due by the time the instance ended, or its anchor never came
)

// Variance kinds.
const (
	VarianceItemOverdue     = "item_overdue"
	VarianceStayBeyond      = "stay_beyond_standard"
	VarianceStayShort       = "stay_short" // positive: discharged before the standard minimum
	VarianceICUTransfer     = "icu_transfer"
	VarianceReturnToTheatre = "return_to_theatre"
	VarianceDeath           = "death"
	VarianceRecorded        = "recorded" // recorded by a clinician
)

// Instance is the JSON of a pathway-instance record (Record.Body, Notice.Data), the
// REST API's representation of GET /api/v1/pathway-instances/{id}.
type Instance struct {
	ID         string     `json:"id"`
	Pathway    PathwayRef `json:"pathway"`
	Patient    string     `json:"patient"`
	Encounter  string     `json:"encounter"`
	Department string     `json:"department,omitempty"`
	Status     string     `json:"status"`
	// Completion is standard or variant for a completed instance, empty otherwise.
	Completion      string    `json:"completion,omitempty"`
	EnrolledAt      time.Time `json:"enrolled_at"`
	EnrolmentReason string    `json:"enrolment_reason"`
	// Day is the day of stay in the hospital's zone at the time the record was computed
	// (admission day is day 1); frozen at discharge or withdrawal.
	Day          int  `json:"day"`
	StandardStay Stay `json:"standard_stay"`
	// LengthOfStay is in days (discharge date minus admission date, at least 1), so far
	// while in hospital. NegativeVariance says whether there was at least one negative
	// variance. Both are for QC counts.
	LengthOfStay     int         `json:"length_of_stay"`
	NegativeVariance bool        `json:"negative_variance"`
	Stage            string      `json:"stage"`
	Stages           []StageView `json:"stages"`
	Items            []ItemView  `json:"items"`
	Variances        []Variance  `json:"variances"`
	AdmittedAt       time.Time   `json:"admitted_at"`
	DischargedAt     *time.Time  `json:"discharged_at,omitempty"`
	Withdrawn        *Withdrawal `json:"withdrawn,omitempty"`
}

// PathwayRef names the definition version an instance runs under.
type PathwayRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Title   Text   `json:"title"`
	// Canonical is the PlanDefinition's canonical URL with the version, as CarePlan's
	// instantiatesCanonical.
	Canonical string `json:"canonical"`
}

// StageView is a stage placed on the timeline; Start and End are nil until its anchor is known.
type StageView struct {
	ID     string     `json:"id"`
	Title  Text       `json:"title"`
	Anchor string     `json:"anchor"`
	Start  *time.Time `json:"start"`
	End    *time.Time `json:"end"`
}

// ItemView is an item's state.
type ItemView struct {
	ID       string     `json:"id"`
	Stage    string     `json:"stage"`
	Title    Text       `json:"title"`
	Kind     string     `json:"kind"`
	Required bool       `json:"required"`
	Status   string     `json:"status"`
	DueAt    *time.Time `json:"due_at"`
	DoneAt   *time.Time `json:"done_at"`
	// Late marks an item done after its deadline (its overdue variance stays).
	Late bool `json:"late,omitempty"`
	// Evidence is the reference of the fact that completed it, "Observation/o1".
	Evidence string `json:"evidence,omitempty"`
}

// Variance is one variance (变异).
type Variance struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"`
	Item         string    `json:"item,omitempty"` // the item, for item_overdue
	Reason       string    `json:"reason"`
	Source       string    `json:"source"`    // patient | clinician | hospital | external
	Direction    string    `json:"direction"` // positive | negative
	Controllable bool      `json:"controllable"`
	At           time.Time `json:"at"`
	By           string    `json:"by,omitempty"` // who recorded it; empty when Lujing derived it
}

// Withdrawal is a withdrawal from the pathway (退出路径).
type Withdrawal struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Role   string    `json:"role,omitempty"`
	Reason string    `json:"reason"`
}

// CanonicalBase is the base of the PlanDefinition canonical URLs.
const CanonicalBase = "http://lujing.example/fhir/PlanDefinition/"

// project is the instance as it stands at now, and the next time it changes by itself
// (zero when it no longer does).
func (e *Engine) project(patient string, x *instance, def *Definition, now time.Time) (*Instance, time.Time) {
	d := x.Derived
	v := &Instance{ID: x.ID, Patient: patient, Encounter: x.Encounter, Department: d.Department,
		Pathway:    PathwayRef{ID: def.ID, Version: def.Version, Title: def.Title, Canonical: CanonicalBase + def.ID + "|" + def.Version},
		EnrolledAt: d.EnrolledAt, EnrolmentReason: d.Reason, StandardStay: def.StandardStay,
		AdmittedAt: d.Admitted, DischargedAt: d.Discharged, Withdrawn: x.Withdrawn,
		Stages: []StageView{}, Items: []ItemView{}, Variances: []Variance{}}

	// The clock of an instance stops when it ends: at withdrawal or discharge.
	var closeAt time.Time
	if x.Withdrawn != nil {
		closeAt = x.Withdrawn.At
	}
	if d.Discharged != nil && (closeAt.IsZero() || d.Discharged.Before(closeAt)) {
		closeAt = *d.Discharged
	}
	closed := !closeAt.IsZero()
	at := now
	if closed && closeAt.Before(now) {
		at = closeAt
	}

	var wake []time.Time
	var variances []Variance
	k := 0
	for i, st := range def.Stages {
		ps := d.Stages[i]
		v.Stages = append(v.Stages, StageView{ID: st.ID, Title: st.Title, Anchor: st.Anchor, Start: ps.Start, End: ps.End})
		if ps.Start != nil {
			wake = append(wake, *ps.Start, *ps.End)
		}
		for _, it := range st.Items {
			pi := d.Items[k]
			k++
			iv := ItemView{ID: it.ID, Stage: st.ID, Title: it.Title, Kind: it.Kind, Required: it.Required, DueAt: pi.Due}
			evAt := pi.EvidenceAt
			if evAt != nil && x.Withdrawn != nil && evAt.After(x.Withdrawn.At) {
				evAt = nil // after the withdrawal the pathway no longer counts anything
			}
			switch {
			case evAt != nil:
				iv.Status, iv.DoneAt, iv.Evidence = ItemDone, evAt, pi.Evidence
				iv.Late = pi.Due != nil && evAt.After(*pi.Due)
			case it.Required && pi.Due != nil && !pi.Due.After(at):
				iv.Status = ItemOverdue
			case closed:
				iv.Status = ItemWaived
			default:
				iv.Status = ItemPending
				if it.Required && pi.Due != nil {
					wake = append(wake, *pi.Due)
				}
			}
			if it.Required && pi.Due != nil && !pi.Due.After(at) && (iv.Status == ItemOverdue || iv.Late) {
				reason := fmt.Sprintf("%s / %s: not done by its deadline", it.Title.Zh, it.Title.En)
				if iv.Late {
					reason = fmt.Sprintf("%s / %s: done late, %s after its deadline", it.Title.Zh, it.Title.En, evAt.Sub(*pi.Due).Round(time.Minute))
				}
				variances = append(variances, Variance{ID: varianceID(x.Encounter, "item:"+it.ID), Kind: VarianceItemOverdue,
					Item: it.ID, Reason: reason, Source: it.VarianceSource, Direction: "negative", Controllable: it.Controllable, At: *pi.Due})
			}
			v.Items = append(v.Items, iv)
		}
	}

	// Length of stay, counted in calendar days in the hospital's zone.
	end := at
	if d.Discharged != nil && x.Withdrawn == nil {
		end = *d.Discharged
	}
	v.Day = e.dateDiff(d.Admitted, at) + 1
	v.LengthOfStay = max(1, e.dateDiff(d.Admitted, end))
	exceed := e.midnightAfter(d.Admitted, def.StandardStay.Max+1)
	if !exceed.After(at) {
		variances = append(variances, Variance{ID: varianceID(x.Encounter, "stay"), Kind: VarianceStayBeyond,
			Reason: fmt.Sprintf("stay beyond the standard %d–%d days", def.StandardStay.Min, def.StandardStay.Max),
			Source: "hospital", Direction: "negative", Controllable: true, At: exceed})
	} else {
		wake = append(wake, exceed)
	}
	if d.Discharged != nil && x.Withdrawn == nil && !d.Died && def.StandardStay.Min > 0 && v.LengthOfStay < def.StandardStay.Min {
		variances = append(variances, Variance{ID: varianceID(x.Encounter, "stay-short"), Kind: VarianceStayShort,
			Reason: fmt.Sprintf("discharged after %d days, before the standard %d–%d", v.LengthOfStay, def.StandardStay.Min, def.StandardStay.Max),
			Source: "patient", Direction: "positive", At: *d.Discharged})
	}
	for _, ev := range d.Events {
		if !ev.At.After(at) {
			variances = append(variances, ev)
		}
	}
	variances = append(variances, x.Recorded...)
	slices.SortStableFunc(variances, func(a, b Variance) int { return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID)) })
	v.Variances = append(v.Variances, variances...)
	for _, x := range variances {
		if x.Direction == "negative" {
			v.NegativeVariance = true
		}
	}

	switch {
	case x.Withdrawn != nil:
		v.Status = StatusWithdrawn
	case d.Discharged != nil:
		v.Status = StatusCompleted
		v.Completion = CompletionStandard
		if v.NegativeVariance {
			v.Completion = CompletionVariant
		}
	default:
		v.Status = StatusActive
	}
	v.Stage = currentStage(v.Stages, at)

	if closed {
		return v, time.Time{}
	}
	next := e.midnightAfter(now, 1)
	for _, t := range wake {
		if t.After(now) && t.Before(next) {
			next = t
		}
	}
	return v, next
}

// currentStage is the stage whose window holds t, the last in the definition's order when
// several do (the discharge day over a post-operative window it overlaps), else the last
// that has started, else the first.
func currentStage(stages []StageView, t time.Time) string {
	best, inside := -1, false
	for i, s := range stages {
		if s.Start == nil || s.Start.After(t) {
			continue
		}
		if in := !t.After(*s.End); in || !inside {
			best, inside = i, in
		}
	}
	if best < 0 {
		if len(stages) == 0 {
			return ""
		}
		return stages[0].ID
	}
	return stages[best].ID
}

// dateDiff is the number of calendar days from a's date to b's in the hospital's zone.
func (e *Engine) dateDiff(a, b time.Time) int {
	da, db := a.In(e.cfg.Zone), b.In(e.cfg.Zone)
	ua := time.Date(da.Year(), da.Month(), da.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(db.Year(), db.Month(), db.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua) / (24 * time.Hour))
}

// midnightAfter is the local midnight that begins the n-th day after t's date.
func (e *Engine) midnightAfter(t time.Time, n int) time.Time {
	l := t.In(e.cfg.Zone)
	return time.Date(l.Year(), l.Month(), l.Day()+n, 0, 0, 0, 0, e.cfg.Zone).UTC()
}
