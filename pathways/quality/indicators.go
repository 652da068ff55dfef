package quality

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// Indicator ids this core writes rows for.
const (
	IndicatorEnrollment     = "pathway-enrollment"
	IndicatorReadmission    = "readmission-31d"
	IndicatorReturn         = "return-to-theatre"
	IndicatorReturn48h      = "return-to-theatre-48h"
	IndicatorReturn31d      = "return-to-theatre-31d"
	IndicatorPostOp         = "postop-acquired"
	IndicatorGrade4MDT      = "grade4-mdt"
	IndicatorSTEMI          = "stemi-reperfusion"
	IndicatorStroke         = "stroke-reperfusion"
	IndicatorAdverseEvents  = "adverse-events-per-100"
	IndicatorCodingAccuracy = "coding-accuracy"
)

// rowFunc adds a row of a discharged stay at its discharge.
type rowFunc func(indicator string, den, num int, excluded bool, detail string)

// readmission: a discharge alive is in the denominator; in the numerator when the next
// inpatient admission (another encounter, at or after the discharge) is on day ≤
// ReadmissionDays and not planned. A death in hospital is excluded.
func (e *Engine) readmission(f *facts, s *stay, stays []*stay, row rowFunc) {
	if s.discharged.Died {
		row(IndicatorReadmission, 0, 0, true, "died in hospital")
		return
	}
	for _, next := range stays {
		if next.enc == s.enc || next.admitted.Before(s.discharged.At) {
			continue
		}
		day := pathways.DayNumber(s.discharged.At, next.admitted, e.cfg.Zone)
		if day > e.cfg.ReadmissionDays {
			break
		}
		if next.admission != nil && e.plannedAdmission(next.admission.AdmittedData) {
			row(IndicatorReadmission, 1, 0, false, fmt.Sprintf("planned readmission on day %d (%s)", day, next.enc))
			return
		}
		row(IndicatorReadmission, 1, 1, false, fmt.Sprintf("unplanned readmission on day %d (%s)", day, next.enc))
		return
	}
	row(IndicatorReadmission, 1, 0, false, fmt.Sprintf("no readmission by day %d", e.cfg.ReadmissionDays))
}

func (e *Engine) plannedAdmission(a mapping.AdmittedData) bool {
	codes := slices.Clone(a.Types)
	for _, c := range []*mapping.Code{a.Priority, a.AdmitSource} {
		if c != nil {
			codes = append(codes, *c)
		}
	}
	return slices.ContainsFunc(codes, func(c mapping.Code) bool { return codeListed(&c, e.cfg.PlannedAdmission) })
}

// isOperation: a procedure with a surgery grade, or of a configured category, performed.
func (e *Engine) isOperation(o operation) bool {
	switch o.Status {
	case "", "completed", "in-progress":
	default:
		return false
	}
	return o.Grade > 0 || codeListed(o.Category, e.cfg.OperationCategories)
}

// operationRows: the stay's operations (its own, or without an encounter during it) give
// the return-to-theatre rows (one per operation), the grade-four MDT rows, and the stay's
// post-operative acquired condition row.
func (e *Engine) operationRows(f *facts, s *stay, row rowFunc) {
	var all, mine []operation
	for _, o := range f.operations {
		if e.isOperation(o) {
			all = append(all, o)
			if s.of(o.Event) {
				mine = append(mine, o)
			}
		}
	}
	for _, o := range mine {
		e.returnRows(all, o, row)
		if o.Grade == 4 {
			e.mdt(f, o, row)
		}
	}
	if len(mine) > 0 {
		e.postOp(f, s, mine[0], row)
	}
}

