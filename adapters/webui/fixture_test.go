package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/livestream"
	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/adapters/webui"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

// The fixture is a real server (httpapi with the workspace mounted) over a real SQLite store,
// holding a synthetic ward that came in through the FHIR intake, and clinical records in the
// JSON shapes the cores write (put in directly: the cores are tested in their own packages).

const password = "correct horse battery"

type ward struct {
	patient, encounter, dept string
	name, mrn, bed           string
}

type fixture struct {
	t     *testing.T
	st    *sqlstore.Store
	srv   *httptest.Server
	hub   *livestream.Hub
	clock *clock
	ward  []ward // admitted patients with their department, full name, MRN and bed
	// records by kind: id → patient
	pathways, cvs, fus []string
	quality            *fakeQuality
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var zone = func() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return z
}()

// newFixture builds the server; opts adjust the workspace's configuration (single sign-on).
func newFixture(t *testing.T, opts ...func(*webui.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, zone)
	f := &fixture{t: t, st: st, clock: &clock{t: start.Add(50 * time.Hour)}, quality: &fakeQuality{}}
	f.loadWard(ctx, start)
	f.seedRecords(ctx)
	for _, u := range []account.User{
		{Name: "admin", Role: store.RoleAdmin},
		{Name: "doctor", Role: store.RoleClinician},
		{Name: "cardio", Role: store.RoleClinician, Departments: []string{f.ward[0].dept}},
		{Name: "qc", Role: store.RoleQC},
		{Name: "his", Role: store.RoleIntegration},
	} {
		h, err := account.HashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		u.PasswordHash = h
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	head, err := st.StreamHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.hub = livestream.NewHub(head)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := webui.Config{Store: st, Quality: f.quality, Zone: zone, Now: f.clock.Now, Logger: log}
	for _, o := range opts {
		o(&cfg)
	}
	ui, err := webui.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	q := queue.NewMemory(queue.MemoryOptions{})
	t.Cleanup(func() { q.Close() })
	api := httpapi.New(httpapi.Config{Store: st, Queue: q, Intake: intake.New(st, q, intake.Options{Logger: log}), Logger: log,
		Cores: st, Hub: f.hub, Web: ui, Zone: zone, Now: f.clock.Now})
	f.srv = httptest.NewServer(api)
	t.Cleanup(func() {
		api.CloseStreams()
		f.srv.Close()
	})
	return f
}

// loadWard sends two days of a synthetic hospital through the FHIR intake and notes the
// admitted patients.
func (f *fixture) loadWard(ctx context.Context, start time.Time) {
	t := f.t
	q := queue.NewMemory(queue.MemoryOptions{})
	defer q.Close()
	in := intake.New(f.st, q, intake.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer in.Close()
	g := synth.New(7, synth.Options{Start: start, Zone: zone, AdmissionsPerDay: 8})
	var chunk []synth.Resource
	inChunk := map[string]bool{}
	flush := func() {
		if len(chunk) == 0 {
			return
		}
		if _, _, err := in.Bundle(ctx, intake.Source{System: string(chunk[0].Source), Hospital: "H"}, synth.Transaction(chunk)); err != nil {
			t.Fatal(err)
		}
		chunk, inChunk = chunk[:0], map[string]bool{}
	}
	end := start.Add(48 * time.Hour)
	for r := range g.Stream() {
		if r.Time.After(end) {
			break
		}
		if len(chunk) > 0 && (chunk[0].Source != r.Source || len(chunk) == 100 || inChunk[r.Ref()]) {
			flush()
		}
		chunk = append(chunk, r)
		inChunk[r.Ref()] = true
		if r.Type == "Encounter" {
			var e struct {
				Subject     struct{ Reference string } `json:"subject"`
				ServiceType struct {
					Coding []struct{ Code string } `json:"coding"`
				} `json:"serviceType"`
				Location []struct {
					Location struct{ Display string } `json:"location"`
				} `json:"location"`
			}
			if err := json.Unmarshal(r.JSON, &e); err != nil {
				t.Fatal(err)
			}
			known := false
			for _, w := range f.ward {
				known = known || w.encounter == "Encounter/"+r.ID
			}
			if !known && len(e.ServiceType.Coding) > 0 && len(e.Location) > 1 {
				f.ward = append(f.ward, ward{patient: e.Subject.Reference, encounter: "Encounter/" + r.ID,
					dept: e.ServiceType.Coding[0].Code, bed: e.Location[1].Location.Display})
			}
		}
	}
	flush()
	for i, w := range f.ward {
		res, err := f.st.Resource(ctx, "Patient", strings.TrimPrefix(w.patient, "Patient/"))
		if err != nil {
			t.Fatalf("patient of %s: %v", w.encounter, err)
		}
		var p struct {
			Name       []struct{ Text string } `json:"name"`
			Identifier []struct {
				Type struct {
					Coding []struct{ Code string } `json:"coding"`
				} `json:"type"`
				Value string `json:"value"`
			} `json:"identifier"`
		}
		if err := json.Unmarshal(res.Body, &p); err != nil {
			t.Fatal(err)
		}
		f.ward[i].name = p.Name[0].Text
		for _, id := range p.Identifier {
			if id.Type.Coding[0].Code == "MR" {
				f.ward[i].mrn = id.Value
			}
		}
	}
	if len(f.ward) < 6 {
		t.Fatalf("the synthetic ward has %d admissions, want at least 6", len(f.ward))
	}
	// Two departments at least, so that department binding is tested.
	other := -1
	for i, w := range f.ward {
		if w.dept != f.ward[0].dept {
			other = i
			break
		}
	}
	if other < 0 {
		t.Fatal("the synthetic ward has a single department")
	}
	f.ward[1], f.ward[other] = f.ward[other], f.ward[1]
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// pathwayBody is a pathway-instance record as the clinical-path core writes it.
func pathwayBody(id string, w ward, enrolled time.Time, day int) string {
	done := enrolled.Add(3 * time.Hour)
	return fmt.Sprintf(`{"id":%q,"pathway":{"id":"stemi","version":"2026.1","title":{"zh":"急性ST段抬高型心肌梗死","en":"STEMI"}},
"patient":%q,"encounter":%q,"department":%q,"status":"active","enrolled_at":%q,"day":%d,"standard_stay":{"min":7,"max":10},
"stage":"day2","stages":[{"id":"day1","title":{"zh":"住院第1天","en":"Day 1"},"start":%q,"end":%q},{"id":"day2","title":{"zh":"住院第2天","en":"Day 2"},"start":%q,"end":null},{"id":"discharge","title":{"zh":"出院日","en":"Discharge day"},"start":null,"end":null}],
"items":[{"id":"ecg","stage":"day1","title":{"zh":"心电图","en":"ECG"},"kind":"test","required":true,"status":"done","due_at":%q,"done_at":%q,"evidence":"Observation/ecg1"},
{"id":"pci","stage":"day1","title":{"zh":"急诊PCI","en":"Primary PCI"},"kind":"procedure","required":true,"status":"overdue","due_at":%q,"done_at":null},
{"id":"echo","stage":"day2","title":{"zh":"超声心动图","en":"Echocardiography"},"kind":"test","required":true,"status":"pending","due_at":%q,"done_at":null},
{"id":"edu","stage":"discharge","title":{"zh":"出院宣教","en":"Discharge education"},"kind":"education","required":false,"status":"pending","due_at":null,"done_at":null}],
"variances":[{"id":"v1","kind":"item_overdue","reason":"PCI not within 90 min","source":"hospital","direction":"negative","controllable":true,"at":%q,"by":""}]}`,
		id, w.patient, w.encounter, w.dept, ts(enrolled), day, ts(enrolled), ts(enrolled.Add(24*time.Hour)), ts(enrolled.Add(24*time.Hour)),
		ts(enrolled.Add(4*time.Hour)), ts(done), ts(enrolled.Add(90*time.Minute)), ts(enrolled.Add(48*time.Hour)), ts(enrolled.Add(2*time.Hour)))
}

func cvBody(id string, w ward, status string, detected time.Time) string {
	ack := "null"
	receiver := ""
	if status == "acknowledged" {
		ack = fmt.Sprintf("%q", ts(detected.Add(5*time.Minute)))
		receiver = "护士李"
	}
	return fmt.Sprintf(`{"id":%q,"status":%q,"escalation_level":1,"patient":%q,"encounter":%q,"result":"Observation/k-%s","kind":"lab","setting":"inpatient",
"code":{"system":"http://loinc.org","code":"2823-3","display":"血钾"},"value":"6.8","unit":"mmol/L","rule":"K > 6.2",
"released_at":%q,"detected_at":%q,"notified_at":%q,"acknowledged_at":%s,"handled_at":null,"department":%q,"receiver":%q,
"events":[{"type":"detected","at":%q,"actor":"lujing"},{"type":"notified","at":%q,"actor":"lujing","detail":"ward nurse station"}]}`,
		id, status, w.patient, w.encounter, id, ts(detected), ts(detected), ts(detected), ack, w.dept, receiver, ts(detected), ts(detected))
}

func fuBody(id string, w ward, status, dueOn string) string {
	return fmt.Sprintf(`{"kind":"follow-up","id":%q,"patient":%q,"encounter":%q,"reasons":["grade4-surgery"],"due_on":%q,"window_start":%q,"window_end":%q,
"method":"phone","assignee":"","department":%q,"status":%q,"attempts":[],"outcome":null,"findings":[]}`,
		id, w.patient, w.encounter, dueOn, dueOn, dueOn, w.dept, status)
}

func (f *fixture) save(ctx context.Context, core, patient string, recs []store.Record, events []store.StreamEvent) {
	f.t.Helper()
	cur, err := f.st.CoreState(ctx, core, patient)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		f.t.Fatal(err)
	}
	evs, err := f.st.SaveCore(ctx, store.CoreSave{Core: core, Patient: patient, Version: cur.Version, State: []byte("{}"),
		Digest: fmt.Sprint(time.Now().UnixNano()), Records: recs, Events: events})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(evs) > 0 && f.hub != nil {
		f.hub.Published(evs[len(evs)-1].ID)
	}
}

func (f *fixture) seedRecords(ctx context.Context) {
	now := f.clock.Now()
	for i, w := range f.ward[:4] {
		id := fmt.Sprintf("pw-%d", i)
		f.save(ctx, "clinicalpath", w.patient, []store.Record{{Kind: "pathway-instance", ID: id, Core: "clinicalpath", Patient: w.patient,
			Encounter: w.encounter, Department: w.dept, Status: "active", Hospital: "H", Opened: now.Add(-30 * time.Hour),
			Body: []byte(pathwayBody(id, w, now.Add(-30*time.Hour), 2)), UpdatedAt: now}}, nil)
		f.pathways = append(f.pathways, id)
	}
	for i, w := range f.ward[:2] {
		status := []string{"notified", "acknowledged"}[i]
		f.addCV(ctx, fmt.Sprintf("cv-%d", i), w, status)
	}
	today := now.In(zone).Format(time.DateOnly)
	for i, w := range f.ward[2:4] {
		id := fmt.Sprintf("fu-%d", i)
		status, due := "due", today
		if i == 1 {
			status, due = "overdue", now.In(zone).AddDate(0, 0, -3).Format(time.DateOnly)
		}
		f.save(ctx, "followup", w.patient, []store.Record{{Kind: "follow-up", ID: id, Core: "followup", Patient: w.patient,
			Encounter: w.encounter, Department: w.dept, Status: status, Hospital: "H", Opened: now.Add(-24 * time.Hour),
			Body: []byte(fuBody(id, w, status, due)), UpdatedAt: now}}, nil)
		f.fus = append(f.fus, id)
	}
}

// addCV stores a critical value (all of the patient's values: a core's save replaces them)
// with its stream event, as the critical-value core does.
func (f *fixture) addCV(ctx context.Context, id string, w ward, status string) {
	now := f.clock.Now()
	var recs []store.Record
	all, err := f.st.Records(ctx, store.RecordFilter{Kind: "critical-value", Patient: w.patient})
	if err != nil {
		f.t.Fatal(err)
	}
	recs = append(recs, all...)
	body := cvBody(id, w, status, now.Add(-10*time.Minute))
	recs = append(recs, store.Record{Kind: "critical-value", ID: id, Core: "criticalvalue", Patient: w.patient, Encounter: w.encounter,
		Department: w.dept, Status: status, Hospital: "H", Opened: now.Add(-10 * time.Minute), Body: []byte(body), UpdatedAt: now})
	f.save(ctx, "criticalvalue", w.patient, recs, []store.StreamEvent{{Name: "critical-value.notified", Record: id, Patient: w.patient,
		Department: w.dept, At: now, Data: []byte(body)}})
	f.cvs = append(f.cvs, id)
}

// client is a browser-like HTTP client: a cookie jar, no redirects followed automatically.
type client struct {
	f    *fixture
	hc   *http.Client
	csrf string
}

func (f *fixture) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{f: f, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	csrfMeta  = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)
)

func (c *client) get(path string) (int, string, http.Header) {
	c.f.t.Helper()
	res, err := c.hc.Get(c.f.srv.URL + path)
	if err != nil {
		c.f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfMeta.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return res.StatusCode, string(b), res.Header
}

// login signs in and returns the status of the form's answer.
func (c *client) login(name, pw string) int {
	c.f.t.Helper()
	_, body, _ := c.get("/ui/login")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		c.f.t.Fatalf("no csrf field on the sign-in page:\n%s", body)
	}
	res, err := c.hc.PostForm(c.f.srv.URL+"/ui/login", url.Values{"name": {name}, "password": {pw}, "csrf": {m[1]}})
	if err != nil {
		c.f.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (c *client) mustLogin(name string) *client {
	c.f.t.Helper()
	if code := c.login(name, password); code != http.StatusSeeOther {
		c.f.t.Fatalf("sign in as %s: %d", name, code)
	}
	return c
}

// api calls the JSON API with the session cookie and, when csrf is true, the page's token.
func (c *client) api(method, path string, body string, csrf bool) (int, string) {
	c.f.t.Helper()
	req, _ := http.NewRequest(method, c.f.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// fakeQuality answers indicators computed from a fixed table: a test double for the QC
// package, which computes the real ones.
type fakeQuality struct{}

func (fakeQuality) Indicators(_ context.Context, from, to time.Time, dept string) ([]webui.Indicator, error) {
	f := func(v float64) *float64 { return &v }
	b := func(v bool) *bool { return &v }
	m := float64(from.Month())
	v1 := 60 + m*2
	strata := []webui.Stratum{{Key: "CARDIO", Label: "心内科", Numerator: 30, Denominator: 40, Value: f(75)},
		{Key: "GI-SURG", Label: "胃肠外科", Numerator: 10, Denominator: 20, Value: f(50)}}
	return []webui.Indicator{
		{ID: "cp-entry", Title: webui.Text{Zh: "入径率", En: "Enrolment rate"}, Numerator: v1, Denominator: 100, Value: f(v1), Unit: "%",
			Target: f(70), Met: b(v1 >= 70), Strata: strata},
		{ID: "cv-ack", Title: webui.Text{Zh: "危急值10分钟内接收率", En: "Critical values acknowledged within 10 min"}, Numerator: 0, Denominator: 0, Unit: "%", Target: f(95)},
	}, nil
}
