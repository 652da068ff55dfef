package criticalvalue

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lujing-health/lujing/pathways"
)

// sums adds the measure rows of each indicator: initial population, denominator, numerator,
// excluded, and the values.
type sums struct {
	rows, den, num, excl int
	values               []float64
}

func sum(ms []pathways.Measure) map[string]*sums {
	out := map[string]*sums{}
	for _, m := range ms {
		s := out[m.Indicator]
		if s == nil {
			s = &sums{}
			out[m.Indicator] = s
		}
		s.rows++
		s.den += m.Denominator
		s.num += m.Numerator
		if m.Excluded {
			s.excl++
		}
		if m.Value != nil {
			s.values = append(s.values, *m.Value)
		}
	}
	return out
}

// TestMeasures counts a hand-made population of six critical values at the boundaries:
//
//	a  inpatient, notified 15 min after release (in time), ack +20 min, handled 24 h after ack (same day)
//	b  inpatient, notified 16 min after release (late), ack +30 min, handled 24 h 1 min after ack (not same day)
//	c  emergency, notified at once, ack +10 min (not inpatient: no same-day row)
//	d  inpatient, notified at once, never acknowledged
//	e  recalled: excluded from the notification rates, absent from the rest
//	f  inpatient, not notified (a record never delivered)
//
// notification rate 5/5 − f → 4/5; timeliness 3/5 (a, c, d); median of 20, 30, 10 = 20;
// same-day handling 1/2 (a of a, b).
func TestMeasures(t *testing.T) {
	e := engine(t)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	bodies := []RecordBody{
		{ID: "a", Status: StatusClosed, Setting: Inpatient, Department: "GI", ReleasedAt: t0, NotifiedAt: at(mins(15)),
			AcknowledgedAt: at(mins(20)), HandledAt: at(mins(20) + 24*time.Hour)},
		{ID: "b", Status: StatusClosed, Setting: Inpatient, Department: "GI", ReleasedAt: t0, NotifiedAt: at(mins(16)),
			AcknowledgedAt: at(mins(30)), HandledAt: at(mins(31) + 24*time.Hour)},
		{ID: "c", Status: StatusAcknowledged, Setting: Emergency, Department: "ED", ReleasedAt: t0, NotifiedAt: at(0), AcknowledgedAt: at(mins(10))},
		{ID: "d", Status: StatusUnreachable, Setting: Inpatient, Department: "GI", ReleasedAt: t0, NotifiedAt: at(0)},
		{ID: "e", Status: StatusRecalled, Setting: Inpatient, Department: "GI", ReleasedAt: t0, NotifiedAt: at(0), AcknowledgedAt: at(mins(3))},
		{ID: "f", Status: StatusDetected, Setting: Inpatient, Department: "GI", ReleasedAt: t0},
	}
	var all []pathways.Measure
	for _, b := range bodies {
		b.Patient = "Patient/" + b.ID
		for _, m := range e.Measures(b) {
			if !m.At.Equal(t0) || m.Subject != b.Patient || m.Department != b.Department || m.Setting != b.Setting {
				t.Errorf("%s: row %+v: want at the release, the record's patient, department and setting", b.ID, m)
			}
			all = append(all, m)
		}
	}
	got := sum(all)
	for _, tc := range []struct {
		id                   string
		rows, den, num, excl int
	}{
		{IndicatorNotificationRate, 6, 5, 4, 1},
		{IndicatorNotificationTimeliness, 6, 5, 3, 1},
		{IndicatorMedianAckMinutes, 3, 3, 0, 0},
		{IndicatorSameDayHandling, 2, 2, 1, 0},
	} {
		s := got[tc.id]
		if s == nil || s.rows != tc.rows || s.den != tc.den || s.num != tc.num || s.excl != tc.excl {
			t.Errorf("%s: %+v, want rows %d den %d num %d excluded %d", tc.id, s, tc.rows, tc.den, tc.num, tc.excl)
		}
	}
	if v := got[IndicatorMedianAckMinutes].values; len(v) != 3 || v[0] != 20 || v[1] != 30 || v[2] != 10 {
		t.Errorf("ack minutes %v, want 20 30 10", v)
	}

	// The rows agree with Counts over the same bodies.
	var raws []json.RawMessage
	for _, b := range bodies {
		raws = append(raws, encodeBody(b))
	}
	m, err := e.Counts(raws, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if m.All.Detected != got[IndicatorNotificationRate].den || m.All.Notified != got[IndicatorNotificationRate].num ||
		m.All.NotifiedInTime != got[IndicatorNotificationTimeliness].num || m.All.InpatientHandledSameDay != got[IndicatorSameDayHandling].num ||
		m.All.RecalledExcluded != got[IndicatorNotificationRate].excl || *m.All.MedianAckMinutes[Inpatient] != 25 {
		t.Errorf("Counts %+v disagree with the rows", m.All)
	}
}

// TestMeasuresOnRecords: Apply puts the rows on the records, and a recall turns them into
// exclusions.
func TestMeasuresOnRecords(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	facts := append(ward(), potassium("k1", "6.80", t0).event())
	r.apply(input(t0.Add(mins(1)), facts...))
	rec, _ := r.only()
	if _, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.8"}, t0.Add(mins(7))); err != nil {
		t.Fatal(err)
	}
	rec, _ = r.only()
	s := sum(rec.Measures)
	if s[IndicatorNotificationTimeliness].num != 1 || len(s[IndicatorMedianAckMinutes].values) != 1 || s[IndicatorMedianAckMinutes].values[0] != 7 ||
		s[IndicatorSameDayHandling].den != 1 || s[IndicatorSameDayHandling].num != 0 {
		t.Fatalf("measures after acknowledgement: %+v", rec.Measures)
	}
	r.apply(input(t0.Add(mins(9)), append(facts, cancelled("Observation/k1#result", t0.Add(mins(8)), 2))...))
	rec, _ = r.only()
	s = sum(rec.Measures)
	if len(rec.Measures) != 2 || s[IndicatorNotificationRate].excl != 1 || s[IndicatorNotificationRate].den != 0 || s[IndicatorMedianAckMinutes] != nil {
		t.Fatalf("measures after recall: %+v", rec.Measures)
	}
}
