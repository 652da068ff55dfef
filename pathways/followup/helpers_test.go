package followup_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/followup"
)

var cst = func() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return z
}()

const patient = "Patient/p1"

// at is a time written in the hospital's zone, "2026-03-10 09:30".
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func event(kind, key, enc string, when time.Time, data any) mapping.Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	res, _, _ := cutHash(key)
	return mapping.Event{Key: key, Version: 1, Kind: kind, Patient: patient, Encounter: enc, At: when, Resource: res, Data: b}
}

func cutHash(key string) (string, string, bool) {
	for i := range key {
		if key[i] == '#' {
			return key[:i], key[i+1:], true
		}
	}
	return key, "", false
}

func dept(code string) mapping.Placement {
	return mapping.Placement{Department: &mapping.Code{System: "http://lujing.example/fhir/CodeSystem/department", Code: code}}
}

// admit is an inpatient admission to GI-SURG.
func admit(enc string, when time.Time, priority string) mapping.Event {
	d := mapping.AdmittedData{CareSetting: "inpatient", ClassCode: "IMP", Status: "in-progress", Placement: dept("GI-SURG")}
	if priority != "" {
		d.Priority = &mapping.Code{System: "http://terminology.hl7.org/CodeSystem/v3-ActPriority", Code: priority}
	}
	return event(mapping.KindAdmitted, enc+"#admitted", enc, when, d)
}

func discharge(enc string, admitted, when time.Time, died bool) mapping.Event {
	d := mapping.DischargedData{CareSetting: "inpatient", Admitted: admitted, Died: died, Placement: dept("GI-SURG"),
		Disposition: &mapping.Code{System: "http://terminology.hl7.org/CodeSystem/discharge-disposition", Code: "home"}}
	if died {
		d.Disposition.Code = "exp"
	}
	return event(mapping.KindDischarged, enc+"#discharged", enc, when, d)
}

// stay is an admission and its discharge.
func stay(enc string, from, to time.Time) []mapping.Event {
	return []mapping.Event{admit(enc, from, ""), discharge(enc, from, to, false)}
}

func operated(id, enc string, when time.Time, code string, grade int, planned *bool) mapping.Event {
	d := mapping.OperatedData{Code: mapping.Concept{System: mapping.ICD9CMSystem, Code: code}, Status: "completed",
		Start: &when, Grade: grade, Planned: planned}
	if grade > 0 {
		d.GradeSource = "resource"
	}
	return event(mapping.KindOperated, "Procedure/"+id+"#operated", enc, when, d)
}

func diagnosed(id, enc string, when time.Time, code string) mapping.Event {
	d := mapping.DiagnosedData{Code: mapping.Concept{System: mapping.ICD10System, Code: code}, Condition: "Condition/" + id,
		VerificationStatus: "confirmed"}
	return event(mapping.KindDiagnosed, "Condition/"+id+"#diagnosed", enc, when, d)
}

func died(when time.Time) mapping.Event {
	return event(mapping.KindDied, "Patient/p1#died", "", when, mapping.DiedData{TimeKnown: true})
}

func ptr[T any](v T) *T { return &v }

// input orders the facts as the adapter does.
func input(now time.Time, facts ...mapping.Event) pathways.Input {
	return pathways.Input{Patient: pathways.Patient{Ref: patient}, Facts: pathways.InForce(facts), Now: now}
}

func apply(t *testing.T, e *followup.Engine, state json.RawMessage, in pathways.Input) pathways.Outcome {
	t.Helper()
	out, err := e.Apply(state, in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// contacts decodes the follow-up records, by due date.
func contacts(t *testing.T, out pathways.Outcome) []followup.ContactView {
	t.Helper()
	var cs []followup.ContactView
	for _, r := range out.Records {
		if r.Kind != followup.KindContact {
			continue
		}
		var c followup.ContactView
		if err := json.Unmarshal(r.Body, &c); err != nil {
			t.Fatal(err)
		}
		if c.ID != r.ID || c.Status != r.Status {
			t.Fatalf("record %s/%s disagrees with its body %s/%s", r.ID, r.Status, c.ID, c.Status)
		}
		cs = append(cs, c)
	}
	slices.SortStableFunc(cs, func(a, b followup.ContactView) int {
		if a.DueOn != b.DueOn {
			if a.DueOn < b.DueOn {
				return -1
			}
			return 1
		}
		return 0
	})
	return cs
}

func stays(t *testing.T, out pathways.Outcome) []followup.StayView {
	t.Helper()
	var ss []followup.StayView
	for _, r := range out.Records {
		if r.Kind != followup.KindEligibility {
			continue
		}
		var s followup.StayView
		if err := json.Unmarshal(r.Body, &s); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	return ss
}

func dueDates(cs []followup.ContactView) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.DueOn)
	}
	return out
}

func statuses(cs []followup.ContactView) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Status)
	}
	return out
}

func noticeNames(out pathways.Outcome) []string {
	var names []string
	for _, n := range out.Notices {
		names = append(names, n.Name)
	}
	return names
}
