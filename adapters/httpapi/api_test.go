package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/worker"
	"github.com/lujing-health/lujing/mapping"
)

type env struct {
	t      *testing.T
	srv    *httptest.Server
	store  *sqlstore.Store
	tokens map[store.Role]string
	api    *httpapi.Server
}

func newEnv(t *testing.T, maxBody int64) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q := queue.NewMemory(queue.MemoryOptions{})
	reg := prometheus.NewRegistry()
	in := intake.New(st, q, intake.Options{Registerer: reg})
	w := worker.New(st, mapping.StoreOnly{}, worker.Options{Registerer: reg})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Consume(cctx, w.Handle) }()
	t.Cleanup(func() { cancel(); <-done; q.Close() })
	api := httpapi.New(httpapi.Config{Store: st, Queue: q, Intake: in, Registry: reg, MaxBody: maxBody})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, store: st, tokens: map[store.Role]string{}}
	for _, r := range []store.Role{store.RoleIntegration, store.RoleClinician, store.RoleQC, store.RoleAdmin} {
		secret := "secret-" + string(r)
		if err := st.CreateToken(ctx, store.Token{ID: string(r), Name: "t-" + string(r), Role: r, Source: "lis",
			Hash: httpapi.HashToken(secret), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		e.tokens[r] = secret
	}
	return e
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %s", r.status, r.body)
	}
	return m
}

func (e *env) do(method, path string, role store.Role, ctype, body string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

const fj = "application/fhir+json"

// expression returns the first issue's expression and code of an OperationOutcome.
func expression(t *testing.T, r response) (string, string) {
	t.Helper()
	m := r.json(t)
	if m["resourceType"] != "OperationOutcome" {
		t.Fatalf("not an OperationOutcome: %s", r.body)
	}
	is := m["issue"].([]any)[0].(map[string]any)
	expr := ""
	if x, ok := is["expression"].([]any); ok && len(x) > 0 {
		expr = x[0].(string)
	}
	return expr, is["code"].(string)
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, 4096)
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"K"}}`
	cases := []struct {
		name, method, path string
		role               store.Role
		ctype, body        string
		status             int
		expr               string
	}{
		{"no token", "POST", "/fhir/Observation", "", fj, obs, 401, ""},
		{"clinician may not write", "POST", "/fhir/Observation", store.RoleClinician, fj, obs, 403, ""},
		{"qc may not read resources", "GET", "/fhir/Observation/x", store.RoleQC, "", "", 403, ""},
		{"wrong media type", "POST", "/fhir/Observation", store.RoleIntegration, "text/plain", obs, 415, ""},
		{"no media type", "POST", "/fhir/Observation", store.RoleIntegration, "", obs, 415, ""},
		{"too large", "POST", "/fhir/Observation", store.RoleIntegration, fj, `{"resourceType":"Observation","note":"` + strings.Repeat("x", 5000) + `"}`, 413, ""},
		{"not JSON", "POST", "/fhir/Observation", store.RoleIntegration, fj, `{"resourceType":`, 400, ""},
		{"JSON not FHIR", "POST", "/fhir/Observation", store.RoleIntegration, fj, `{"hello":"world"}`, 400, "resourceType"},
		{"unknown resourceType", "POST", "/fhir/Observation", store.RoleIntegration, fj, `{"resourceType":"Banana"}`, 400, "resourceType"},
		{"unknown type in URL", "POST", "/fhir/Banana", store.RoleIntegration, fj, obs, 404, ""},
		{"wrong type's URL", "POST", "/fhir/Patient", store.RoleIntegration, fj, obs, 400, "resourceType"},
		{"missing status", "POST", "/fhir/Observation", store.RoleIntegration, fj, `{"resourceType":"Observation","code":{"text":"K"}}`, 422, "Observation.status"},
		{"unknown status code", "POST", "/fhir/Observation", store.RoleIntegration, fj, `{"resourceType":"Observation","status":"finalish","code":{"text":"K"}}`, 422, "Observation.status"},
		{"deep nesting", "POST", "/fhir/Basic", store.RoleIntegration, fj, `{"resourceType":"Basic","code":{"text":"x"},"extension":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, 422, ""},
		{"PUT id differs", "PUT", "/fhir/Observation/a", store.RoleIntegration, fj, `{"resourceType":"Observation","id":"b","status":"final","code":{"text":"K"}}`, 400, "Observation.id"},
		{"bundle to POST /fhir that is a collection", "POST", "/fhir", store.RoleIntegration, fj, `{"resourceType":"Bundle","type":"collection"}`, 400, "Bundle.type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.role, tc.ctype, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "application/fhir+json") {
				t.Errorf("content type %q, want an OperationOutcome", r.header.Get("Content-Type"))
			}
			expr, _ := expression(t, r)
			if tc.expr != "" && expr != tc.expr {
				t.Errorf("expression %q, want %q (%s)", expr, tc.expr, r.body)
			}
		})
	}
	// Nothing of the rejected requests was stored.
	msgs, err := e.store.Messages(context.Background(), store.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 0 {
		t.Errorf("rejected requests stored %d messages", len(msgs))
	}
}

