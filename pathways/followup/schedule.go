package followup

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/pathways"
)

// inpatientStay is an inpatient encounter as the facts know it: admitted, and maybe discharged.
type inpatientStay struct {
	enc      string
	admitted time.Time
	dis      *discharge
}

// inpatientStays lists the patient's inpatient encounters by admission time.
func (f *facts) inpatientStays() []inpatientStay {
	by := map[string]*inpatientStay{}
	for enc, a := range f.admitted {
		if a.CareSetting == "inpatient" {
			by[enc] = &inpatientStay{enc: enc, admitted: a.At}
		}
	}
	for i := range f.discharged {
		d := &f.discharged[i]
		s := by[d.Encounter]
		if s == nil {
			s = &inpatientStay{enc: d.Encounter, admitted: d.Admitted}
			by[d.Encounter] = s
		}
		s.dis = d
	}
	out := make([]inpatientStay, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b inpatientStay) int {
		return cmp.Or(a.admitted.Compare(b.admitted), strings.Compare(a.enc, b.enc))
	})
	return out
}

// plan derives the stays and the contacts from the facts. Contacts already worked on
// (frozen, by id) are kept as they were planned and are never re-planned or superseded.
//
// Re-planning: a later inpatient admission supersedes the contacts of the schedule before it
// that are due after the admission day and were not worked on; when that stay is discharged,
// their template contacts are planned again from the new discharge (the schedule is
// re-anchored), merged with the new stay's own reasons. A stay that is eligible on its own
// plans its reasons' whole templates from its discharge.
func (e *Engine) plan(f *facts, patient string, frozen map[string]*actions) ([]*stay, []Contact) {
	var stays []*stay
	var contacts []Contact
	var prev *stay       // the last stay with contacts
	carry := []carried{} // superseded template contacts waiting for a discharge
	var superseded []Contact
	for _, is := range f.inpatientStays() {
		if prev != nil && !is.admitted.Before(prev.Discharged) {
			admittedOn := civil(is.admitted, e.cfg.Zone)
			kept := contacts[:0:0]
			for _, c := range contacts {
				if c.Encounter == prev.Encounter && c.DueOn > admittedOn && frozen[c.ID] == nil {
					for _, sp := range c.Specs {
						carry = append(carry, carried{spec: sp, from: prev.Encounter})
					}
					superseded = append(superseded, c)
					continue
				}
				kept = append(kept, c)
			}
			contacts = kept
			prev = nil
		}
		if is.dis == nil {
			continue // still in hospital: what it supersedes waits for its discharge
		}
		d := *is.dis
		s := &stay{ID: recordID("fue-", patient, d.Encounter), Encounter: d.Encounter, Admitted: is.admitted,
			Discharged: d.At, DiedInStay: d.Died, Department: pathways.Department(f.all, d.Encounter)}
		s.Eligibility, s.IndexOperation, s.IndexOperationAt = e.eligibility(f, d)
		stays = append(stays, s)
		if d.Died {
			// Nothing to re-plan: what the admission superseded comes back, to be cancelled
			// by the death.
			contacts = append(contacts, superseded...)
			carry, superseded = carry[:0], nil
			continue
		}
		own := reasonsOf(s.Eligibility.Reasons)
		var specs []string // "reason/key" to plan
		for _, r := range own {
			for _, o := range e.cfg.template(r).offsets() {
				specs = append(specs, r+"/"+o.key)
			}
		}
		for _, c := range carry {
			r, _, _ := strings.Cut(c.spec, "/")
			if slices.Contains(own, r) || slices.Contains(specs, c.spec) {
				continue
			}
			specs = append(specs, c.spec)
			if !slices.ContainsFunc(s.Eligibility.Reasons, func(b Because) bool { return b.Reason == r && b.CarriedFrom != "" }) {
				s.Eligibility.Reasons = append(s.Eligibility.Reasons, Because{Reason: r, Evidence: c.from, CarriedFrom: c.from,
					Detail: "the follow-up of " + c.from + " continues from this discharge"})
			}
		}
		carry, superseded = carry[:0], nil
		if len(specs) == 0 {
			continue
		}
		s.Planned = true
		contacts = append(contacts, e.schedule(patient, s, specs, frozen)...)
		prev = s
	}
	// Contacts worked on that the facts no longer plan (their stay was withdrawn, the merge
	// changed) stay as they were: what people recorded is not dropped.
	for _, id := range sortedKeys(frozen) {
		if !slices.ContainsFunc(contacts, func(c Contact) bool { return c.ID == id }) {
			contacts = append(contacts, frozen[id].Contact)
		}
	}
	slices.SortFunc(contacts, func(a, b Contact) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), strings.Compare(a.ID, b.ID))
	})
	return stays, contacts
}

type carried struct {
	spec string // "grade4-surgery/d30"
	from string // the encounter whose schedule it was in
}

