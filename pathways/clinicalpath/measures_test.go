package clinicalpath_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
)

// TestMeasures counts a hand-made population of five instances:
//
//	a completed standard            b completed variant (negative variance)
//	c withdrawn, then discharged, with a negative variance
//	d withdrawn, still in hospital   e active
//
// Only the discharged count (a, b, c): completion 2/3, withdrawal 1/3, variance 2/3, each at
// its discharge, in its department.
func TestMeasures(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { x := t0.Add(time.Duration(h) * time.Hour); return &x }
	xs := []clinicalpath.Instance{
		{ID: "a", Status: clinicalpath.StatusCompleted, Completion: clinicalpath.CompletionStandard, DischargedAt: at(100), Department: "GEN-SURG"},
		{ID: "b", Status: clinicalpath.StatusCompleted, Completion: clinicalpath.CompletionVariant, NegativeVariance: true, DischargedAt: at(200), Department: "GEN-SURG"},
		{ID: "c", Status: clinicalpath.StatusWithdrawn, NegativeVariance: true, DischargedAt: at(300), Department: "CARDIO",
			Withdrawn: &clinicalpath.Withdrawal{At: t0, By: "dr", Reason: "转院"}},
		{ID: "d", Status: clinicalpath.StatusWithdrawn, Withdrawn: &clinicalpath.Withdrawal{At: t0, By: "dr", Reason: "x"}},
		{ID: "e", Status: clinicalpath.StatusActive},
	}
	den, num := map[string]int{}, map[string]int{}
	for _, x := range xs {
		x.Patient = "Patient/" + x.ID
		for _, m := range clinicalpath.Measures(&x) {
			if !m.At.Equal(*x.DischargedAt) || m.Department != x.Department || m.Setting != "inpatient" || m.Subject != x.Patient || m.Excluded {
				t.Errorf("%s: row %+v", x.ID, m)
			}
			den[m.Indicator] += m.Denominator
			num[m.Indicator] += m.Numerator
		}
	}
	for id, want := range map[string][2]int{
		clinicalpath.IndicatorCompletion: {2, 3}, clinicalpath.IndicatorWithdrawal: {1, 3}, clinicalpath.IndicatorVariance: {2, 3},
	} {
		if num[id] != want[0] || den[id] != want[1] {
			t.Errorf("%s = %d/%d, want %d/%d", id, num[id], den[id], want[0], want[1])
		}
	}
}

// TestMeasuresOnRecords: a synth colon-cancer stay without its MDT completes as a variant;
// its record carries completion 1/1, withdrawal 0/1, variance 1/1 at the discharge; while in
// hospital it carries none.
func TestMeasuresOnRecords(t *testing.T) {
	eng := newEngine(t)
	s := story(synth.ColonCancer, 8)
	during := replay(t, eng, storyPatient(t, s), until(storyArrivals(s), s.Discharged.Add(-time.Hour)), s.Discharged.Add(-time.Hour))
	if len(during.out.Records) != 1 || len(during.out.Records[0].Measures) != 0 {
		t.Fatalf("in hospital: %d records, measures %+v", len(during.out.Records), during.out.Records)
	}
	r := replay(t, eng, storyPatient(t, s), storyArrivals(s), s.Discharged.Add(72*time.Hour))
	rec := r.out.Records[0]
	got := map[string][2]int{}
	for _, m := range rec.Measures {
		got[m.Indicator] = [2]int{m.Numerator, m.Denominator}
		if !m.At.Equal(s.Discharged) {
			t.Errorf("%s at %v, want the discharge %v", m.Indicator, m.At, s.Discharged)
		}
	}
	const pw = "colon-cancer-radical-resection"
	stay := clinicalpath.ForPathway(clinicalpath.IndicatorStay, pw)
	want := map[string][2]int{clinicalpath.IndicatorCompletion: {1, 1}, clinicalpath.IndicatorWithdrawal: {0, 1}, clinicalpath.IndicatorVariance: {1, 1},
		// the same per pathway, and the stay as a value
		clinicalpath.ForPathway(clinicalpath.IndicatorCompletion, pw): {1, 1}, clinicalpath.ForPathway(clinicalpath.IndicatorWithdrawal, pw): {0, 1},
		clinicalpath.ForPathway(clinicalpath.IndicatorVariance, pw): {1, 1}, stay: {0, 1}}
	if len(got) != len(want) {
		t.Errorf("measures %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	var body struct {
		LengthOfStay int `json:"length_of_stay"`
	}
	json.Unmarshal(rec.Body, &body)
	for _, m := range rec.Measures {
		if m.Indicator == stay && (m.Value == nil || *m.Value != float64(body.LengthOfStay) || body.LengthOfStay < 14) {
			t.Errorf("stay value %v, want the instance's %d days", m.Value, body.LengthOfStay)
		}
	}
}
