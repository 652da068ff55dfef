package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/mapping/fhirschema"
	"github.com/lujing-health/lujing/pathways/quality"
)

// report reads the JSON report of a period, waiting until want says the figures are in.
func (e *env) report(query string, want func(map[string]quality.Result) bool) map[string]quality.Result {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second) // the race detector slows the pipeline tenfold
	for {
		r := e.do("GET", "/api/v1/quality/report?"+query, store.RoleQC, "", "")
		if r.status != 200 {
			e.t.Fatalf("report: %d %s", r.status, r.body)
		}
		var rep httpapi.Report
		if err := json.Unmarshal(r.body, &rep); err != nil {
			e.t.Fatal(err)
		}
		out := map[string]quality.Result{}
		for _, x := range rep.Indicators {
			out[x.ID] = x
		}
		if want(out) {
			return out
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the report never had the figures wanted: %s", r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestQualityEndToEnd: stays sent as HIS, LIS and PACS send them become QC figures: the
// catalogue, one indicator and the report in JSON, CSV and FHIR (validated), the FHIR
// Measure and $evaluate-measure, the patients behind a figure only with the grant, and the
// bad inputs of the issue.
func TestQualityEndToEnd(t *testing.T) {
	e := newClinicalEnv(t)
	ctx := context.Background()
	for _, tok := range []store.Token{
		{ID: "pacs", Name: "t-pacs", Role: store.RoleIntegration, Source: "pacs", Hash: httpapi.HashToken("secret-pacs")},
		{ID: "qc-granted", Name: "t-qc-granted", Role: store.RoleQC, Grants: []string{store.GrantSubjects}, Hash: httpapi.HashToken("secret-qc-granted")},
	} {
		tok.CreatedAt = time.Now()
		if err := e.store.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		e.tokens[store.Role(tok.ID)] = "secret-" + tok.ID
	}
	zone, _ := time.LoadLocation("Asia/Shanghai")
	start := time.Now().AddDate(0, 0, -40)
	app := synth.New(11, synth.Options{Mix: map[string]int{synth.Appendicitis: 1}, Start: start, Zone: zone}).Patient()
	stemi := synth.New(21, synth.Options{Mix: map[string]int{synth.STEMI: 1}, Start: start, Zone: zone}).Patient()
	e.sendStory(app)
	e.sendStory(stemi)
	from := start.In(zone).AddDate(0, 0, -1).Format(time.DateOnly)
	to := time.Now().In(zone).Format(time.DateOnly)
	period := "from=" + from + "&to=" + to
	got := e.report(period, func(m map[string]quality.Result) bool {
		return m["pathway-enrollment"].Denominator == 2 && m["stemi-reperfusion"].Denominator == 1 && m["pathway-completion"].Denominator == 2
	})
	if r := got["pathway-enrollment"]; r.Numerator != 2 || *r.Value != 100 || !*r.Met || r.Unit != "%" || r.Status != "ok" {
		t.Errorf("enrolment %+v", r)
	}
	if r := got["adverse-events-per-100"]; r.Status != quality.StatusInsufficient || r.Value != nil || r.Missing == nil || r.Denominator != 2 {
		t.Errorf("adverse events without reports %+v", r)
	}
	if r := got["coding-accuracy"]; r.Status != quality.StatusInsufficient || r.Value != nil {
		t.Errorf("coding accuracy without verdicts %+v", r)
	}
	if r := got["return-to-theatre"]; r.Denominator < 1 || r.Numerator != 0 || *r.Value != 0 || !*r.Met || r.Unit != "‰" {
		t.Errorf("return to theatre %+v", r)
	}

	// The catalogue; roles.
	r := e.do("GET", "/api/v1/quality/indicators", store.RoleQC, "", "")
	var cat struct{ Indicators []quality.Indicator }
	if r.status != 200 || json.Unmarshal(r.body, &cat) != nil || len(cat.Indicators) != 22 || cat.Indicators[0].Target == nil {
		t.Fatalf("catalogue: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/quality/indicators", store.RoleClinician, "", ""); r.status != 403 {
		t.Errorf("clinician reads QC: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/quality/report", store.RoleAdmin, "", ""); r.status != 200 {
		t.Errorf("admin report: %d", r.status)
	}

	// One indicator, by department.
	r = e.do("GET", "/api/v1/quality/indicators/pathway-enrollment?"+period+"&department=GEN-SURG", store.RoleQC, "", "")
	m := r.json(t)
	if r.status != 200 || m["numerator"].(float64) != 1 || m["department"] != "GEN-SURG" || m["period"].(map[string]any)["from"] == nil || len(m["strata"].([]any)) != 1 {
		t.Errorf("enrolment in GEN-SURG: %d %s", r.status, r.body)
	}
	// CSV: BOM, Chinese headers.
	r = e.do("GET", "/api/v1/quality/report?"+period+"&format=csv&lang=zh", store.RoleQC, "", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !bytes.HasPrefix(r.body, []byte("\uFEFF指标编码")) ||
		!strings.Contains(string(r.body), "pathway-enrollment,临床路径入径率") {
		t.Errorf("csv: %d %s", r.status, r.body[:min(200, len(r.body))])
	}
	// FHIR: the Bundle, one MeasureReport, the Measure and $evaluate-measure validate.
	for _, path := range []string{"/api/v1/quality/report?" + period + "&format=fhir", "/api/v1/quality/indicators/stemi-reperfusion?" + period + "&format=fhir",
		"/fhir/Measure/cv-median-ack-minutes", "/fhir/Measure/stemi-reperfusion/$evaluate-measure?periodStart=" + from + "&periodEnd=" + to} {
		r := e.do("GET", path, store.RoleQC, "", "")
		if r.status != 200 || fhirschema.Validate(r.body) != nil {
			t.Errorf("%s: %d %v %s", path, r.status, fhirschema.Validate(r.body), r.body)
		}
	}
	r = e.do("GET", "/fhir/Measure/stemi-reperfusion/$evaluate-measure?periodStart="+from+"&periodEnd="+to, store.RoleQC, "", "")
	if !strings.Contains(string(r.body), `"resourceType":"MeasureReport"`) || !strings.Contains(string(r.body), `"code":"denominator"}]},"count":1`) {
		t.Errorf("evaluate-measure: %s", r.body)
	}

	// The patients behind a figure: a QC token lacks the grant.
	subjects := "/api/v1/quality/indicators/pathway-enrollment/subjects?population=numerator&" + period
	if r := e.do("GET", subjects, store.RoleQC, "", ""); r.status != 403 {
		t.Errorf("QC token asks for subjects: %d %s", r.status, r.body)
	}
	if r := e.do("GET", subjects, store.RoleAdmin, "", ""); r.status != 403 {
		t.Errorf("admin without the grant: %d", r.status)
	}
	r = e.do("GET", subjects, "qc-granted", "", "")
	if r.status != 200 || !strings.Contains(string(r.body), "Patient/"+app.PatientID) || !strings.Contains(string(r.body), "Patient/"+stemi.PatientID) {
		t.Errorf("granted subjects: %d %s", r.status, r.body)
	}
	if log, _ := e.store.AuditLog(ctx, 5); len(log) == 0 || log[0].Action != "quality-subjects" || log[0].Actor != "t-qc-granted" {
		t.Errorf("subjects read not audited: %+v", log)
	}

	// Bad input.
	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		{"/api/v1/quality/indicators/pathway-enrollment?from=2026-03-10&to=2026-03-01", 400, "from must be before to"},
		{"/api/v1/quality/indicators/no-such-thing", 404, "no indicator no-such-thing"},
		{"/api/v1/quality/indicators/pathway-enrollment?department=NOWHERE", 404, "department NOWHERE"},
		{"/api/v1/quality/report?setting=ward", 400, "setting must be"},
		{"/api/v1/quality/report?format=xml", 400, "format must be"},
		{"/api/v1/quality/report?hospital=ELSEWHERE", 404, "this hospital: ELSEWHERE"},
		{"/api/v1/quality/indicators/pathway-enrollment/subjects?population=everyone", 400, "population must be"},
		{"/fhir/Measure/no-such-thing", 404, "no indicator"},
		{"/fhir/Measure/grade4-mdt/$evaluate-measure?periodStart=2026-03-01", 400, "periodEnd is required"},
	} {
		role := store.Role(store.RoleQC)
		if strings.Contains(tc.path, "subjects") {
			role = "qc-granted"
		}
		r := e.do("GET", tc.path, role, "", "")
		if r.status != tc.status || !strings.Contains(string(r.body), tc.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.path, r.status, r.body, tc.status, tc.says)
		}
	}
	// A period with no data: denominator 0 and value null, not an error.
	r = e.do("GET", "/api/v1/quality/indicators/pathway-enrollment?from=2001-01-01&to=2001-01-31", store.RoleQC, "", "")
	if m := r.json(t); r.status != 200 || m["denominator"].(float64) != 0 || m["value"] != nil || m["met"] != nil || m["status"] != "ok" {
		t.Errorf("empty period: %d %s", r.status, r.body)
	}
}
