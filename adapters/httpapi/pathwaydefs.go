package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/resource"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
)

// KindPathway is the store document kind of an uploaded pathway definition; the document id
// is "<pathway id>@<version>", so every version is kept for the instances enrolled under it.
const KindPathway = "pathway"

type pathwayJSON struct {
	ID           string             `json:"id"`
	Version      string             `json:"version"`
	Title        clinicalpath.Text  `json:"title"`
	Basis        string             `json:"basis,omitempty"`
	StandardStay clinicalpath.Stay  `json:"standard_stay"`
	Stages       []pathwayStageJSON `json:"stages"`
	Versions     []string           `json:"versions,omitempty"`
	PlanDef      string             `json:"plan_definition"`
}

type pathwayStageJSON struct {
	ID     string            `json:"id"`
	Title  clinicalpath.Text `json:"title"`
	Anchor string            `json:"anchor"`
	Items  int               `json:"items"`
}

func toPathwayJSON(d *clinicalpath.Definition) pathwayJSON {
	out := pathwayJSON{ID: d.ID, Version: d.Version, Title: d.Title, Basis: d.Basis, StandardStay: d.StandardStay,
		PlanDef: "PlanDefinition/" + d.ID}
	for _, st := range d.Stages {
		out.Stages = append(out.Stages, pathwayStageJSON{ID: st.ID, Title: st.Title, Anchor: st.Anchor, Items: len(st.Items)})
	}
	return out
}

// listPathways lists the newest version of each pathway with the versions loaded.
func (s *Server) listPathways(c echo.Context) error {
	var out []pathwayJSON
	for _, d := range s.cfg.Clinical.Pathways().Definitions() {
		if n := len(out); n > 0 && out[n-1].ID == d.ID {
			out[n-1].Versions = append(out[n-1].Versions, d.Version)
			continue
		}
		p := toPathwayJSON(d)
		p.Versions = []string{d.Version}
		out = append(out, p)
	}
	return c.JSON(http.StatusOK, map[string]any{"pathways": out})
}

// getPathway serves one pathway (?version= for an older one).
func (s *Server) getPathway(c echo.Context) error {
	d := s.cfg.Clinical.Pathways().Definition(c.Param("id"), c.QueryParam("version"))
	if d == nil {
		return store.ErrNotFound
	}
	return c.JSON(http.StatusOK, toPathwayJSON(d))
}

// planDefinition serves GET /fhir/PlanDefinition/{id}: a pathway as FHIR, else a stored
// PlanDefinition of that id.
func (s *Server) planDefinition(c echo.Context) error {
	id := c.Param("id")
	if cl := s.cfg.Clinical; cl != nil && cl.Pathways != nil {
		if d := cl.Pathways().Definition(id, c.QueryParam("version")); d != nil {
			return c.Blob(http.StatusOK, fhirJSON+"; charset=utf-8", clinicalpath.PlanDefinition(d))
		}
	}
	return s.readStored(c, "PlanDefinition", id)
}

