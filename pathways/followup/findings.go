package followup

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
)

// Finding kinds.
const (
	FindingReadmission     = "readmission"
	FindingReturnToTheatre = "return-to-theatre"
)

// findings are what later facts say about stay s: its readmission and its returns to theatre.
//
// Day counting: calendar days in the hospital's zone, the day of the discharge (for a
// readmission) or of the index operation's start (for a return to theatre) being day 1. So a
// readmission on the day of discharge is day 1 ("same-day"), the next day is day 2, and with
// the default limit day 31 (30 calendar days later) counts and day 32 does not. The bands
// follow the national indicator: same day, days 2–15, days 16–31.
//
// Readmission: the first inpatient admission after the discharge, of another encounter. It is
// planned when the admission's priority, one of its types or its admit source is one of
// Config.PlannedAdmission (default: v3-ActPriority EL, elective); a planned readmission is
// recorded with planned true and is not counted as unplanned.
//
// Return to theatre: an operation (graded, restricted, or categorised surgical) that starts
// after the index operation has ended (after its start when no end is known), in the same
// encounter at any time or elsewhere up to day 31, and is not marked planned
// (OperatedData.Planned true; unknown counts as unplanned). WithinHours is start to start
// within 48 h.
func (e *Engine) findings(f *facts, s *stay, stays []inpatientStay) []Finding {
	out := []Finding{}
	for _, is := range stays {
		if is.enc == s.Encounter || is.admitted.Before(s.Discharged) {
			continue
		}
		day := dayNumber(s.Discharged, is.admitted, e.cfg.Zone)
		if day > e.cfg.ReadmissionDays {
			break
		}
		split := "same-day"
		switch {
		case day >= 16:
			split = fmt.Sprintf("16-%d", e.cfg.ReadmissionDays)
		case day >= 2:
			split = "2-15"
		}
		planned := e.plannedAdmission(f.admitted[is.enc].AdmittedData)
		kind := "unplanned"
		if planned {
			kind = "planned"
		}
		out = append(out, Finding{Key: FindingReadmission + ":" + is.enc, Kind: FindingReadmission, Index: s.Encounter,
			Evidence: is.enc, At: is.admitted, Day: day, Split: split, Planned: planned,
			Detail: fmt.Sprintf("%s readmission on day %d after discharge (%s)", kind, day, is.enc)})
		break // later admissions are readmissions of that stay, not of this one
	}
	var index *operation
	for i := range f.ops {
		if f.ops[i].Resource == s.IndexOperation {
			index = &f.ops[i]
		}
	}
	if index != nil {
		after := index.At
		if index.End != nil && index.End.After(after) {
			after = *index.End
		}
		for _, o := range f.ops {
			if o.Resource == index.Resource || !o.At.After(after) || !e.isOperation(o) || o.Planned != nil && *o.Planned {
				continue
			}
			day := dayNumber(index.At, o.At, e.cfg.Zone)
			same := o.Encounter != "" && o.Encounter == s.Encounter
			if !same && day > e.cfg.ReturnToTheatreDays {
				continue
			}
			hours := o.At.Sub(index.At).Hours()
			within := hours <= float64(e.cfg.ReturnToTheatreHours)
			out = append(out, Finding{Key: FindingReturnToTheatre + ":" + o.Resource, Kind: FindingReturnToTheatre,
				Index: s.Encounter, Evidence: o.Resource, At: o.At, Day: day, Hours: roundHours(hours), WithinHours: within,
				SameAdmission: same, Detail: fmt.Sprintf("unplanned return to theatre: %s on day %d, %s after %s",
					conceptString(o.Code), day, since(o.At.Sub(index.At)), index.Resource)})
		}
	}
	slices.SortFunc(out, func(a, b Finding) int { return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Key, b.Key)) })
	return out
}

// since says a duration as people do: hours up to three days, days beyond.
func since(d time.Duration) string {
	if d < 72*time.Hour {
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

func roundHours(h float64) float64 { return float64(int(h*100+0.5)) / 100 }

func (e *Engine) plannedAdmission(a mapping.AdmittedData) bool {
	codes := slices.Clone(a.Types)
	for _, c := range []*mapping.Code{a.Priority, a.AdmitSource} {
		if c != nil {
			codes = append(codes, *c)
		}
	}
	for _, c := range codes {
		for _, p := range e.cfg.PlannedAdmission {
			if c.System == p.System && c.Code == p.Code {
				return true
			}
		}
	}
	return false
}