// candidate is one template contact before merging.
type candidate struct {
	reason string
	o      offset
	due    time.Time // civil date, as midnight UTC
}

// schedule plans the contacts specs ("reason/key") of stay s from its discharge date: dates
// and windows, then the merge. Specs covered by a frozen contact of the stay are not planned
// again; the frozen contact is.
func (e *Engine) schedule(patient string, s *stay, specs []string, frozen map[string]*actions) []Contact {
	covered := map[string]bool{}
	var out []Contact
	for _, id := range sortedKeys(frozen) {
		if c := frozen[id].Contact; c.Encounter == s.Encounter {
			out = append(out, c)
			for _, sp := range c.Specs {
				covered[sp] = true
			}
		}
	}
	day := dateOf(s.Discharged, e.cfg.Zone)
	var cands []candidate
	for _, r := range reasonOrder {
		for _, o := range e.cfg.template(r).offsets() {
			if !slices.Contains(specs, r+"/"+o.key) || covered[r+"/"+o.key] {
				continue
			}
			due := day.AddDate(0, 0, o.days)
			if o.months > 0 {
				due = addMonths(day, o.months)
			}
			cands = append(cands, candidate{reason: r, o: o, due: due})
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Or(a.due.Compare(b.due), slices.Index(reasonOrder, a.reason)-slices.Index(reasonOrder, b.reason))
	})
	gap := e.cfg.MergeWithinDays
	var groups [][]candidate
	for _, c := range cands {
		merged := false
		for g := len(groups) - 1; g >= 0; g-- {
			first := groups[g][0]
			if days(first.due, c.due) >= gap {
				break
			}
			if !slices.ContainsFunc(groups[g], func(x candidate) bool { return x.reason == c.reason }) {
				groups[g] = append(groups[g], c)
				merged = true
				break
			}
		}
		if !merged {
			groups = append(groups, []candidate{c})
		}
	}
	for _, g := range groups {
		out = append(out, e.contact(patient, s, g))
	}
	return out
}

// contact makes one contact of a merge group: the first member's due date and identity, the
// union of the windows, every reason, and the most direct method (a clinic visit covers a
// call).
func (e *Engine) contact(patient string, s *stay, g []candidate) Contact {
	first := g[0]
	from, to := first.due.AddDate(0, 0, -first.o.window), first.due.AddDate(0, 0, first.o.window)
	method := first.o.method
	c := Contact{Encounter: s.Encounter, Department: s.Department, Discharged: s.Discharged, Template: e.cfg.Name()}
	for _, m := range g {
		c.Reasons = append(c.Reasons, m.reason)
		c.Specs = append(c.Specs, m.reason+"/"+m.o.key)
		if f := m.due.AddDate(0, 0, -m.o.window); f.Before(from) {
			from = f
		}
		if t := m.due.AddDate(0, 0, m.o.window); t.After(to) {
			to = t
		}
		if slices.Index(methods, m.o.method) > slices.Index(methods, method) {
			method = m.o.method
		}
	}
	c.Key = s.Encounter + "#" + c.Specs[0]
	c.ID = recordID("fu-", patient, c.Key)
	c.DueOn, c.WindowFrom, c.WindowTo = first.due.Format(time.DateOnly), from.Format(time.DateOnly), to.Format(time.DateOnly)
	c.DueAt = midnight(first.due, e.cfg.Zone)
	c.StartsAt = midnight(from, e.cfg.Zone)
	c.OverdueAt = midnight(to.AddDate(0, 0, 1), e.cfg.Zone)
	c.Method = method
	dept := s.Department
	if dept == "" {
		dept = "unassigned"
	}
	c.Assignee = strings.ReplaceAll(first.o.assignee, "{department}", dept)
	return c
}

// dateOf is the calendar date of t in zone, as midnight UTC (for date arithmetic).
func dateOf(t time.Time, zone *time.Location) time.Time {
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// civil is the date of t in zone as YYYY-MM-DD.
func civil(t time.Time, zone *time.Location) string { return t.In(zone).Format(time.DateOnly) }

// midnight is the instant a civil date (midnight UTC) begins in zone, in UTC.
func midnight(date time.Time, zone *time.Location) time.Time {
	y, m, d := date.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, zone).UTC()
}

// days is the number of calendar days from a to b (civil dates).
func days(a, b time.Time) int { return int(b.Sub(a) / (24 * time.Hour)) }

// addMonths adds n calendar months, keeping the day of the month where it exists and taking
// the month's last day where not (31 January + 1 month is 28 or 29 February).
func addMonths(date time.Time, n int) time.Time {
	y, m, d := date.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), 0, 0, 0, 0, time.UTC)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func dayNumber(from, t time.Time, zone *time.Location) int { return pathways.DayNumber(from, t, zone) }
