// Package followup is Lujing's follow-up (随访) core: who is followed up after discharge
// (grade-four surgery, malignant tumours), on which schedule, what people record at each
// contact, and what later data says (readmissions, returns to theatre, death). It is pure:
// the adapter gives it one patient's facts and the time, and stores what it answers.
//
// Records: one "follow-up" Record per contact and one "follow-up-eligibility" Record per
// inpatient stay discharged, saying whether the stay is followed up and why (or why not).
// Notices: follow-up.due, follow-up.overdue, follow-up.missed, follow-up.recorded,
// follow-up.finding.
package followup

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// Record kinds.
const (
	KindContact     = "follow-up"
	KindEligibility = "follow-up-eligibility"
)

// Contact statuses.
const (
	StatusScheduled = "scheduled"
	StatusDue       = "due"
	StatusOverdue   = "overdue"
	StatusDone      = "done"
	StatusMissed    = "missed"
	StatusCancelled = "cancelled"
)

// Eligibility record statuses.
const (
	StatusEligible    = "eligible"
	StatusNotEligible = "not_eligible"
)

// Notice names.
const (
	NoticeDue      = "follow-up.due"
	NoticeOverdue  = "follow-up.overdue"
	NoticeMissed   = "follow-up.missed"
	NoticeRecorded = "follow-up.recorded"
	NoticeFinding  = "follow-up.finding"
)

// Engine is the follow-up core with one configuration. It is safe for concurrent use.
type Engine struct{ cfg *Config }

// New returns an Engine; a nil cfg is Default().
func New(cfg *Config) *Engine {
	if cfg == nil {
		cfg = Default()
	}
	return &Engine{cfg: cfg}
}

// Config returns the configuration in use.
func (e *Engine) Config() *Config { return e.cfg }

// Apply plans the patient's follow-up from the facts in force and moves the contacts on with
// the time (scheduled → due → overdue). It is idempotent: applying the same input to the
// state it returned yields the same records and no notice.
func (e *Engine) Apply(raw json.RawMessage, in pathways.Input) (pathways.Outcome, error) {
	st, err := loadState(raw)
	if err != nil {
		return pathways.Outcome{}, err
	}
	if in.Patient.Ref != "" {
		st.Patient = in.Patient.Ref
	}
	f, err := readFacts(in.Facts)
	if err != nil {
		return pathways.Outcome{}, err
	}
	if st.Patient == "" && len(f.all) > 0 {
		st.Patient = f.all[0].Patient
	}
	frozen := map[string]*actions{}
	for id, a := range st.Actions {
		if len(a.Attempts) > 0 {
			frozen[id] = a
		}
	}
	st.Stays, st.Plan = e.plan(f, st.Patient, frozen)
	all := f.inpatientStays()
	for _, s := range st.Stays {
		if s.Planned || len(s.Eligibility.Reasons) > 0 {
			s.Findings = e.findings(f, s, all)
		}
	}
	st.Death = factDeath(f)
	st.Config = e.cfg.Name()
	return e.finish(st, in.Now, nil)
}

// factDeath is the earliest death the facts state: Patient.deceased, or a discharge whose
// disposition is death.
func factDeath(f *facts) *Death {
	var d *Death
	if f.died != nil {
		var dd mapping.DiedData
		_ = pathways.Decode(f.died.Data, &dd) // an empty DiedData is "time not known"
		detail := "the patient died on " + f.died.At.Format(time.RFC3339) + " (Patient.deceased)"
		if !dd.TimeKnown {
			detail = "the patient is deceased (Patient.deceased, time not known; reported " + f.died.At.Format(time.RFC3339) + ")"
		}
		d = &Death{At: f.died.At, Source: "patient", Ref: f.died.Resource, Detail: detail}
	}
	for _, x := range f.discharged {
		if x.Died && (d == nil || x.At.Before(d.At)) {
			d = &Death{At: x.At, Source: "discharge", Ref: x.Resource,
				Detail: "the patient died in hospital, " + x.Encounter + " (discharge disposition " + codeString(x.Disposition) + ")"}
		}
	}
	return d
}

// view is a contact with its status at a time.
type view struct {
	Contact
	status   string
	reason   string // why it is cancelled
	closed   time.Time
	attempts []Attempt
	outcome  *Outcome
}

// death is the earliest death known: from the facts or recorded at a contact.
func (e *Engine) death(st *state) *Death {
	d := st.Death
	for _, id := range sortedKeys(st.Actions) {
		for _, a := range st.Actions[id].Attempts {
			if a.Outcome == nil || a.Outcome.Status != "died" {
				continue
			}
			on, err := time.ParseInLocation(time.DateOnly, a.Outcome.DiedOn, e.cfg.Zone)
			if err != nil {
				continue // validated when recorded
			}
			if d == nil || on.Before(d.At) {
				d = &Death{At: on.UTC(), Source: "follow-up", Ref: id,
					Detail: "the patient died on " + a.Outcome.DiedOn + ", as recorded at follow-up by " + a.By}
			}
		}
	}
	return d
}

