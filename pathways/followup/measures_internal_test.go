package followup

import (
	"testing"
	"time"
)

// TestStayMeasuresBoundaries: a year from the operation (grade four) or the discharge
// (tumour) is inclusive; a stay carried from an earlier one and a stay not eligible have no
// rows; lost to follow-up is the patient's.
func TestStayMeasuresBoundaries(t *testing.T) {
	op := time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC)
	dis := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	both := Eligibility{Reasons: []Because{{Reason: ReasonGrade4}, {Reason: ReasonTumour}}}
	sv := StayView{Status: StatusEligible, Patient: "Patient/p", Department: "GI", DischargedAt: dis, OperatedAt: &op, Eligibility: both}
	rows := func(sv StayView, done ...time.Time) map[string][2]int {
		out := map[string][2]int{}
		for _, m := range stayMeasures(sv, done) {
			if !m.At.Equal(dis) || m.Department != "GI" || m.Subject != "Patient/p" {
				t.Errorf("row %+v", m)
			}
			out[m.Indicator] = [2]int{m.Numerator, m.Denominator}
		}
		return out
	}
	// Done exactly a year after the operation: grade four followed; a year after the
	// operation is before a year after the discharge: tumour followed too.
	got := rows(sv, op.AddDate(1, 0, 0))
	if got[IndicatorGrade4Rate] != [2]int{1, 1} || got[IndicatorCancerRate] != [2]int{1, 1} || got[IndicatorLost] != [2]int{0, 1} {
		t.Errorf("a year after the operation: %v", got)
	}
	// A minute past a year from the operation, within a year of the discharge.
	got = rows(sv, op.AddDate(1, 0, 0).Add(time.Minute))
	if got[IndicatorGrade4Rate] != [2]int{0, 1} || got[IndicatorCancerRate] != [2]int{1, 1} {
		t.Errorf("a year and a minute after the operation: %v", got)
	}
	// Done before the operation (an earlier stay's contact): not this stay's follow-up.
	got = rows(sv, op.Add(-time.Hour))
	if got[IndicatorGrade4Rate] != [2]int{0, 1} || got[IndicatorCancerRate] != [2]int{0, 1} {
		t.Errorf("done before: %v", got)
	}
	lost := sv
	lost.LostToFollowUp = true
	if got := rows(lost); got[IndicatorLost] != [2]int{1, 1} {
		t.Errorf("lost: %v", got)
	}
	carried := sv
	carried.Eligibility = Eligibility{Reasons: []Because{{Reason: ReasonGrade4, CarriedFrom: "Encounter/e0"}}}
	notEligible := sv
	notEligible.Status = StatusNotEligible
	if len(stayMeasures(carried, nil)) != 0 || len(stayMeasures(notEligible, nil)) != 0 {
		t.Error("a carried or not eligible stay has rows")
	}
}

// TestContactMeasuresBoundaries: done on the window's last day is in time, the day after is
// not; a scheduled or cancelled contact is not due.
func TestContactMeasuresBoundaries(t *testing.T) {
	e := New(nil)
	due := time.Date(2026, 3, 16, 16, 0, 0, 0, time.UTC)      // 17 March, Shanghai midnight
	lastDay := time.Date(2026, 3, 20, 15, 59, 0, 0, time.UTC) // 20 March 23:59 Shanghai
	cv := ContactView{Patient: "Patient/p", Department: "GI", Status: StatusDone, WindowStart: "2026-03-14", WindowEnd: "2026-03-20", ClosedAt: &lastDay}
	if m := e.contactMeasures(cv, due); len(m) != 1 || m[0].Numerator != 1 || m[0].Denominator != 1 || !m[0].At.Equal(due) {
		t.Errorf("done on the last day: %+v", m)
	}
	late := lastDay.Add(2 * time.Minute) // 21 March 00:01 Shanghai
	cv.ClosedAt = &late
	if m := e.contactMeasures(cv, due); len(m) != 1 || m[0].Numerator != 0 || m[0].Denominator != 1 {
		t.Errorf("done the day after: %+v", m)
	}
	for _, s := range []string{StatusOverdue, StatusMissed, StatusDue} {
		cv.Status = s
		if m := e.contactMeasures(cv, due); len(m) != 1 || m[0].Numerator != 0 || m[0].Denominator != 1 {
			t.Errorf("%s: %+v", s, m)
		}
	}
	for _, s := range []string{StatusScheduled, StatusCancelled} {
		cv.Status = s
		if m := e.contactMeasures(cv, due); len(m) != 0 {
			t.Errorf("%s: %+v", s, m)
		}
	}
}
