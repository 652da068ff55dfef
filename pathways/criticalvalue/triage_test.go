package criticalvalue

import (
	"testing"

	"github.com/lujing-health/lujing/mapping"
)

// TestSuspect: what the intake's triage sends ahead, and what it leaves in the ordinary lane.
// (TestDetection and TestReportsComponentsImaging check that everything detected is a suspect.)
func TestSuspect(t *testing.T) {
	e := engine(t)
	status := func(s string) func(*mapping.ResultData) { return func(d *mapping.ResultData) { d.Status = s } }
	issued := t0
	imaging := func(d mapping.ImagingData) mapping.Event {
		d.Code, d.Issued = mapping.Concept{System: loinc, Code: "36643-5"}, &issued
		return event(mapping.KindImaging, "DiagnosticReport/x#imaging", enc, t0, 1, d)
	}
	cases := []struct {
		name string
		ev   []mapping.Event
		want bool
	}{
		{"normal potassium", []mapping.Event{result("2823-3", quantity("4.1", "mmol/L"))}, false},
		{"critical potassium", []mapping.Event{result("2823-3", quantity("6.9", "mmol/L"))}, true},
		// Only a newborn's haemoglobin of 90 g/L is critical: with no patient read, a suspect.
		{"a band's limit, whatever the age", []mapping.Event{result("718-7", quantity("90", "g/L"))}, true},
		{"code no rule knows", []mapping.Event{result("1234-5", quantity("999", "mmol/L"))}, false},
		{"preliminary does not count", []mapping.Event{result("2823-3", quantity("6.9", "mmol/L"), status("preliminary"))}, false},
		{"a correction may concern a critical one", []mapping.Event{result("2823-3", quantity("4.0", "mmol/L"), status("corrected"))}, true},
		{"entered in error", []mapping.Event{result("2823-3", quantity("4.0", "mmol/L"), status("entered-in-error"))}, true},
		{"a withdrawn result", []mapping.Event{cancelled("Observation/o#result", t0, 2)}, true},
		{"a withdrawn order", []mapping.Event{event(mapping.KindCancelled, "ServiceRequest/s#ordered", enc, t0, 2, mapping.CancelledData{})}, false},
		{"imaging finding", []mapping.Event{imaging(mapping.ImagingData{Status: "final", ConclusionCodes: []mapping.Code{{System: "http://snomed.info/sct", Code: "36118008"}}})}, true},
		{"imaging normal", []mapping.Event{imaging(mapping.ImagingData{Status: "final", Conclusion: "未见异常"})}, false},
		{"an order", []mapping.Event{ordered("ServiceRequest/s", enc, "Practitioner/p", t0)}, false},
		{"nothing", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.Suspect(tc.ev); got != tc.want {
				t.Errorf("Suspect = %v, want %v", got, tc.want)
			}
		})
	}
}