func TestVersionsAndRead(t *testing.T) {
	e := newEnv(t, 0)
	v1 := `{"resourceType":"Observation","id":"k1","status":"final","code":{"text":"K"},"subject":{"reference":"Patient/never-seen"},
	  "contained":[{"resourceType":"Specimen","id":"s1"}],"_status":{"extension":[{"url":"urn:x","valueString":"kept"}]},
	  "valueQuantity":{"value":6.80,"unit":"mmol/L"},"meta":{"lastUpdated":"2026-11-01T08:00:00Z"}}`
	r := e.do("PUT", "/fhir/Observation/k1", store.RoleIntegration, fj, v1)
	if r.status != 201 {
		t.Fatalf("first PUT: %d %s", r.status, r.body)
	}
	if got := r.header.Get("ETag"); got != `W/"1"` {
		t.Errorf("ETag %q", got)
	}
	// Same content again (whitespace and meta.lastUpdated differ): no new version, 200.
	same := strings.ReplaceAll(v1, `"2026-11-01T08:00:00Z"`, `"2026-11-01T08:00:00.000Z"`)
	r = e.do("PUT", "/fhir/Observation/k1", store.RoleIntegration, fj, same+"\n")
	if r.status != 200 || r.header.Get("ETag") != `W/"1"` {
		t.Fatalf("same content: %d %s %s", r.status, r.header.Get("ETag"), r.body)
	}
	// Newer version supersedes.
	v2 := strings.Replace(strings.Replace(v1, "6.80", "6.90", 1), "2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z", 1)
	r = e.do("PUT", "/fhir/Observation/k1", store.RoleIntegration, fj, v2)
	if r.status != 200 || r.header.Get("ETag") != `W/"2"` {
		t.Fatalf("newer version: %d %s %s", r.status, r.header.Get("ETag"), r.body)
	}
	// An older one arriving late is kept but does not roll the resource back.
	old := strings.Replace(strings.Replace(v1, "6.80", "6.70", 1), "2026-11-01T08:00:00Z", "2026-11-01T07:00:00Z", 1)
	r = e.do("PUT", "/fhir/Observation/k1", store.RoleIntegration, fj, old)
	if r.status != 200 {
		t.Fatalf("stale version: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/fhir/Observation/k1", store.RoleClinician, "", "")
	if r.status != 200 {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	body := string(r.body)
	if !strings.HasPrefix(body, `{"resourceType":"Observation","id":"k1","meta":{`) {
		t.Errorf("read should start with resourceType, id and meta: %.80s", body)
	}
	for _, want := range []string{`"versionId":"2"`, `"lastUpdated":`, `6.90`, `"contained"`, `"_status"`, `"Patient/never-seen"`} {
		if !strings.Contains(body, want) {
			t.Errorf("read lacks %s: %s", want, body)
		}
	}
	// The late version is kept in the inbox under a number of its own.
	msgs, err := e.store.Messages(context.Background(), store.MessageFilter{})
	if err != nil || len(msgs) != 3 || msgs[2].VersionID != 3 || !strings.Contains(string(msgs[2].Body), "6.70") {
		t.Errorf("inbox after a late version: %d messages, %v", len(msgs), err)
	}
	log, err := e.store.AuditLog(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Resource != "Observation/k1" || log[0].Actor != "t-clinician" || log[0].PatientKey != "Patient/never-seen" {
		t.Errorf("audit log = %+v", log)
	}
	if r := e.do("GET", "/fhir/Observation/nope", store.RoleClinician, "", ""); r.status != 404 {
		t.Errorf("unknown id: %d", r.status)
	}
	// A clinician bound to a department may not read raw resources, which name no department.
	if err := e.store.CreateToken(context.Background(), store.Token{ID: "ward", Name: "ward-nurse", Role: store.RoleClinician,
		Departments: []string{"GI-SURG"}, Hash: httpapi.HashToken("ward-secret")}); err != nil {
		t.Fatal(err)
	}
	e.tokens["ward"] = "ward-secret"
	if r := e.do("GET", "/fhir/Observation/k1", "ward", "", ""); r.status != 403 {
		t.Errorf("department-bound read: %d", r.status)
	}
}

func TestBatchAndTransaction(t *testing.T) {
	e := newEnv(t, 0)
	good := `{"resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"PUT","url":"Patient/p1"}}`
	bad := `{"resource":{"resourceType":"Observation","id":"o1","code":{"text":"K"}},"request":{"method":"PUT","url":"Observation/o1"}}`
	// A transaction with one bad entry stores nothing.
	r := e.do("POST", "/fhir", store.RoleIntegration, fj, `{"resourceType":"Bundle","type":"transaction","entry":[`+good+`,`+bad+`]}`)
	if r.status != 422 {
		t.Fatalf("transaction: %d %s", r.status, r.body)
	}
	if expr, _ := expression(t, r); expr != "Bundle.entry[1].resource.status" {
		t.Errorf("expression %q", expr)
	}
	if r := e.do("GET", "/fhir/Patient/p1", store.RoleClinician, "", ""); r.status != 404 {
		t.Fatalf("transaction stored its good entry: %d", r.status)
	}
	// A batch stores the good entry and answers the bad one with its 4xx.
	r = e.do("POST", "/fhir", store.RoleIntegration, fj, `{"resourceType":"Bundle","type":"batch","entry":[`+good+`,`+bad+`]}`)
	if r.status != 200 {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	m := r.json(t)
	entries := m["entry"].([]any)
	st0 := entries[0].(map[string]any)["response"].(map[string]any)["status"]
	st1 := entries[1].(map[string]any)["response"].(map[string]any)["status"]
	if st0 != "201 Created" || !strings.HasPrefix(st1.(string), "422") {
		t.Errorf("batch statuses %v, %v", st0, st1)
	}
	if r := e.do("GET", "/fhir/Patient/p1", store.RoleClinician, "", ""); r.status != 200 {
		t.Fatalf("batch lost its good entry: %d", r.status)
	}
}

func TestOpsEndpoints(t *testing.T) {
	e := newEnv(t, 0)
	if r := e.do("GET", "/healthz", "", "", ""); r.status != 200 {
		t.Errorf("healthz %d", r.status)
	}
	if r := e.do("GET", "/readyz", "", "", ""); r.status != 200 {
		t.Errorf("readyz %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/metrics", store.RoleIntegration, "", ""); r.status != 403 {
		t.Errorf("metrics for integration: %d", r.status)
	}
	e.do("POST", "/fhir/Patient", store.RoleIntegration, fj, `{"resourceType":"Patient"}`)
	e.do("POST", "/fhir/Observation", store.RoleIntegration, fj, `{"resourceType":"Observation","code":{"text":"K"}}`)
	r := e.do("GET", "/metrics", store.RoleAdmin, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `lujing_ingest_resources_total{outcome="created",source="lis"} 1`) ||
		!strings.Contains(string(r.body), `lujing_ingest_resources_total{outcome="rejected_422",source="lis"} 1`) {
		t.Errorf("metrics %d: %s", r.status, r.body)
	}
	r = e.do("GET", "/fhir/metadata", store.RoleClinician, "", "")
	if r.status != 200 || r.json(t)["resourceType"] != "CapabilityStatement" {
		t.Errorf("metadata %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/fhir/metadata", "", "", ""); r.status != 401 {
		t.Errorf("metadata without token: %d", r.status)
	}
}

// fixtures are the shared FHIR test files, kept once in the resource package's testdata.
const fixtures = "../../mapping/resource/testdata"

// TestFixturesIngestWithout5xx sends every official R4 example and the Synthea bundles through
// the HTTP intake: resources with PUT, batch and transaction Bundles to /fhir, other Bundles to
// /fhir/Bundle. Nothing may get a 5xx, and everything that got a 2xx must be readable.
func TestFixturesIngestWithout5xx(t *testing.T) {
	e := newEnv(t, 0)
	send := func(name string, raw []byte) {
		var head struct {
			ResourceType, ID string
			Type             any // a string in Bundle, a CodeableConcept elsewhere
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		method, path := "POST", "/fhir/"+head.ResourceType
		switch {
		case head.ResourceType == "Bundle" && (head.Type == "batch" || head.Type == "transaction"):
			path = "/fhir"
		case head.ID != "":
			method, path = "PUT", "/fhir/"+head.ResourceType+"/"+head.ID
		}
		r := e.do(method, path, store.RoleIntegration, fj, string(raw))
		if r.status >= 500 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
		if r.status >= 400 {
			t.Logf("%s: %d (%s)", name, r.status, firstDiagnostic(r.body))
		}
	}
	n := 0
	for _, dir := range []string{"fhir-r4-examples/resources", "fhir-r4-examples/bundles"} {
		files, err := os.ReadDir(filepath.Join(fixtures, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			raw, err := os.ReadFile(filepath.Join(fixtures, dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			send(f.Name(), raw)
			n++
		}
	}
	synthea, _ := filepath.Glob(filepath.Join(fixtures, "synthea-r4-bundles", "*.json.gz"))
	for _, name := range synthea {
		send(filepath.Base(name), gunzip(t, name))
		n++
	}
	if n < 300 || len(synthea) != 2 {
		t.Fatalf("only %d fixture files (%d Synthea bundles) found", n, len(synthea))
	}
	// A Synthea patient is readable, with its urn:uuid references resolved.
	r := e.do("GET", "/fhir/Patient/3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b", store.RoleClinician, "", "")
	if r.status != 200 {
		t.Fatalf("Synthea patient: %d %s", r.status, r.body)
	}
}

func firstDiagnostic(body []byte) string {
	var oo struct {
		Issue []struct{ Diagnostics string } `json:"issue"`
	}
	_ = json.Unmarshal(body, &oo)
	if len(oo.Issue) == 0 {
		return ""
	}
	return oo.Issue[0].Diagnostics
}

func gunzip(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLogsCarryNoPatientData sends patient data, good and bad, through every path with the log
// at debug level and checks that no name or medical-record number reaches the log.
func TestLogsCarryNoPatientData(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := queue.NewMemory(queue.MemoryOptions{Logger: log})
	defer q.Close()
	reg := prometheus.NewRegistry()
	in := intake.New(st, q, intake.Options{Registerer: reg, Logger: log})
	w := worker.New(st, mapping.StoreOnly{}, worker.Options{Registerer: reg, Logger: log})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = q.Consume(cctx, w.Handle) }()
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: st, Queue: q, Intake: in, Registry: reg, Logger: log}))
	defer srv.Close()
	e := &env{t: t, srv: srv, store: st, tokens: map[store.Role]string{}}
	for _, r := range []store.Role{store.RoleIntegration, store.RoleClinician} {
		if err := st.CreateToken(ctx, store.Token{ID: string(r), Name: "t-" + string(r), Role: r, Hash: httpapi.HashToken("s-" + string(r))}); err != nil {
			t.Fatal(err)
		}
		e.tokens[r] = "s-" + string(r)
	}
	const name, mrn = "张三丰", "MRN-8848-7777"
	patient := `{"resourceType":"Patient","id":"p-log","name":[{"text":"` + name + `"}],"identifier":[{"system":"urn:mrn","value":"` + mrn + `"}]}`
	e.do("PUT", "/fhir/Patient/p-log", store.RoleIntegration, fj, patient)
	e.do("PUT", "/fhir/Patient/p-log", store.RoleIntegration, fj, strings.Replace(patient, `"Patient"`, `"Patient","gender":"nonsense-`+mrn+`"`, 1))
	e.do("POST", "/fhir/Observation", store.RoleIntegration, fj, `{"resourceType":"Observation","status":"final","code":{"text":"`+name+`"},"subject":{"identifier":{"value":"`+mrn+`"}},"valueString":"`+strings.Repeat("[", 100)+`"}`)
	e.do("POST", "/fhir", store.RoleIntegration, fj, `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+patient+`,"request":{"method":"PUT","url":"Patient/`+mrn+`x"}}]}`)
	e.do("GET", "/fhir/Patient/p-log", store.RoleClinician, "", "")
	time.Sleep(200 * time.Millisecond) // let the worker log whatever it logs
	if buf.Len() == 0 {
		t.Fatal("nothing was logged: the test would prove nothing")
	}
	for _, secret := range []string{name, mrn} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log contains %q:\n%s", secret, buf.String())
		}
	}
}

func (e *env) doYAML(method, path string, role store.Role, body string) response {
	return e.do(method, path, role, "application/yaml", body)
}

func TestCodeMapsAndReplay(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	good := `id: lab-local
version: "2"
title: 检验本地码 → LOINC
status: active
groups:
  - source: http://lab.example/codes
    target: http://loinc.org
    elements:
      - {code: K, display: 钾, target: 2823-3, target_display: Potassium, equivalence: equivalent}
`
	bad := strings.Replace(good, "equivalence: equivalent", "equivalence: sameish", 1)
	if r := e.doYAML("PUT", "/api/v1/code-maps/lab-local", store.RoleClinician, good); r.status != 403 {
		t.Errorf("clinician upload: %d", r.status)
	}
	r := e.doYAML("PUT", "/api/v1/code-maps/lab-local", store.RoleAdmin, bad)
	if r.status != 422 || !strings.Contains(string(r.body), "equivalence") || !strings.Contains(string(r.body), "lab-local.yaml:") {
		t.Fatalf("bad map: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/code-maps/lab-local", store.RoleAdmin, "", ""); r.status != 404 {
		t.Errorf("a refused map is in force: %d", r.status)
	}
	if r := e.doYAML("PUT", "/api/v1/code-maps/other-id", store.RoleAdmin, good); r.status != 422 {
		t.Errorf("id mismatch: %d %s", r.status, r.body)
	}
	if r := e.doYAML("PUT", "/api/v1/code-maps/lab-local", store.RoleAdmin, good); r.status != 200 {
		t.Fatalf("good map: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/code-maps/lab-local", store.RoleAdmin, "", "")
	if r.status != 200 || r.json(t)["resourceType"] != "ConceptMap" || !strings.Contains(string(r.body), "2823-3") {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/code-maps", store.RoleAdmin, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"id":"lab-local"`) || !strings.Contains(string(r.body), `"id":"snomed-icd10"`) {
		t.Errorf("list (uploaded and built-in): %d %s", r.status, r.body)
	}

	// A failed message with an unmapped code: listed, then replayed.
	res, err := e.store.Accept(ctx, []store.Incoming{{Source: "lis", Type: "Observation", ID: "f1", Hash: "h",
		Body: []byte(`{"resourceType":"Observation"}`), PatientKey: "Patient/p9"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CompleteAll(ctx, []store.Completion{{MessageID: res[0].MessageID, Status: store.StatusFailed,
		Error: "Observation.code: no map", Unmapped: []store.Code{{System: "http://lab.example/codes", Code: "NA", Display: "钠"}}}}); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/api/v1/code-maps/unmapped", store.RoleAdmin, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"code":"NA"`) || !strings.Contains(string(r.body), `"count":1`) {
		t.Errorf("unmapped: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/messages?status=failed&source=lis", store.RoleAdmin, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), "no map") {
		t.Errorf("failed list: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/messages/replay?status=processed", store.RoleAdmin, "", ""); r.status != 400 {
		t.Errorf("replay of processed: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/messages/replay?status=failed", store.RoleAdmin, "", ""); r.status != 202 {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := e.store.Message(ctx, res[0].MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == store.StatusProcessed && m.Applied == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replayed message is %s (applied %d)", m.Status, m.Applied)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := e.do("POST", fmt.Sprintf("/api/v1/messages/%d/replay", res[0].MessageID), store.RoleAdmin, "", ""); r.status != 409 {
		t.Errorf("replay of a processed message: %d", r.status)
	}
}
