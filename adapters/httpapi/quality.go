package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/resource"
	"github.com/lujing-health/lujing/pathways/quality"
)

// CoreQuality is the name the QC core's state is stored under.
const CoreQuality = "quality"

// Quality serves the QC indicators (pathways/quality) from the measure rows the cores write.
type Quality struct {
	Measures store.MeasureStore
	// Settings are the hospital's QC settings (targets); nil: the shipped ones.
	Settings *quality.Config
}

// settings returns the QC settings in use (set once, when the routes are added).
func (q *Quality) settings() *quality.Config { return q.Settings }

// qualityRoutes adds the QC API: role qc or admin; the patients behind a figure only with
// the subjects grant.
func (s *Server) qualityRoutes(api, fhir *echo.Group) {
	if s.cfg.Quality == nil || s.cfg.Quality.Measures == nil {
		return
	}
	if s.cfg.Quality.Settings == nil {
		s.cfg.Quality.Settings = quality.Default()
	}
	qc := s.auth(store.RoleQC, store.RoleAdmin)
	api.GET("/quality/indicators", s.qualityCatalogue, qc)
	api.GET("/quality/indicators/:id", s.qualityIndicator, qc)
	api.GET("/quality/indicators/:id/subjects", s.qualitySubjects, qc)
	api.GET("/quality/report", s.qualityReport, qc)
	fhir.GET("/Measure/:id", s.measure, qc)
	fhir.GET("/Measure/:id/$evaluate-measure", s.evaluateMeasure, qc)
}

func notFound(name, diag string) error {
	return &resource.Error{Status: http.StatusNotFound, Issues: []resource.Issue{{Severity: "error", Code: "not-found", Expression: name, Diagnostics: diag}}}
}

// qualityQuery is what a request asks: a period and optional filters.
type qualityQuery struct {
	from, to                      time.Time
	hospital, department, setting string
}

var settings = []string{"inpatient", "outpatient", "emergency"}

// qualityQuery reads ?from=&to= (or FHIR's periodStart/periodEnd), department, setting and
// hospital, checking what can be checked: a department no row has ever had is a 404 naming
// it, an unknown setting a 400; a token bound to departments asks for one of them.
func (s *Server) qualityQuery(c echo.Context, fhirParams bool) (qualityQuery, error) {
	var q qualityQuery
	var err error
	if fhirParams {
		q.from, q.to, err = s.fhirPeriod(c)
	} else {
		q.from, q.to, err = s.period(c)
	}
	if err != nil {
		return q, err
	}
	q.hospital, q.department, q.setting = c.QueryParam("hospital"), c.QueryParam("department"), c.QueryParam("setting")
	if q.setting != "" && !slices.Contains(settings, q.setting) {
		return q, badParam("setting", "setting must be one of "+strings.Join(settings, ", "))
	}
	if bound := principal(c).Departments; len(bound) > 0 {
		if q.department == "" && len(bound) == 1 {
			q.department = bound[0]
		}
		if !slices.Contains(bound, q.department) {
			return q, errForbidden
		}
	}
	if q.department != "" {
		known, err := s.cfg.Quality.Measures.KnownDepartment(c.Request().Context(), q.department)
		if err != nil {
			return q, err
		}
		if !known {
			return q, notFound("department", "no data has ever come for department "+q.department+": check the department code")
		}
	}
	return q, nil
}

// fhirPeriod reads $evaluate-measure's periodStart and periodEnd (dates in the hospital's
// zone, periodEnd inclusive, or times); both are required.
func (s *Server) fhirPeriod(c echo.Context) (time.Time, time.Time, error) {
	var from, to time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
		end  bool
	}{{"periodStart", &from, false}, {"periodEnd", &to, true}} {
		v := c.QueryParam(p.name)
		if v == "" {
			return from, to, badParam(p.name, p.name+" is required (a date such as 2026-03-01)")
		}
		t, err := parseDateOrTime(v, s.cfg.Zone)
		if err != nil {
			return from, to, badParam(p.name, p.name+" must be a date or an RFC 3339 time")
		}
		if p.end && !strings.Contains(v, "T") {
			t = t.AddDate(0, 0, 1)
		}
		*p.t = t
	}
	if !from.Before(to) {
		return from, to, badParam("periodStart", "periodStart must be before periodEnd")
	}
	return from, to, nil
}

// indicator finds the indicator of :id, a 404 naming the catalogue otherwise.
func (s *Server) indicator(c echo.Context) (quality.Indicator, error) {
	id := c.Param("id")
	ind, ok := quality.Lookup(s.cfg.Quality.settings(), id)
	if !ok {
		return ind, notFound("id", "no indicator "+id+"; the catalogue is at /api/v1/quality/indicators")
	}
	return ind, nil
}

