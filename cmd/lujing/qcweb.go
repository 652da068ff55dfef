package main

import (
	"context"
	"time"

	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/webui"
	"github.com/lujing-health/lujing/pathways/quality"
)

// webQuality gives the web workspace's quality page the QC indicators: the computation of
// GET /api/v1/quality/report, in the page's shape.
type webQuality struct{ q *httpapi.Quality }

func (w webQuality) Indicators(ctx context.Context, from, to time.Time, department string) ([]webui.Indicator, error) {
	rs, _, err := w.q.Evaluate(ctx, w.q.Catalogue(), from, to, "", department, "")
	if err != nil {
		return nil, err
	}
	out := make([]webui.Indicator, 0, len(rs))
	for _, r := range rs {
		ind := webui.Indicator{ID: r.ID, Title: webui.Text{Zh: r.Title.Zh, En: r.Title.En}, Numerator: float64(r.Numerator),
			Denominator: float64(r.Denominator), Value: r.Value, Unit: r.Unit, Met: r.Met, Strata: []webui.Stratum{}}
		if r.Unit == quality.UnitMinutes {
			ind.Unit = " min"
		} else if r.Unit == quality.UnitPer100 {
			ind.Unit = "/100"
		}
		if r.Target != nil {
			v := r.Target.Value
			ind.Target = &v
		}
		higher := r.Improvement == quality.Increase
		ind.HigherBetter = &higher
		for _, s := range r.Strata {
			label := s.Department
			if label == "" {
				label = "—"
			}
			if s.Setting != "" && s.Setting != "inpatient" {
				label += " (" + s.Setting + ")"
			}
			ind.Strata = append(ind.Strata, webui.Stratum{Key: s.Department + "|" + s.Setting, Label: label,
				Numerator: float64(s.Numerator), Denominator: float64(s.Denominator), Value: s.Value})
		}
		out = append(out, ind)
	}
	return out, nil
}
