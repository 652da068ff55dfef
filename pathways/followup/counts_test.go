package followup_test

import (
	"encoding/json"
	"testing"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/followup"
)

func TestCount(t *testing.T) {
	e := followup.New(nil)
	var bodies []json.RawMessage
	run := func(ref string, steps func(apply func(now string, facts ...mapping.Event) pathways.Outcome, rec func(i int, req followup.RecordRequest, now string))) {
		var out pathways.Outcome
		ap := func(when string, facts ...mapping.Event) pathways.Outcome {
			var err error
			out, err = e.Apply(out.State, pathways.Input{Patient: pathways.Patient{Ref: ref}, Facts: pathways.InForce(facts), Now: at(when)})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		rec := func(i int, req followup.RecordRequest, when string) {
			var err error
			out, err = e.Record(out.State, contacts(t, out)[i].ID, clinician, req, at(when))
			if err != nil {
				t.Fatal(err)
			}
		}
		steps(ap, rec)
		for _, r := range out.Records {
			bodies = append(bodies, r.Body)
		}
	}
	// P1: grade four, reached at day 7 inside the window, readmitted on day 14.
	run("Patient/p1", func(ap func(string, ...mapping.Event) pathways.Outcome, rec func(int, followup.RecordRequest, string)) {
		ap("2026-03-18 09:00", grade4Stay()...)
		rec(0, followup.RecordRequest{Reached: ptr(true), Outcome: alive()}, "2026-03-18 10:00")
		ap("2026-06-10 09:00", append(grade4Stay(), admit("Encounter/e2", at("2026-03-25 20:00"), "EM"))...)
	})
	// P2: malignant tumour, three failed calls at month 3: lost.
	run("Patient/p2", func(ap func(string, ...mapping.Event) pathways.Outcome, rec func(int, followup.RecordRequest, string)) {
		ap("2026-06-01 09:00", tumourStay()...)
		for _, when := range []string{"2026-06-01 10:00", "2026-06-02 10:00", "2026-06-03 10:00"} {
			rec(0, followup.RecordRequest{Reached: ptr(false)}, when)
		}
		ap("2026-06-10 09:00", tumourStay()...)
	})
	// P3: discharged before the period.
	run("Patient/p3", func(ap func(string, ...mapping.Event) pathways.Outcome, _ func(int, followup.RecordRequest, string)) {
		ap("2026-06-10 09:00", append(stay("Encounter/e1", at("2025-12-01 09:00"), at("2025-12-10 09:00")),
			operated("op1", "Encounter/e1", at("2025-12-03 09:00"), "45.73", 4, nil))...)
	})
	// P4: grade four, back to theatre 47 hours later, never reached.
	run("Patient/p4", func(ap func(string, ...mapping.Event) pathways.Outcome, _ func(int, followup.RecordRequest, string)) {
		ap("2026-06-10 09:00", append(grade4Stay(), operated("op2", "Encounter/e1", operatedAt.Add(47*3600e9), "54.11", 3, nil))...)
	})
	got, err := e.Count(bodies, at("2026-03-01 00:00"), at("2026-04-01 00:00"))
	if err != nil {
		t.Fatal(err)
	}
	want := followup.Counts{
		Grade4Patients: 2, Grade4FollowedUp: 1, Grade4Rate: 0.5,
		TumourPatients: 1, TumourFollowedUp: 0,
		// Due in March: P1's and P4's day 7, and P3's day 90 (10 March), whose stay is not in the period.
		ContactsDue: 3, ContactsDoneInWindow: 1, TimelinessRate: 1.0 / 3,
		Patients: 3, PatientsLost: 1, LostRate: 1.0 / 3,
		IndexStays: 3, Readmissions: 1, Readmissions2to15: 1, ReadmissionRate: 1.0 / 3,
		Operations: 2, ReturnsToTheatre48h: 1, ReturnsToTheatre31d: 1, ReturnToTheatreRate48: 0.5, ReturnToTheatreRate31: 0.5,
	}
	if len(got) != 2 || got[0].Department != "" || got[1].Department != "GI-SURG" {
		t.Fatalf("rows %+v", got)
	}
	for _, row := range got {
		w := want
		w.Department = row.Department
		if row != w {
			t.Errorf("%q\n got %+v\nwant %+v", row.Department, row, w)
		}
	}
	if _, err := e.Count([]json.RawMessage{[]byte(`{`)}, at("2026-03-01 00:00"), at("2026-04-01 00:00")); err == nil {
		t.Error("a broken body is counted")
	}
}