// putPathway stores a new version of a localized pathway (YAML, as `lujing check` validates
// it). A definition that does not validate is refused with its errors and nothing changes; a
// version already loaded may be sent again unchanged, never changed: instances enrolled under
// it must keep what they were enrolled under.
func (s *Server) putPathway(c echo.Context) error {
	id := c.Param("id")
	if !resource.ValidID(id) {
		return errBadID
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err != nil {
		return errTooLarge
	}
	name := id + ".yaml"
	d, errs := clinicalpath.Parse(name, body)
	if len(errs) > 0 {
		return invalidConfig(errs)
	}
	if d.ID != id {
		return invalidConfig([]error{fmt.Errorf("%s: id: %q differs from the URL's %q", name, d.ID, id)})
	}
	ctx := c.Request().Context()
	docID := d.ID + "@" + d.Version
	if s.cfg.Clinical.Pathways().Definition(d.ID, d.Version) != nil {
		old, err := s.cfg.Store.Document(ctx, KindPathway, docID)
		if err == nil && bytes.Equal(old.Body, body) {
			return c.JSON(http.StatusOK, toPathwayJSON(d)) // the same upload again
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return &resource.Error{Status: http.StatusConflict, Issues: []resource.Issue{{Severity: "error", Code: "conflict", Expression: "version",
			Diagnostics: fmt.Sprintf("pathway %s version %s is already loaded; patients may be enrolled under it: give the change a new version", d.ID, d.Version)}}}
	}
	if err := s.cfg.Store.PutDocument(ctx, store.Document{Kind: KindPathway, ID: docID, Version: d.Version, Body: body,
		UpdatedAt: s.cfg.Now().UTC(), UpdatedBy: principal(c).Name}); err != nil {
		return err
	}
	if f := s.cfg.Clinical.OnPathwayChange; f != nil {
		if err := f(ctx); err != nil {
			return fmt.Errorf("reload pathways after %s: %w", docID, err)
		}
	}
	s.log.Info("pathway definition stored", "pathway", docID, "by", principal(c).Name)
	return c.JSON(http.StatusCreated, toPathwayJSON(d))
}

// pathwayCountsJSON is one row of a pathway's counts: a department, or the whole hospital.
type pathwayCountsJSON struct {
	Department       string         `json:"department"`
	Qualifying       int64          `json:"qualifying_discharges"`
	Enrolled         int64          `json:"enrolled"`
	Completed        int64          `json:"completed"`
	Withdrawn        int64          `json:"withdrawn"`
	NegativeVariance int64          `json:"with_negative_variance"`
	Discharged       int64          `json:"discharged_enrolled"`
	Stay             *stayStatsJSON `json:"stay,omitempty"`
}

type stayStatsJSON struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean_days"`
	SD     float64 `json:"sd_days"`
	Median float64 `json:"median_days"`
	Min    float64 `json:"min_days"`
	Max    float64 `json:"max_days"`
}

func stayStats(vs []float64) *stayStatsJSON {
	if len(vs) == 0 {
		return nil
	}
	slices.Sort(vs)
	s := &stayStatsJSON{N: len(vs), Min: vs[0], Max: vs[len(vs)-1]}
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	s.Mean = sum / float64(len(vs))
	for _, v := range vs {
		s.SD += (v - s.Mean) * (v - s.Mean)
	}
	if len(vs) > 1 {
		s.SD = math.Sqrt(s.SD / float64(len(vs)-1))
	} else {
		s.SD = 0
	}
	if n := len(vs); n%2 == 1 {
		s.Median = vs[n/2]
	} else {
		s.Median = (vs[n/2-1] + vs[n/2]) / 2
	}
	s.Mean = math.Round(s.Mean*100) / 100
	s.SD = math.Round(s.SD*100) / 100
	return s
}

// pathwayCounts serves GET /api/v1/pathways/{id}/counts?from=&to=&department=: for discharges
// in the period, the qualifying discharges, enrolled, completed, withdrawn, with a negative
// variance, and the stay statistics, by department and in all — from the measure rows the
// cores write, so a year of a large hospital answers in SQL.
func (s *Server) pathwayCounts(c echo.Context) error {
	id := c.Param("id")
	if s.cfg.Clinical.Pathways().Definition(id, "") == nil {
		return store.ErrNotFound
	}
	if s.cfg.Quality == nil || s.cfg.Quality.Measures == nil {
		return echo.ErrNotFound
	}
	from, to, err := s.period(c)
	if err != nil {
		return err
	}
	ms := s.cfg.Quality.Measures
	ind := func(x string) string { return clinicalpath.ForPathway(x, id) }
	f := store.MeasureFilter{From: from, To: to, Department: c.QueryParam("department"),
		Indicators: []string{ind("pathway-enrollment"), ind(clinicalpath.IndicatorCompletion), ind(clinicalpath.IndicatorWithdrawal), ind(clinicalpath.IndicatorVariance)}}
	if t := principal(c); len(t.Departments) > 0 {
		switch {
		case f.Department == "" && len(t.Departments) == 1:
			f.Department = t.Departments[0]
		case !slices.Contains(t.Departments, f.Department):
			return errForbidden // a token bound to departments asks for one of them
		}
	}
	counts, err := ms.MeasureCounts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	rows := map[string]*pathwayCountsJSON{}
	all := &pathwayCountsJSON{Department: ""}
	get := func(d string) *pathwayCountsJSON {
		if rows[d] == nil {
			rows[d] = &pathwayCountsJSON{Department: d}
		}
		return rows[d]
	}
	for _, mc := range counts {
		for _, r := range []*pathwayCountsJSON{get(mc.Department), all} {
			switch mc.Indicator {
			case ind("pathway-enrollment"):
				r.Qualifying += mc.Denominator
				r.Enrolled += mc.Numerator
			case ind(clinicalpath.IndicatorCompletion):
				r.Discharged += mc.Denominator
				r.Completed += mc.Numerator
			case ind(clinicalpath.IndicatorWithdrawal):
				r.Withdrawn += mc.Numerator
			case ind(clinicalpath.IndicatorVariance):
				r.NegativeVariance += mc.Numerator
			}
		}
	}
	vf := f
	vf.Indicators = []string{ind(clinicalpath.IndicatorStay)}
	values, err := ms.MeasureValues(c.Request().Context(), vf)
	if err != nil {
		return err
	}
	byDept := map[string][]float64{}
	var allStays []float64
	for _, v := range values {
		get(v.Department)
		byDept[v.Department] = append(byDept[v.Department], v.Value)
		allStays = append(allStays, v.Value)
	}
	all.Stay = stayStats(allStays)
	out := make([]pathwayCountsJSON, 0, len(rows))
	for d, r := range rows {
		r.Stay = stayStats(byDept[d])
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b pathwayCountsJSON) int { return strings.Compare(a.Department, b.Department) })
	return c.JSON(http.StatusOK, map[string]any{"pathway": id, "from": from.UTC(), "to": to.UTC(), "all": all, "departments": out})
}