// evaluate computes the indicators of the request's query (Quality.Evaluate).
func (s *Server) evaluate(c echo.Context, inds []quality.Indicator, q qualityQuery) ([]quality.Result, []string, error) {
	return s.cfg.Quality.Evaluate(c.Request().Context(), inds, q.from, q.to, q.hospital, q.department, q.setting)
}

// ErrUnknownHospital is Evaluate's answer for a hospital no row ever came from.
var ErrUnknownHospital = errors.New("no data has ever come from this hospital")

// Evaluate computes indicators over [from, to) in SQL — one grouped sum for all of them, the
// values of the continuous ones, whether each ever had data — optionally for one hospital,
// department and setting. It also returns the hospitals whose rows are in the figures. The
// API and the web workspace's quality page both use it.
func (qs *Quality) Evaluate(ctx context.Context, inds []quality.Indicator, from, to time.Time, hospital, department, setting string) ([]quality.Result, []string, error) {
	ms := qs.Measures
	ids := make([]string, len(inds))
	var continuous []string
	for i, ind := range inds {
		ids[i] = ind.ID
		if ind.Scoring == quality.Continuous {
			continuous = append(continuous, ind.ID)
		}
	}
	f := store.MeasureFilter{Indicators: ids, From: from, To: to, Hospital: hospital, Department: department, Setting: setting}
	counts, err := ms.MeasureCounts(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	var values []store.MeasureValue
	if len(continuous) > 0 {
		vf := f
		vf.Indicators = continuous
		if values, err = ms.MeasureValues(ctx, vf); err != nil {
			return nil, nil, err
		}
	}
	ev, err := ms.MeasureEvidence(ctx, hospital, ids)
	if err != nil {
		return nil, nil, err
	}
	if hospital != "" && !slices.ContainsFunc(ids, func(id string) bool { return ev[id].Rows }) {
		return nil, nil, notFound("hospital", ErrUnknownHospital.Error()+": "+hospital)
	}
	byCount := map[string][]quality.Count{}
	hospitals := map[string]bool{}
	for _, x := range counts {
		byCount[x.Indicator] = append(byCount[x.Indicator], quality.Count{Hospital: x.Hospital, Department: x.Department, Setting: x.Setting,
			Rows: x.Rows, Denominator: x.Denominator, Numerator: x.Numerator, Excluded: x.Excluded})
		hospitals[x.Hospital] = true
	}
	byValue := map[string][]quality.Value{}
	for _, v := range values {
		byValue[v.Indicator] = append(byValue[v.Indicator], quality.Value{Hospital: v.Hospital, Department: v.Department, Setting: v.Setting, Value: v.Value})
	}
	out := make([]quality.Result, len(inds))
	for i, ind := range inds {
		e := ev[ind.ID]
		r := quality.Summarize(ind, quality.Period{From: from, To: to}, byCount[ind.ID], byValue[ind.ID], quality.Evidence{Rows: e.Rows, Numerator: e.Numerator})
		r.Hospital, r.Department, r.Setting = hospital, department, setting
		out[i] = r
	}
	hs := make([]string, 0, len(hospitals))
	for h := range hospitals {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	return out, hs, nil
}

// Catalogue is the indicator catalogue with the hospital's targets.
func (qs *Quality) Catalogue() []quality.Indicator {
	if qs.Settings == nil {
		return quality.Catalogue(nil)
	}
	return quality.Catalogue(qs.Settings)
}

func (s *Server) qualityCatalogue(c echo.Context) error {
	cfg := s.cfg.Quality.settings()
	return c.JSON(http.StatusOK, map[string]any{"settings": cfg.Name(), "indicators": quality.Catalogue(cfg)})
}

// qualityIndicator serves one indicator: JSON, CSV or a FHIR MeasureReport.
func (s *Server) qualityIndicator(c echo.Context) error {
	ind, err := s.indicator(c)
	if err != nil {
		return err
	}
	format, err := qualityFormat(c)
	if err != nil {
		return err
	}
	q, err := s.qualityQuery(c, false)
	if err != nil {
		return err
	}
	rs, _, err := s.evaluate(c, []quality.Indicator{ind}, q)
	if err != nil {
		return err
	}
	return s.respond(c, format, rs, nil, q, false)
}

// qualityReport serves every indicator at once: JSON, CSV or a FHIR Bundle of MeasureReports.
func (s *Server) qualityReport(c echo.Context) error {
	format, err := qualityFormat(c)
	if err != nil {
		return err
	}
	q, err := s.qualityQuery(c, false)
	if err != nil {
		return err
	}
	rs, hospitals, err := s.evaluate(c, quality.Catalogue(s.cfg.Quality.settings()), q)
	if err != nil {
		return err
	}
	return s.respond(c, format, rs, hospitals, q, true)
}

func qualityFormat(c echo.Context) (string, error) {
	f := c.QueryParam("format")
	switch f {
	case "", "json":
		return "json", nil
	case "csv", "fhir":
		return f, nil
	}
	return "", badParam("format", "format must be json, csv or fhir")
}

// Report is the JSON of GET /api/v1/quality/report (and what lujing report reads).
type Report struct {
	Period     quality.Period   `json:"period"`
	Hospital   string           `json:"hospital,omitempty"`
	Department string           `json:"department,omitempty"`
	Setting    string           `json:"setting,omitempty"`
	Settings   string           `json:"settings"`
	Hospitals  []string         `json:"hospitals"` // the hospitals whose rows are in the figures
	Indicators []quality.Result `json:"indicators"`
}

func (s *Server) respond(c echo.Context, format string, rs []quality.Result, hospitals []string, q qualityQuery, report bool) error {
	cfg := s.cfg.Quality.settings()
	switch format {
	case "csv":
		var buf bytes.Buffer
		if err := quality.WriteCSV(&buf, rs, c.QueryParam("lang") == "zh", s.cfg.Zone); err != nil {
			return err
		}
		name := "quality-report.csv"
		if !report {
			name = rs[0].ID + ".csv"
		}
		c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
	case "fhir":
		now := s.cfg.Now()
		if report {
			b, err := quality.Bundle(rs, cfg.Version, now)
			if err != nil {
				return err
			}
			return c.Blob(http.StatusOK, "application/fhir+json; charset=utf-8", b)
		}
		b, err := json.Marshal(quality.ReportOf(rs[0], cfg.Version, now))
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "application/fhir+json; charset=utf-8", b)
	}
	if !report {
		return c.JSON(http.StatusOK, rs[0])
	}
	if hospitals == nil {
		hospitals = []string{}
	}
	return c.JSON(http.StatusOK, Report{Period: quality.Period{From: q.from.UTC(), To: q.to.UTC()}, Hospital: q.hospital, Department: q.department,
		Setting: q.setting, Settings: cfg.Name(), Hospitals: hospitals, Indicators: rs})
}

// qualitySubjects lists the patients behind a numerator, denominator or exclusion: only for
// a token with the subjects grant (a QC token sees counts and rates), and audited.
func (s *Server) qualitySubjects(c echo.Context) error {
	t := principal(c)
	if !slices.Contains(t.Grants, store.GrantSubjects) {
		return errForbidden
	}
	ind, err := s.indicator(c)
	if err != nil {
		return err
	}
	pop := c.QueryParam("population")
	switch pop {
	case "":
		pop = "numerator"
	case "numerator", "denominator", "excluded":
	default:
		return badParam("population", "population must be numerator, denominator or excluded")
	}
	q, err := s.qualityQuery(c, false)
	if err != nil {
		return err
	}
	subjects, err := s.cfg.Quality.Measures.MeasureSubjects(c.Request().Context(), store.MeasureFilter{Indicators: []string{ind.ID},
		From: q.from, To: q.to, Hospital: q.hospital, Department: q.department, Setting: q.setting}, pop)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.Audit(c.Request().Context(), store.AuditEntry{Actor: t.Name, Role: t.Role, Action: "quality-subjects",
		Resource: c.Request().URL.RequestURI(), RemoteAddr: c.RealIP(), RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"indicator": ind.ID, "population": pop,
		"period": quality.Period{From: q.from.UTC(), To: q.to.UTC()}, "subjects": subjects})
}

// measure serves GET /fhir/Measure/{id}.
func (s *Server) measure(c echo.Context) error {
	ind, err := s.indicator(c)
	if err != nil {
		return err
	}
	b, err := json.Marshal(quality.MeasureOf(ind, s.cfg.Quality.settings().Version))
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/fhir+json; charset=utf-8", b)
}

// evaluateMeasure serves GET /fhir/Measure/{id}/$evaluate-measure: a summary MeasureReport.
func (s *Server) evaluateMeasure(c echo.Context) error {
	ind, err := s.indicator(c)
	if err != nil {
		return err
	}
	q, err := s.qualityQuery(c, true)
	if err != nil {
		return err
	}
	rs, _, err := s.evaluate(c, []quality.Indicator{ind}, q)
	if err != nil {
		return err
	}
	b, err := json.Marshal(quality.ReportOf(rs[0], s.cfg.Quality.settings().Version, s.cfg.Now()))
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/fhir+json; charset=utf-8", b)
}
