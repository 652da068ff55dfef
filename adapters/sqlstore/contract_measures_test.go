package sqlstore

import (
	"reflect"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

// testMeasures: measure rows are written with their records, replaced per core and patient,
// summed by stratum over a period, and answer subjects, values, evidence and departments.
func testMeasures(t *testing.T, s *Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	v := func(f float64) *float64 { return &f }
	r1 := rec("critical-value", "m1", "Patient/p1", "ICU", "acknowledged", t0)
	r1.Hospital = "h1"
	r1.Measures = []store.Measure{
		{Indicator: "cv-notification-rate", At: t0, Department: "ICU", Setting: "inpatient", Denominator: 1, Numerator: 1},
		{Indicator: "cv-median-ack-minutes", At: t0, Department: "ICU", Setting: "inpatient", Denominator: 1, Value: v(12)},
	}
	r2 := rec("critical-value", "m2", "Patient/p1", "ICU", "recalled", t0.Add(time.Hour))
	r2.Hospital = "h1"
	r2.Measures = []store.Measure{{Indicator: "cv-notification-rate", At: t0.Add(time.Hour), Department: "ICU", Setting: "inpatient", Excluded: true}}
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cv", Patient: "Patient/p1", State: []byte(`{}`), Records: []store.Record{r1, r2}}); err != nil {
		t.Fatal(err)
	}
	r3 := rec("critical-value", "m3", "Patient/p2", "CARDIO", "notified", t0.Add(2*time.Hour))
	r3.Hospital = "h2"
	r3.Measures = []store.Measure{
		{Indicator: "cv-notification-rate", At: t0.Add(2 * time.Hour), Department: "CARDIO", Setting: "emergency", Denominator: 1},
		{Indicator: "cv-median-ack-minutes", At: t0.Add(2 * time.Hour), Department: "CARDIO", Setting: "emergency", Denominator: 1, Value: v(3)},
	}
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cv", Patient: "Patient/p2", State: []byte(`{}`), Records: []store.Record{r3}}); err != nil {
		t.Fatal(err)
	}
	counts, err := s.MeasureCounts(ctx, store.MeasureFilter{Indicators: []string{"cv-notification-rate"}, From: t0, To: t0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	sortCounts(counts)
	want := []store.MeasureCount{
		{Indicator: "cv-notification-rate", Hospital: "h1", Department: "ICU", Setting: "inpatient", Rows: 2, Denominator: 1, Numerator: 1, Excluded: 1},
		{Indicator: "cv-notification-rate", Hospital: "h2", Department: "CARDIO", Setting: "emergency", Rows: 1, Denominator: 1},
	}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts\n%+v\nwant\n%+v", counts, want)
	}
	// The period is [From, To): the row at t0+2h is out with To = t0+2h.
	counts, _ = s.MeasureCounts(ctx, store.MeasureFilter{From: t0, To: t0.Add(2 * time.Hour), Hospital: "h2"})
	if len(counts) != 0 {
		t.Fatalf("h2 before its row: %+v", counts)
	}
	vals, err := s.MeasureValues(ctx, store.MeasureFilter{Indicators: []string{"cv-median-ack-minutes"}})
	if err != nil || len(vals) != 2 || vals[0].Value != 3 || vals[1].Value != 12 || vals[1].Hospital != "h1" {
		t.Fatalf("values %+v %v", vals, err)
	}
	for _, tc := range []struct {
		pop  string
		f    store.MeasureFilter
		want []string
	}{
		{"numerator", store.MeasureFilter{Indicators: []string{"cv-notification-rate"}}, []string{"Patient/p1"}},
		{"denominator", store.MeasureFilter{Indicators: []string{"cv-notification-rate"}}, []string{"Patient/p1", "Patient/p2"}},
		{"denominator", store.MeasureFilter{Indicators: []string{"cv-notification-rate"}, Department: "CARDIO"}, []string{"Patient/p2"}},
		{"excluded", store.MeasureFilter{}, []string{"Patient/p1"}},
		{"numerator", store.MeasureFilter{Indicators: []string{"cv-notification-rate"}, Setting: "emergency"}, []string{}},
	} {
		got, err := s.MeasureSubjects(ctx, tc.f, tc.pop)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("subjects %s %+v = %v %v, want %v", tc.pop, tc.f, got, err, tc.want)
		}
	}
	if _, err := s.MeasureSubjects(ctx, store.MeasureFilter{}, "everyone"); err == nil {
		t.Error("unknown population: no error")
	}
	ev, err := s.MeasureEvidence(ctx, "h2", []string{"cv-notification-rate", "adverse-events-per-100"})
	if err != nil {
		t.Fatal(err)
	}
	if ev["cv-notification-rate"] != (store.MeasureEvidence{Rows: true}) || ev["adverse-events-per-100"] != (store.MeasureEvidence{}) {
		t.Fatalf("evidence h2 %+v", ev)
	}
	ev, _ = s.MeasureEvidence(ctx, "", []string{"cv-notification-rate"})
	if ev["cv-notification-rate"] != (store.MeasureEvidence{Rows: true, Numerator: true}) {
		t.Fatalf("evidence all %+v", ev)
	}
	if ok, err := s.KnownDepartment(ctx, "CARDIO"); !ok || err != nil {
		t.Fatalf("CARDIO known: %v %v", ok, err)
	}
	if ok, err := s.KnownDepartment(ctx, "NOPE"); ok || err != nil {
		t.Fatalf("NOPE known: %v %v", ok, err)
	}
	// A later save of p1 replaces its rows (and only its rows).
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cv", Patient: "Patient/p1", Version: 1, State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	counts, _ = s.MeasureCounts(ctx, store.MeasureFilter{})
	sortCounts(counts)
	if len(counts) != 2 || counts[0].Hospital != "h2" || counts[1].Hospital != "h2" {
		t.Fatalf("after replacing p1: %+v", counts)
	}
}

func sortCounts(cs []store.MeasureCount) {
	for i := range cs {
		for j := i + 1; j < len(cs); j++ {
			a, b := cs[i], cs[j]
			if b.Indicator+b.Hospital+b.Department+b.Setting < a.Indicator+a.Hospital+a.Department+a.Setting {
				cs[i], cs[j] = b, a
			}
		}
	}
}
