package followup

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Counts are the follow-up indicators of domain.md §3 for one department ("" for the whole
// hospital) and one period. Each rate is its numerator over its denominator, 0 when the
// denominator is.
type Counts struct {
	Department string `json:"department"`
	// Follow-up rate, grade-four surgery: patients discharged in the period after a grade-four
	// operation (the stay's own reason, not a carried one) / those with a contact done within
	// a year of the operation.
	Grade4Patients   int     `json:"grade4_patients"`
	Grade4FollowedUp int     `json:"grade4_followed_up"`
	Grade4Rate       float64 `json:"grade4_follow_up_rate"`
	// The same for malignant tumours, a year counted from the discharge.
	TumourPatients   int     `json:"tumour_patients"`
	TumourFollowedUp int     `json:"tumour_followed_up"`
	TumourRate       float64 `json:"tumour_follow_up_rate"`
	// Timeliness: contacts due in the period (due date in it, window started, not cancelled)
	// / those done inside their window.
	ContactsDue          int     `json:"contacts_due"`
	ContactsDoneInWindow int     `json:"contacts_done_in_window"`
	TimelinessRate       float64 `json:"timeliness_rate"`
	// Lost to follow-up: eligible patients discharged in the period / those lost.
	Patients     int     `json:"patients"`
	PatientsLost int     `json:"patients_lost"`
	LostRate     float64 `json:"lost_rate"`
	// Readmission: eligible index stays discharged in the period / those with an unplanned
	// readmission, by band.
	IndexStays          int     `json:"index_stays"`
	Readmissions        int     `json:"unplanned_readmissions"`
	ReadmissionsSameDay int     `json:"unplanned_readmissions_same_day"`
	Readmissions2to15   int     `json:"unplanned_readmissions_2_15"`
	Readmissions16to31  int     `json:"unplanned_readmissions_16_31"`
	ReadmissionRate     float64 `json:"readmission_rate"`
	// Return to theatre: index operations of those stays / unplanned returns (per index
	// operation, at most one each) within 48 h and within 31 days or the same admission.
	Operations            int     `json:"operations"`
	ReturnsToTheatre48h   int     `json:"returns_to_theatre_48h"`
	ReturnsToTheatre31d   int     `json:"returns_to_theatre_31d"`
	ReturnToTheatreRate48 float64 `json:"return_to_theatre_rate_48h"`
	ReturnToTheatreRate31 float64 `json:"return_to_theatre_rate_31d"`
}

// Count computes the indicators over the bodies of follow-up and follow-up-eligibility
// records (any patients; other kinds are skipped) for stays discharged in [from, to), and
// contacts due in it. The first row is the whole hospital, then one per department.
func (e *Engine) Count(bodies []json.RawMessage, from, to time.Time) ([]Counts, error) {
	var stays []StayView
	done := map[string][]time.Time{} // patient → times contacts were done
	var contacts []ContactView
	for i, b := range bodies {
		var k struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(b, &k); err != nil {
			return nil, fmt.Errorf("followup: count: body %d: %w", i, err)
		}
		switch k.Kind {
		case KindEligibility:
			var s StayView
			if err := json.Unmarshal(b, &s); err != nil {
				return nil, fmt.Errorf("followup: count: body %d: %w", i, err)
			}
			stays = append(stays, s)
		case KindContact:
			var c ContactView
			if err := json.Unmarshal(b, &c); err != nil {
				return nil, fmt.Errorf("followup: count: body %d: %w", i, err)
			}
			contacts = append(contacts, c)
			if c.Status == StatusDone && c.ClosedAt != nil {
				done[c.Patient] = append(done[c.Patient], *c.ClosedAt)
			}
		}
	}
	rows := map[string]*Counts{"": {}}
	row := func(dept string) []*Counts {
		if rows[dept] == nil {
			rows[dept] = &Counts{Department: dept}
		}
		return []*Counts{rows[""], rows[dept]}
	}
	// Patients count once per row and reason.
	seen := map[string]bool{}
	once := func(c *Counts, what, patient string) bool {
		k := c.Department + "\x00" + what + "\x00" + patient
		if seen[k] {
			return false
		}
		seen[k] = true
		return true
	}
	followed := func(patient string, from time.Time) bool {
		return slices.ContainsFunc(done[patient], func(t time.Time) bool { return !t.Before(from) && !t.After(from.AddDate(1, 0, 0)) })
	}
	for _, s := range stays {
		if s.DischargedAt.Before(from) || !s.DischargedAt.Before(to) || s.Status != StatusEligible {
			continue
		}
		own := map[string]bool{}
		for _, b := range s.Eligibility.Reasons {
			if b.CarriedFrom == "" {
				own[b.Reason] = true
			}
		}
		if len(own) == 0 {
			continue // a re-anchored schedule: counted with the stay it came from
		}
		for _, c := range row(s.Department) {
			if once(c, "patient", s.Patient) {
				c.Patients++
				if s.LostToFollowUp {
					c.PatientsLost++
				}
			}
			if own[ReasonGrade4] && once(c, ReasonGrade4, s.Patient) {
				c.Grade4Patients++
				since := s.DischargedAt
				if s.OperatedAt != nil {
					since = *s.OperatedAt
				}
				if followed(s.Patient, since) {
					c.Grade4FollowedUp++
				}
			}
			if own[ReasonTumour] && once(c, ReasonTumour, s.Patient) {
				c.TumourPatients++
				if followed(s.Patient, s.DischargedAt) {
					c.TumourFollowedUp++
				}
			}
			c.IndexStays++
			rtt48, rtt31 := false, false
			for _, f := range s.Findings {
				switch {
				case f.Kind == FindingReadmission && !f.Planned:
					c.Readmissions++
					switch f.Split {
					case "same-day":
						c.ReadmissionsSameDay++
					case "2-15":
						c.Readmissions2to15++
					default:
						c.Readmissions16to31++
					}
				case f.Kind == FindingReturnToTheatre:
					rtt31 = true
					rtt48 = rtt48 || f.WithinHours
				}
			}
			if s.IndexOperation != "" {
				c.Operations++
				c.ReturnsToTheatre48h += b2i(rtt48)
				c.ReturnsToTheatre31d += b2i(rtt31)
			}
		}
	}
	fromDay, toDay := civil(from, e.cfg.Zone), civil(to, e.cfg.Zone)
	for _, c := range contacts {
		if c.DueOn < fromDay || c.DueOn >= toDay || c.Status == StatusScheduled || c.Status == StatusCancelled {
			continue
		}
		inWindow := false
		if c.Status == StatusDone && c.ClosedAt != nil {
			d := civil(*c.ClosedAt, e.cfg.Zone)
			inWindow = d >= c.WindowStart && d <= c.WindowEnd
		}
		for _, r := range row(c.Department) {
			r.ContactsDue++
			r.ContactsDoneInWindow += b2i(inWindow)
		}
	}
	out := make([]Counts, 0, len(rows))
	for _, c := range rows {
		c.Grade4Rate = rate(c.Grade4FollowedUp, c.Grade4Patients)
		c.TumourRate = rate(c.TumourFollowedUp, c.TumourPatients)
		c.TimelinessRate = rate(c.ContactsDoneInWindow, c.ContactsDue)
		c.LostRate = rate(c.PatientsLost, c.Patients)
		c.ReadmissionRate = rate(c.Readmissions, c.IndexStays)
		c.ReturnToTheatreRate48 = rate(c.ReturnsToTheatre48h, c.Operations)
		c.ReturnToTheatreRate31 = rate(c.ReturnsToTheatre31d, c.Operations)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Counts) int { return cmp.Compare(a.Department, b.Department) })
	return out, nil
}

func rate(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