// returnRows: operation o is in the three denominators; it is an unplanned return when it is
// not marked planned and starts after the previous operation (the latest that started
// before it) has ended: "return-to-theatre" in the same admission or by day ReturnDays,
// "-48h" within ReturnHours of the previous start, "-31d" by day ReturnDays.
func (e *Engine) returnRows(all []operation, o operation, row rowFunc) {
	code := cmpOr(o.Code.Code, o.Code.Text, o.Resource)
	var prev *operation
	for i := range all {
		p := &all[i]
		if p.Resource != o.Resource && p.At.Before(o.At) {
			prev = p
		}
	}
	ret, r48, r31 := 0, 0, 0
	detail := "operation " + code + ": no earlier operation"
	switch {
	case prev == nil:
	case !o.At.After(end(*prev)):
		detail = fmt.Sprintf("operation %s: starts before %s ended", code, prev.Resource)
	case o.Planned != nil && *o.Planned:
		detail = fmt.Sprintf("operation %s: a planned reoperation after %s", code, prev.Resource)
	default:
		day := pathways.DayNumber(prev.At, o.At, e.cfg.Zone)
		hours := o.At.Sub(prev.At).Hours()
		same := o.Encounter != "" && o.Encounter == prev.Encounter
		if same || day <= e.cfg.ReturnDays {
			ret = 1
		}
		if hours <= float64(e.cfg.ReturnHours) {
			r48 = 1
		}
		if day <= e.cfg.ReturnDays {
			r31 = 1
		}
		detail = fmt.Sprintf("operation %s: unplanned, day %d, %.1f h after %s", code, day, hours, prev.Resource)
		if same {
			detail += " in the same admission"
		}
		if ret == 0 {
			detail = fmt.Sprintf("operation %s: day %d after %s, another admission: not a return", code, day, prev.Resource)
		}
	}
	row(IndicatorReturn, 1, ret, false, detail)
	row(IndicatorReturn48h, 1, r48, false, detail)
	row(IndicatorReturn31d, 1, r31, false, detail)
}

func end(o operation) time.Time {
	if o.End != nil && o.End.After(o.At) {
		return *o.End
	}
	return o.At
}

// mdt: a grade-four operation with an MDT document dated before its start, at most
// MDTWithinDays before. An emergency one is excluded when MDTExcludeEmergency.
func (e *Engine) mdt(f *facts, o operation, row rowFunc) {
	code := cmpOr(o.Code.Code, o.Resource)
	if o.Urgency == "emergency" && e.cfg.MDTExcludeEmergency {
		row(IndicatorGrade4MDT, 0, 0, true, "emergency grade-four operation "+code)
		return
	}
	for _, d := range f.documents {
		if slices.Contains(e.cfg.MDTDocuments, d.DocumentKind) && d.At.Before(o.At) &&
			o.At.Sub(d.At) <= time.Duration(e.cfg.MDTWithinDays)*24*time.Hour {
			row(IndicatorGrade4MDT, 1, 1, false, fmt.Sprintf("grade-four operation %s: MDT %s, %s before", code, d.Resource, o.At.Sub(d.At).Round(time.Minute)))
			return
		}
	}
	row(IndicatorGrade4MDT, 1, 0, false, "grade-four operation "+code+": no MDT document before it")
}

// postOp: a surgical stay is in the denominator; in the numerator with a listed condition
// arising after its first operation: a diagnosis of the stay whose onset (else the
// Condition's recorded time, else its own time) is after the operation's start, that is not
// an admission diagnosis, and whose listed prefix no admission or pre-operative diagnosis of
// the stay had.
func (e *Engine) postOp(f *facts, s *stay, first operation, row rowFunc) {
	listed := func(c mapping.Concept) string {
		for _, x := range e.cfg.PostOp {
			if prefixOf(c, []string{x.Prefix}) {
				return x.Prefix
			}
		}
		return ""
	}
	before := map[string]bool{}
	var after []diagnosis
	for _, d := range f.diagnoses {
		if !s.of(d.Event) {
			continue
		}
		p := listed(d.Code)
		if p == "" {
			continue
		}
		if d.Role == "admission" || !f.arose(d).After(first.At) {
			before[p] = true
		} else {
			after = append(after, d)
		}
	}
	for _, d := range after {
		if p := listed(d.Code); !before[p] {
			row(IndicatorPostOp, 1, 1, false, fmt.Sprintf("%s %s after operation %s", d.Code.Code, cmpOr(d.Code.Display, d.Code.Text), first.Resource))
			return
		}
	}
	row(IndicatorPostOp, 1, 0, false, "surgical discharge, no listed post-operative condition")
}

// arose is when a diagnosis' condition began: its onset, else the Condition's recorded time,
// else the fact's time.
func (f *facts) arose(d diagnosis) time.Time {
	if t, ok := f.onset(d); ok {
		return t
	}
	if d.Recorded != nil {
		return *d.Recorded
	}
	for _, x := range f.diagnoses {
		if x.Resource == d.Condition && x.Recorded != nil {
			return *x.Recorded
		}
	}
	return d.At
}

