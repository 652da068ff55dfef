package clinicalpath

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// enrolled is why and when an encounter entered a pathway.
type enrolled struct {
	Encounter string
	Admission mapping.Event
	Admitted  mapping.AdmittedData
	Principal mapping.Event
	Diagnosis mapping.DiagnosedData
	At        time.Time // when both the admission and the principal diagnosis were known
	Reason    string
}

// enrolment decides whether encounter enc takes def. Every criterion is judged on the facts
// as they were at the enrolment time (the later of admission and principal diagnosis), by
// their clinical time, not their arrival: so a comorbidity coded a week later does not undo
// an enrolment, and late or shuffled arrivals decide the same way.
func enrolment(def *Definition, p pathways.Patient, facts []mapping.Event, enc string) (enrolled, bool) {
	en := enrolled{Encounter: enc}
	adm, ok := find(facts, enc, mapping.KindAdmitted)
	if !ok || pathways.Decode(adm.Data, &en.Admitted) != nil {
		return en, false
	}
	en.Admission = adm
	if en.Admitted.CareSetting != def.Entry.CareSetting {
		return en, false
	}
	dx, data, ok := principal(facts, enc)
	if !ok || !matchAny(def.Entry.Diagnoses, data.Code) {
		return en, false
	}
	en.Principal, en.Diagnosis = dx, data
	en.At = later(adm.At, dx.At)
	dept := ""
	if en.Admitted.Department != nil {
		dept = en.Admitted.Department.Code
	}
	if len(def.Entry.Departments) > 0 && !slices.Contains(def.Entry.Departments, dept) {
		return en, false
	}
	age := -1
	if !p.BirthDate.IsZero() {
		age = years(p.BirthDate, adm.At)
		if age < def.Entry.AgeMin || (def.Entry.AgeMax > 0 && age > def.Entry.AgeMax) {
			return en, false
		}
	}
	for _, f := range facts {
		if f.Encounter != enc || f.Kind != mapping.KindDiagnosed || f.At.After(en.At) {
			continue
		}
		var d mapping.DiagnosedData
		if pathways.Decode(f.Data, &d) == nil && matchAny(def.Exclusions, d.Code) {
			return en, false
		}
	}
	var why []string
	why = append(why, fmt.Sprintf("principal diagnosis %s %s", data.Code.Code, cmpOr(data.Code.Display, data.Code.Text)))
	if data.Role != "" {
		why[0] += " (" + data.Role + ")"
	}
	why = append(why, "meets the entry criteria of "+def.ID+" "+def.Version)
	why = append(why, en.Admitted.CareSetting+" admission")
	if age >= 0 {
		why = append(why, fmt.Sprintf("age %d", age))
	}
	en.Reason = strings.Join(why, "; ")
	return en, true
}

// principal is the encounter's first principal diagnosis in time: an Encounter.diagnosis
// entry marked principal (admission diagnosis before the discharge one). A source that lists
// no diagnosis on the Encounter has its first Condition for the encounter taken instead, but
// only when no other Condition has the same time: of several written together, which is the
// principal one is not known until the Encounter says.
func principal(facts []mapping.Event, enc string) (mapping.Event, mapping.DiagnosedData, bool) {
	var best, fallback *mapping.Event
	var bestD, fallD mapping.DiagnosedData
	ambiguous := false
	for i := range facts {
		f := &facts[i]
		if f.Encounter != enc || f.Kind != mapping.KindDiagnosed {
			continue
		}
		var d mapping.DiagnosedData
		if pathways.Decode(f.Data, &d) != nil {
			continue
		}
		switch {
		case d.Principal && d.Role != "comorbidity":
			if best == nil { // facts are in time order
				best, bestD = f, d
			}
		case d.Role == "" && fallback == nil:
			fallback, fallD = f, d
		case d.Role == "" && f.At.Equal(fallback.At):
			ambiguous = true
		}
	}
	switch {
	case best != nil:
		return *best, bestD, true
	case fallback != nil && !ambiguous:
		return *fallback, fallD, true
	}
	return mapping.Event{}, mapping.DiagnosedData{}, false
}

// onset is the symptom onset of the principal diagnosis: on the diagnosis, else on the
// Condition it names.
func onset(facts []mapping.Event, d mapping.DiagnosedData) (time.Time, bool) {
	if d.Onset != nil {
		return *d.Onset, true
	}
	for _, f := range facts {
		if f.Kind != mapping.KindDiagnosed || f.Resource != d.Condition {
			continue
		}
		var c mapping.DiagnosedData
		if pathways.Decode(f.Data, &c) == nil && c.Onset != nil {
			return *c.Onset, true
		}
	}
	return time.Time{}, false
}

// find returns the encounter's fact of kind (the last in time when there are several).
func find(facts []mapping.Event, enc, kind string) (mapping.Event, bool) {
	var out mapping.Event
	ok := false
	for _, f := range facts {
		if f.Encounter == enc && f.Kind == kind {
			out, ok = f, true
		}
	}
	return out, ok
}

// Qualifies returns the inpatient encounters among facts (one patient's facts in force) that
// ended in a discharge and meet def's entry criteria, its operation included when def names
// operations: the denominator of the enrolment rate, counted by QC whether or not the
// patient was enrolled. Cancelled facts are skipped.
func Qualifies(def *Definition, patient pathways.Patient, facts []mapping.Event) []string {
	facts = pathways.Holding(facts)
	var out []string
	for _, enc := range inpatientEncounters(facts) {
		if _, ok := find(facts, enc, mapping.KindDischarged); !ok {
			continue
		}
		if _, ok := enrolment(def, patient, facts, enc); !ok {
			continue
		}
		if len(def.Entry.Procedures) > 0 {
			found := false
			for _, op := range operations(def, facts, enc) {
				if matchAny(def.Entry.Procedures, op.data.Code) {
					found = true
					break
				}
			}
			if !found {
				continue
			}
		}
		out = append(out, enc)
	}
	return out
}

// years is the age in whole years at t.
func years(birth, t time.Time) int {
	t = t.In(birth.Location())
	y := t.Year() - birth.Year()
	if t.Month() < birth.Month() || (t.Month() == birth.Month() && t.Day() < birth.Day()) {
		y--
	}
	return y
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
