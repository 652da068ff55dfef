package quality

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// The tests build one patient's facts by hand: an inpatient stay is an admission and a
// discharge, operations, diagnoses, documents, results and adverse events, each a mapping
// event as the mapper writes it.

var shanghai = defaultZone()

// cst is a time in Shanghai: cst("2026-03-01 08:00").
func cst(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

type patient struct {
	ref   string
	facts []mapping.Event
	n     int
}

func newPatient(ref string) *patient { return &patient{ref: ref} }

func (p *patient) add(kind, key, enc string, at time.Time, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	p.n++
	res := key
	for i := range key {
		if key[i] == '#' {
			res = key[:i]
			break
		}
	}
	p.facts = append(p.facts, mapping.Event{Key: key, Version: 1, Kind: kind, Patient: p.ref, Encounter: enc, At: at, Resource: res, Data: b})
}

func dept(code string) *mapping.Code {
	return &mapping.Code{System: "http://lujing.example/fhir/CodeSystem/department", Code: code}
}

// stay adds an inpatient encounter of department d from admit to discharge ("" for none yet).
func (p *patient) stay(enc, d, admit, discharge string, died bool) {
	a := mapping.AdmittedData{CareSetting: "inpatient", Status: "in-progress", Placement: mapping.Placement{Department: dept(d)}}
	p.add(mapping.KindAdmitted, "Encounter/"+enc+"#admitted", "Encounter/"+enc, cst(admit), a)
	if discharge != "" {
		p.add(mapping.KindDischarged, "Encounter/"+enc+"#discharged", "Encounter/"+enc, cst(discharge),
			mapping.DischargedData{CareSetting: "inpatient", Admitted: cst(admit), Died: died, Placement: mapping.Placement{Department: dept(d)}})
	}
}

// plannedStay is a stay whose admission is elective (v3-ActPriority EL).
func (p *patient) plannedStay(enc, d, admit, discharge string) {
	a := mapping.AdmittedData{CareSetting: "inpatient", Status: "in-progress", Placement: mapping.Placement{Department: dept(d)},
		Priority: &mapping.Code{System: "http://terminology.hl7.org/CodeSystem/v3-ActPriority", Code: "EL"}}
	p.add(mapping.KindAdmitted, "Encounter/"+enc+"#admitted", "Encounter/"+enc, cst(admit), a)
	p.add(mapping.KindDischarged, "Encounter/"+enc+"#discharged", "Encounter/"+enc, cst(discharge),
		mapping.DischargedData{CareSetting: "inpatient", Admitted: cst(admit), Placement: mapping.Placement{Department: dept(d)}})
}

func (p *patient) emergency(enc, at string) {
	p.add(mapping.KindAdmitted, "Encounter/"+enc+"#admitted", "Encounter/"+enc, cst(at),
		mapping.AdmittedData{CareSetting: "emergency", Status: "finished", Placement: mapping.Placement{Department: dept("ED")}})
}

type op struct {
	id, enc, code string
	start         string
	hours         float64 // duration; 0: no end known
	grade         int
	planned       *bool
	urgency       string
}

func (p *patient) operate(o op) {
	start := cst(o.start)
	d := mapping.OperatedData{Code: mapping.Concept{System: "http://hl7.org/fhir/sid/icd-9-cm", Code: o.code}, Status: "completed",
		Start: &start, Grade: o.grade, Planned: o.planned, Urgency: o.urgency}
	if o.grade == 0 {
		d.Category = &mapping.Code{System: "http://snomed.info/sct", Code: "387713003"}
	}
	if o.hours > 0 {
		e := start.Add(time.Duration(o.hours * float64(time.Hour)))
		d.End = &e
	}
	enc := ""
	if o.enc != "" {
		enc = "Encounter/" + o.enc
	}
	p.add(mapping.KindOperated, "Procedure/"+o.id+"#operated", enc, start, d)
}

type dx struct {
	id, enc, code, role string
	principal           bool
	at                  string // recorded
	onset               string // "" unknown
}

func (p *patient) diagnose(d dx) {
	at := cst(d.at)
	data := mapping.DiagnosedData{Code: mapping.Concept{System: "http://hl7.org/fhir/sid/icd-10", Code: d.code}, Condition: "Condition/" + d.id,
		Role: d.role, Principal: d.principal, Recorded: &at}
	if d.onset != "" {
		o := cst(d.onset)
		data.Onset = &o
	}
	key := "Condition/" + d.id + "#diagnosed"
	if d.role != "" {
		key = "Encounter/" + d.enc + "#diagnosed/" + d.role + "/Condition/" + d.id
	}
	p.add(mapping.KindDiagnosed, key, "Encounter/"+d.enc, at, data)
}

func (p *patient) document(id, enc, kind, at string) {
	p.add(mapping.KindDocumented, "DocumentReference/"+id+"#documented", "Encounter/"+enc, cst(at),
		mapping.DocumentedData{DocumentKind: kind, Status: "current"})
}

func (p *patient) order(id, enc, system, code, at string) {
	p.add(mapping.KindOrdered, "MedicationRequest/"+id+"#ordered", "Encounter/"+enc, cst(at),
		mapping.OrderedData{Code: mapping.Concept{System: system, Code: code}, Status: "active"})
}

func (p *patient) adverseEvent(id, enc, actuality, at string) {
	e := ""
	if enc != "" {
		e = "Encounter/" + enc
	}
	p.add(mapping.KindAdverseEvent, "AdverseEvent/"+id+"#adverse_event", e, cst(at),
		mapping.AdverseEventData{Actuality: actuality, Event: &mapping.Concept{Code: "fall", Display: "跌倒"}})
}

// verdict is a coder's verdict Observation on the stay: valueBoolean.
func (p *patient) verdict(id, enc string, correct bool, at string) {
	p.add(mapping.KindResult, "Observation/"+id+"#result", "Encounter/"+enc, cst(at),
		mapping.ResultData{Code: mapping.Concept{System: "http://lujing.example/fhir/CodeSystem/qc-audit", Code: "principal-diagnosis-coding"},
			Status: "final", Value: &mapping.Value{Type: "boolean", Boolean: &correct}})
}

func (p *patient) cancel(key string, at string) {
	p.facts = append(p.facts, mapping.Event{Key: key, Version: 2, Kind: mapping.KindCancelled, Patient: p.ref, At: cst(at),
		Data: json.RawMessage(`{"cancels":"x","reason":"entered-in-error"}`)})
}

func (p *patient) input() pathways.Input {
	return pathways.Input{Patient: pathways.Patient{Ref: p.ref, BirthDate: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
		Facts: pathways.InForce(p.facts), Now: cst("2027-01-01 00:00")}
}

// tally is what a population's rows add up to, per indicator.
type tally struct{ rows, den, num, excl int }

func (t tally) String() string {
	return fmt.Sprintf("%d/%d (rows %d, excluded %d)", t.num, t.den, t.rows, t.excl)
}

// run applies the engine to each patient and adds up their rows per indicator; it also
// checks the records carry what their bodies say.
func run(t *testing.T, e *Engine, ps ...*patient) (map[string]tally, []pathways.Measure) {
	t.Helper()
	out := map[string]tally{}
	var all []pathways.Measure
	for _, p := range ps {
		o, err := e.Apply(nil, p.input())
		if err != nil {
			t.Fatalf("%s: %v", p.ref, err)
		}
		for _, r := range o.Records {
			var b StayBody
			if err := json.Unmarshal(r.Body, &b); err != nil || len(b.Indicators) != len(r.Measures) {
				t.Fatalf("%s: body %s does not match %d measures (%v)", r.ID, r.Body, len(r.Measures), err)
			}
			for _, m := range r.Measures {
				if m.Subject != p.ref {
					t.Errorf("%s: subject %q", m.Indicator, m.Subject)
				}
				x := out[m.Indicator]
				x.rows++
				x.den += m.Denominator
				x.num += m.Numerator
				if m.Excluded {
					x.excl++
				}
				out[m.Indicator] = x
				all = append(all, m)
			}
		}
	}
	return out, all
}

func want(t *testing.T, got map[string]tally, id string, num, den, excl int) {
	t.Helper()
	g := got[id]
	if g.num != num || g.den != den || g.excl != excl {
		t.Errorf("%s = %s, want %d/%d, excluded %d", id, g, num, den, excl)
	}
}

func yes() *bool { b := true; return &b }