// reperfusion: a stay whose principal diagnosis is one of r's, with a known onset and an
// arrival (the inpatient admission, or an emergency visit up to a day before it) within
// ArrivalWithinHours of it, is eligible; it is reperfused by one of r's procedures or
// ordered medications within WithinHours of the onset. Unknown onset and late arrival are
// exclusions.
func (e *Engine) reperfusion(f *facts, s *stay, ind string, r Reperfusion, row rowFunc) {
	pd, ok := f.principal(s.enc)
	if !ok || !prefixOf(pd.Code, r.Diagnoses) {
		return
	}
	dx := pd.Code.Code
	onset, ok := f.onset(pd)
	if !ok {
		row(ind, 0, 0, true, dx+": onset unknown")
		return
	}
	arrival := s.admitted
	for _, a := range f.admissions {
		if a.CareSetting == "emergency" && a.At.Before(arrival) && !a.At.Before(s.admitted.Add(-24*time.Hour)) {
			arrival = a.At
		}
	}
	window := func(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }
	if arrival.Sub(onset) > window(r.ArrivalWithinHours) {
		row(ind, 0, 0, true, fmt.Sprintf("%s: arrived %.1f h after onset", dx, arrival.Sub(onset).Hours()))
		return
	}
	in := func(t time.Time) bool { return !t.Before(onset) && t.Sub(onset) <= window(r.WithinHours) }
	for _, o := range f.operations {
		if prefixOf(o.Code, r.Procedures) && in(o.At) {
			row(ind, 1, 1, false, fmt.Sprintf("%s: %s %.1f h after onset", dx, o.Code.Code, o.At.Sub(onset).Hours()))
			return
		}
	}
	for _, o := range f.orders {
		if pathways.Matches(o.Code, r.Medications) && in(o.At) {
			row(ind, 1, 1, false, fmt.Sprintf("%s: %s ordered %.1f h after onset", dx, o.Code.Code, o.At.Sub(onset).Hours()))
			return
		}
	}
	row(ind, 1, 0, false, fmt.Sprintf("%s: no reperfusion within %g h of onset", dx, r.WithinHours))
}

// coding: the stay's latest coder's verdict (an Observation of the encounter with an audit
// code): in the numerator when it says correct.
func (e *Engine) coding(f *facts, s *stay, row rowFunc) {
	var last *result
	for i := range f.results {
		r := &f.results[i]
		if r.Encounter != s.enc || !pathways.Matches(r.Code, e.cfg.AuditCodes) || r.Value == nil {
			continue
		}
		switch r.Status {
		case "final", "amended", "corrected", "":
			last = r
		}
	}
	if last == nil {
		return
	}
	correct, known := false, false
	switch {
	case last.Value.Boolean != nil:
		correct, known = *last.Value.Boolean, true
	case last.Value.Code != nil && pathways.Matches(*last.Value.Code, e.cfg.AuditCorrect):
		correct, known = true, true
	case last.Value.Code != nil && pathways.Matches(*last.Value.Code, e.cfg.AuditIncorrect):
		known = true
	}
	if !known {
		return // a verdict this setting cannot read says nothing
	}
	if correct {
		row(IndicatorCodingAccuracy, 1, 1, false, "coder's verdict "+last.Resource+": correct")
	} else {
		row(IndicatorCodingAccuracy, 1, 0, false, "coder's verdict "+last.Resource+": incorrect")
	}
}

// adverseEvents: every AdverseEvent report (near misses too when configured) is a numerator
// row at its date, on its encounter (or the stay it falls in, else the patient's record).
func (e *Engine) adverseEvents(f *facts, stays []*stay, add func(enc string, s *stay, m pathways.Measure, detail string)) {
	for _, a := range f.adverse {
		if a.Actuality == "potential" && !e.cfg.AdverseIncludePotential {
			continue
		}
		var home *stay
		for _, s := range stays {
			if s.of(a.Event) {
				home = s
			}
		}
		enc, dept, setting := a.Encounter, "", ""
		switch {
		case home != nil:
			enc, dept, setting = home.enc, home.department, "inpatient"
		case a.Encounter != "":
			dept = f.department(a.Encounter)
			if ad, ok := f.admissions[a.Encounter]; ok {
				setting = ad.CareSetting
			}
		}
		what := "adverse event"
		if a.AdverseEventData.Event != nil {
			c := a.AdverseEventData.Event
			what += " " + cmpOr(c.Display, c.Code, c.Text)
		}
		if a.Actuality == "potential" {
			what += " (near miss)"
		}
		add(enc, home, pathways.Measure{Indicator: IndicatorAdverseEvents, At: a.At, Department: dept, Setting: setting, Numerator: 1},
			what+" reported ("+a.Resource+")")
	}
}

func cmpOr(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}