// views gives every contact its status at now.
func (e *Engine) views(st *state, now time.Time) []*view {
	death := e.death(st)
	out := make([]*view, 0, len(st.Plan))
	for _, c := range st.Plan {
		v := &view{Contact: c, attempts: []Attempt{}}
		failed := 0
		if a := st.Actions[c.ID]; a != nil {
			v.attempts = a.Attempts
		}
		for _, a := range v.attempts {
			if a.Reached {
				v.status, v.closed, v.outcome = StatusDone, a.At, a.Outcome
				break
			}
			if failed++; failed == e.cfg.MaxAttempts {
				v.status, v.closed = StatusMissed, a.At
			}
		}
		switch {
		case v.status != "":
		case death != nil:
			v.status, v.closed, v.reason = StatusCancelled, death.At, death.Detail
		case !now.Before(c.OverdueAt):
			v.status = StatusOverdue
		case !now.Before(c.StartsAt):
			v.status = StatusDue
		default:
			v.status = StatusScheduled
		}
		out = append(out, v)
	}
	return out
}

func open(status string) bool {
	return status == StatusScheduled || status == StatusDue || status == StatusOverdue
}

// lost says whether the patient is lost to follow-up: a contact was missed and no contact due
// after it was done.
func lost(vs []*view) bool {
	l := false
	for _, v := range vs { // by due date
		switch v.status {
		case StatusMissed:
			l = true
		case StatusDone:
			l = false
		}
	}
	return l
}

// finish projects the state at now: records, the notices not yet published, the next wake.
func (e *Engine) finish(st *state, now time.Time, notices []pathways.Notice) (pathways.Outcome, error) {
	vs := e.views(st, now)
	isLost := lost(vs)
	stays := map[string]*stay{}
	for _, s := range st.Stays {
		stays[s.Encounter] = s
	}
	// Each finding is shown on the next open contact: the earliest still open of its stay or a
	// later one.
	shown := map[string][]Finding{}
	target := map[string]string{} // finding key → contact id
	for _, s := range st.Stays {
		for _, fd := range s.Findings {
			for _, v := range vs {
				if open(v.status) && !v.Discharged.Before(s.Discharged) {
					shown[v.ID] = append(shown[v.ID], fd)
					target[fd.Key] = v.ID
					break
				}
			}
		}
	}
	var out pathways.Outcome
	bodies := map[string]json.RawMessage{}
	for _, v := range vs {
		body, err := marshal(e.contactBody(st, v, stays[v.Encounter], shown[v.ID], isLost))
		if err != nil {
			return out, err
		}
		bodies[v.ID] = body
		out.Records = append(out.Records, pathways.Record{Kind: KindContact, ID: v.ID, Patient: st.Patient,
			Encounter: v.Encounter, Department: v.Department, Status: v.status, Opened: v.DueAt, Closed: v.closed, Body: body})
	}
	for _, s := range st.Stays {
		sv := e.stayView(st, s, vs, isLost)
		body, err := marshal(sv)
		if err != nil {
			return out, err
		}
		bodies[s.ID] = body
		out.Records = append(out.Records, pathways.Record{Kind: KindEligibility, ID: s.ID, Patient: st.Patient,
			Encounter: s.Encounter, Department: s.Department, Status: sv.Status, Opened: s.Discharged, Closed: sv.closed, Body: body})
	}
	notice := func(name, id, dept string, at time.Time) {
		notices = append(notices, pathways.Notice{Name: name, Record: id, Patient: st.Patient, Department: dept, At: at})
	}
	for _, v := range vs {
		if (v.status == StatusDue || v.status == StatusOverdue) && !st.notified(v.ID, "due") {
			st.markNotified(v.ID, "due")
			notice(NoticeDue, v.ID, v.Department, v.StartsAt)
		}
		if v.status == StatusOverdue && !st.notified(v.ID, "overdue") {
			st.markNotified(v.ID, "overdue")
			notice(NoticeOverdue, v.ID, v.Department, v.OverdueAt)
		}
		if v.status == StatusMissed && !st.notified(v.ID, "missed") {
			st.markNotified(v.ID, "missed")
			notice(NoticeMissed, v.ID, v.Department, v.closed)
		}
	}
	for _, s := range st.Stays {
		for _, fd := range s.Findings {
			if st.notified(s.ID, "finding:"+fd.Key) {
				continue
			}
			st.markNotified(s.ID, "finding:"+fd.Key)
			id := cmp.Or(target[fd.Key], s.ID)
			notice(NoticeFinding, id, s.Department, fd.At)
		}
	}
	for i := range notices {
		notices[i].Data = bodies[notices[i].Record]
	}
	slices.SortStableFunc(notices, func(a, b pathways.Notice) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Name, b.Name), strings.Compare(a.Record, b.Record))
	})
	out.Notices = notices
	for _, v := range vs {
		next := time.Time{}
		switch v.status {
		case StatusScheduled:
			next = v.StartsAt
		case StatusDue:
			next = v.OverdueAt
		}
		if next.After(now) && (out.Wake.IsZero() || next.Before(out.Wake)) {
			out.Wake = next
		}
	}
	state, err := json.Marshal(st)
	if err != nil {
		return out, fmt.Errorf("followup: state: %w", err)
	}
	out.State = state
	return out, nil
}

// marshal writes JSON without escaping "<", ">" and "&" (notes are shown as written).
func marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("followup: record: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
