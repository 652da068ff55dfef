package webui

import (
	"net/http"
	"net/url"
	"time"
)

type qcIndicator struct {
	Indicator
	Title     string
	Value     string
	Target    string
	Met       string // qc.met, qc.notmet or qc.nodata: words and an icon, never colour alone
	MetClass  string
	Trend     string // SVG
	Breakdown string // SVG, empty without strata
}

type qcView struct {
	From, To   string
	Department string
	CSV        string
	Indicators []qcIndicator
	Available  bool
}

// months is how many months the trend charts cover.
const months = 12

// quality shows every indicator against its target for a period (default: this year so far),
// a monthly trend for the last months and the department breakdown. Aggregates only: no
// patient appears on it, so QC staff may see it.
func (u *UI) quality(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	zone := u.cfg.Zone
	now := u.cfg.Now().In(zone)
	q := r.URL.Query()
	from := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, zone)
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone).AddDate(0, 0, 1)
	if t, err := time.ParseInLocation(time.DateOnly, q.Get("from"), zone); err == nil {
		from = t
	}
	if t, err := time.ParseInLocation(time.DateOnly, q.Get("to"), zone); err == nil {
		to = t.AddDate(0, 0, 1) // the "to" day is included
	}
	dept := q.Get("department")
	if !allowedDepartment(v, dept) {
		u.renderError(w, r, v, http.StatusForbidden, "error.forbidden")
		return
	}
	if dept == "" && len(v.user.Departments) == 1 {
		dept = v.user.Departments[0]
	}
	view := qcView{From: from.Format(time.DateOnly), To: to.AddDate(0, 0, -1).Format(time.DateOnly), Department: dept}
	csv := url.Values{"from": {view.From}, "to": {view.To}, "format": {"csv"}}
	if dept != "" {
		csv.Set("department", dept)
	}
	view.CSV = "/api/v1/quality/report?" + csv.Encode()
	if u.cfg.Quality != nil {
		inds, err := u.cfg.Quality.Indicators(ctx, from, to, dept)
		if err != nil {
			u.fail(w, r, v, err)
			return
		}
		// The trend: one computation per month, the last months up to now.
		start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, zone).AddDate(0, -(months - 1), 0)
		trend := map[string][]point{}
		for m := 0; m < months; m++ {
			a := start.AddDate(0, m, 0)
			monthly, err := u.cfg.Quality.Indicators(ctx, a, a.AddDate(0, 1, 0), dept)
			if err != nil {
				u.fail(w, r, v, err)
				return
			}
			label := a.Format("01")
			if m == 0 || a.Month() == time.January {
				label = a.Format("2006-01")
			}
			seen := map[string]bool{}
			for _, mi := range monthly {
				trend[mi.ID] = append(trend[mi.ID], point{Label: label, Value: mi.Value})
				seen[mi.ID] = true
			}
			for _, ind := range inds {
				if !seen[ind.ID] {
					trend[ind.ID] = append(trend[ind.ID], point{Label: label})
				}
			}
		}
		for _, ind := range inds {
			qi := qcIndicator{Indicator: ind, Title: ind.Title.In(v.lang), Value: "–", Target: "–", Met: "qc.nodata", MetClass: "nodata"}
			if ind.Value != nil {
				qi.Value = fmtNum(*ind.Value) + ind.Unit
			}
			if ind.Target != nil {
				qi.Target = fmtNum(*ind.Target) + ind.Unit
			}
			if ind.Met != nil && ind.Value != nil {
				qi.Met, qi.MetClass = "qc.notmet", "notmet"
				if *ind.Met {
					qi.Met, qi.MetClass = "qc.met", "met"
				}
			}
			qi.Trend = trendSVG(qi.Title+" — "+tr(v.lang, "qc.trend"), trend[ind.ID], ind.Target, ind.Unit)
			if len(ind.Strata) > 0 {
				qi.Breakdown = barsSVG(qi.Title+" — "+tr(v.lang, "qc.breakdown"), ind.Strata, ind.Target, ind.Unit)
			}
			view.Indicators = append(view.Indicators, qi)
		}
		view.Available = len(view.Indicators) > 0
	}
	u.render(w, r, http.StatusOK, "quality", u.view(r, v, "qc.title", view))
}
