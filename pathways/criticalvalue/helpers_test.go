package criticalvalue

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// t0 is a release time used across the tests: 2026-03-02 10:00 UTC.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const (
	patient = "Patient/p1"
	enc     = "Encounter/e1"
	loinc   = "http://loinc.org"
)

func mins(n int) time.Duration { return time.Duration(n) * time.Minute }

func event(kind, key, encounter string, at time.Time, version int, data any) mapping.Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	res := key
	for i := range key {
		if key[i] == '#' {
			res = key[:i]
			break
		}
	}
	return mapping.Event{Key: key, Version: version, Kind: kind, Patient: patient, Encounter: encounter, At: at.UTC(),
		Resource: res, Source: "lis", Data: b}
}

func dept(code, name string) *mapping.Code {
	return &mapping.Code{System: DepartmentSystem, Code: code, Display: name}
}

func admitted(encounter, setting string, d *mapping.Code, ward, attending string, at time.Time) mapping.Event {
	data := mapping.AdmittedData{CareSetting: setting, Status: "in-progress", Placement: mapping.Placement{Department: d}}
	if ward != "" {
		data.Ward = &mapping.Ref{Reference: "Location/" + ward, Display: ward}
	}
	if attending != "" {
		data.Attending = &mapping.Ref{Reference: "Practitioner/x", Display: attending}
	}
	return event(mapping.KindAdmitted, encounter+"#admitted", encounter, at, 1, data)
}

func transferred(encounter string, d *mapping.Code, ward string, at time.Time) mapping.Event {
	data := mapping.TransferredData{CareSetting: Inpatient, To: mapping.Placement{Department: d, Ward: &mapping.Ref{Display: ward}}}
	return event(mapping.KindTransferred, encounter+"#transferred/"+at.Format("150405"), encounter, at, 1, data)
}

func ordered(sr, encounter, requester string, at time.Time) mapping.Event {
	data := mapping.OrderedData{Status: "active", Requester: &mapping.Ref{Reference: "Practitioner/o", Display: requester}}
	return event(mapping.KindOrdered, sr+"#ordered", encounter, at, 1, data)
}

// lab is a lab result; interp "" for none.
type lab struct {
	key, encounter, code, value, unit, status, interp string
	released                                          time.Time
	version                                           int
	basedOn                                           []string
}

func (l lab) event() mapping.Event {
	status := l.status
	if status == "" {
		status = "final"
	}
	version := l.version
	if version == 0 {
		version = 1
	}
	issued := l.released
	d := mapping.ResultData{Code: mapping.Concept{System: loinc, Code: l.code}, Status: status, Issued: &issued, BasedOn: l.basedOn,
		Value: &mapping.Value{Type: "quantity", Number: json.Number(l.value), Unit: l.unit, UnitCode: l.unit}}
	if l.interp != "" {
		d.Interpretation = []mapping.Code{{System: InterpretationSystem, Code: l.interp}}
	}
	return event(mapping.KindResult, l.key+"#result", l.encounter, l.released, version, d)
}

func potassium(id, value string, released time.Time) lab {
	return lab{key: "Observation/" + id, encounter: enc, code: "2823-3", value: value, unit: "mmol/L", released: released}
}

func cancelled(key string, at time.Time, version int) mapping.Event {
	return event(mapping.KindCancelled, key, enc, at, version, mapping.CancelledData{Cancels: mapping.KindResult, Reason: "entered-in-error"})
}

// ward is an inpatient in GI surgery, admitted the day before t0.
func ward() []mapping.Event {
	return []mapping.Event{admitted(enc, Inpatient, dept("GI-SURG", "胃肠外科"), "胃肠外科病区", "朱医生", t0.Add(-24*time.Hour))}
}

func input(now time.Time, facts ...mapping.Event) pathways.Input {
	return pathways.Input{Patient: pathways.Patient{Ref: patient, BirthDate: time.Date(1960, 4, 12, 0, 0, 0, 0, time.UTC), Gender: "female"},
		Facts: pathways.InForce(facts), Now: now}
}

func engine(t testing.TB, edit ...func(*Config)) *Engine {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range edit {
		f(c)
	}
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run is one patient driven through the engine, keeping state and everything noticed.
type run struct {
	t       testing.TB
	e       *Engine
	state   json.RawMessage
	out     pathways.Outcome
	notices []pathways.Notice
}

func (r *run) apply(in pathways.Input) pathways.Outcome {
	r.t.Helper()
	out, err := r.e.Apply(r.state, in)
	if err != nil {
		r.t.Fatal(err)
	}
	r.keep(out)
	return out
}

func (r *run) keep(out pathways.Outcome) {
	if out.State != nil {
		r.state, r.out = out.State, out
		r.notices = append(r.notices, out.Notices...)
	}
}

func (r *run) ack(id string, by pathways.Actor, req AckRequest, now time.Time) (pathways.Outcome, error) {
	out, err := r.e.Acknowledge(r.state, id, by, req, now)
	r.keep(out)
	return out, err
}

func (r *run) handle(id string, by pathways.Actor, req HandleRequest, now time.Time) (pathways.Outcome, error) {
	out, err := r.e.Handle(r.state, id, by, req, now)
	r.keep(out)
	return out, err
}

// only returns the single record, failing when there is not exactly one.
func (r *run) only() (pathways.Record, RecordBody) {
	r.t.Helper()
	if len(r.out.Records) != 1 {
		r.t.Fatalf("%d records, want 1", len(r.out.Records))
	}
	return r.out.Records[0], decode(r.t, r.out.Records[0].Body)
}

func decode(t testing.TB, raw json.RawMessage) RecordBody {
	t.Helper()
	var b RecordBody
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

func names(ns []pathways.Notice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

func eventTypes(b RecordBody) []string {
	var out []string
	for _, e := range b.Events {
		out = append(out, e.Type)
	}
	return out
}

func count[T any](xs []T, f func(T) bool) int {
	n := 0
	for _, x := range xs {
		if f(x) {
			n++
		}
	}
	return n
}

var nurse = pathways.Actor{Name: "护士王", Role: "clinician", Departments: []string{"GI-SURG"}}

func wantCode(t testing.TB, err error, code, field string) {
	t.Helper()
	var pe *pathways.Error
	if pathways.ErrorCode(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	if field != "" {
		if !asError(err, &pe) || pe.Field != field {
			t.Fatalf("error %v, want field %s", err, field)
		}
	}
}

func asError(err error, pe **pathways.Error) bool {
	e, ok := err.(*pathways.Error)
	*pe = e
	return ok
}
