package followup

import (
	"slices"
	"time"

	"github.com/lujing-health/lujing/pathways"
)

// QC indicator ids (pathways/quality has the catalogue).
const (
	IndicatorGrade4Rate = "fu-grade4-rate"
	IndicatorCancerRate = "fu-cancer-rate"
	IndicatorTimeliness = "fu-timeliness"
	IndicatorLost       = "fu-lost"
)

// stayMeasures are an eligible stay's rows of the follow-up QC indicators, at its discharge
// (the rules of Count, counted per stay rather than per patient; a stay whose schedule was
// only carried from an earlier one counts with that one):
//   - fu-grade4-rate: a stay followed for its grade-four operation, in the numerator when a
//     contact of the patient was done within a year of the operation;
//   - fu-cancer-rate: the same for a malignant tumour, a year from the discharge;
//   - fu-lost: every followed stay, in the numerator when the patient is lost to follow-up.
//
// done are the times the patient's contacts were done.
func stayMeasures(sv StayView, done []time.Time) []pathways.Measure {
	if sv.Status != StatusEligible {
		return nil
	}
	own := map[string]bool{}
	for _, b := range sv.Eligibility.Reasons {
		if b.CarriedFrom == "" {
			own[b.Reason] = true
		}
	}
	if len(own) == 0 {
		return nil
	}
	row := func(ind string, in bool) pathways.Measure {
		m := pathways.Measure{Indicator: ind, At: sv.DischargedAt, Department: sv.Department, Setting: "inpatient",
			Subject: sv.Patient, Denominator: 1}
		if in {
			m.Numerator = 1
		}
		return m
	}
	followed := func(from time.Time) bool {
		return slices.ContainsFunc(done, func(t time.Time) bool { return !t.Before(from) && !t.After(from.AddDate(1, 0, 0)) })
	}
	var out []pathways.Measure
	if own[ReasonGrade4] {
		since := sv.DischargedAt
		if sv.OperatedAt != nil {
			since = *sv.OperatedAt
		}
		out = append(out, row(IndicatorGrade4Rate, followed(since)))
	}
	if own[ReasonTumour] {
		out = append(out, row(IndicatorCancerRate, followed(sv.DischargedAt)))
	}
	return append(out, row(IndicatorLost, sv.LostToFollowUp))
}

// contactMeasures is a contact's row of fu-timeliness, at its due date (local midnight): a
// contact whose window has begun and that is not cancelled is due; it is in the numerator
// when done on a day inside its window.
func (e *Engine) contactMeasures(cv ContactView, dueAt time.Time) []pathways.Measure {
	if cv.Status == StatusScheduled || cv.Status == StatusCancelled {
		return nil
	}
	m := pathways.Measure{Indicator: IndicatorTimeliness, At: dueAt, Department: cv.Department, Setting: "inpatient",
		Subject: cv.Patient, Denominator: 1}
	if cv.Status == StatusDone && cv.ClosedAt != nil {
		if d := civil(*cv.ClosedAt, e.cfg.Zone); d >= cv.WindowStart && d <= cv.WindowEnd {
			m.Numerator = 1
		}
	}
	return []pathways.Measure{m}
}
