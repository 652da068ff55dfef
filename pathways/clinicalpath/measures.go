package clinicalpath

import "github.com/lujing-health/lujing/pathways"

// QC indicator ids (pathways/quality has the catalogue). The enrolment rate's denominator,
// qualifying discharges whether enrolled or not, is pathways/quality's (see Qualifies).
const (
	IndicatorCompletion = "pathway-completion"
	IndicatorWithdrawal = "pathway-withdrawal"
	IndicatorVariance   = "pathway-variance"
	// IndicatorStay carries the length of stay (days) of each discharged instance as a value.
	IndicatorStay = "pathway-stay"
)

// ForPathway is the id of an indicator's rows for one pathway: the catalogue's indicators
// count all pathways together; these break them down (GET /api/v1/pathways/{id}/counts).
func ForPathway(indicator, pathway string) string { return indicator + ":" + pathway }

// Measures are an instance's rows of the pathway QC indicators, over enrolled instances whose
// encounter was discharged, at the discharge (the time dimension; an instance withdrawn
// while the patient is still in hospital counts when they leave):
//   - pathway-completion: in the numerator when completed (standard or variant);
//   - pathway-withdrawal: in the numerator when withdrawn (退出路径);
//   - pathway-variance: in the numerator with at least one negative variance.
//
// An instance not discharged yet has none.
func Measures(v *Instance) []pathways.Measure {
	if v.DischargedAt == nil {
		return nil
	}
	row := func(ind string, in bool) pathways.Measure {
		m := pathways.Measure{Indicator: ind, At: *v.DischargedAt, Department: v.Department, Setting: "inpatient",
			Subject: v.Patient, Denominator: 1}
		if in {
			m.Numerator = 1
		}
		return m
	}
	out := []pathways.Measure{
		row(IndicatorCompletion, v.Status == StatusCompleted),
		row(IndicatorWithdrawal, v.Status == StatusWithdrawn),
		row(IndicatorVariance, v.NegativeVariance),
	}
	for _, m := range out[:3] {
		m.Indicator = ForPathway(m.Indicator, v.Pathway.ID)
		out = append(out, m)
	}
	stay := float64(v.LengthOfStay)
	los := row(ForPathway(IndicatorStay, v.Pathway.ID), false)
	los.Value = &stay
	return append(out, los)
}
