package webui_test

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui"
)

// TestSignIn: a wrong password and an integration account are refused with the same words;
// a right one starts a session whose cookie is HttpOnly and SameSite; "next" cannot leave the
// workspace; signing out ends the session on the server.
func TestSignIn(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	if code := c.login("doctor", "wrong password!"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	if code := c.login("his", password); code != http.StatusUnauthorized {
		t.Fatalf("integration account signed in: %d", code)
	}
	if code := c.login("nobody", password); code != http.StatusUnauthorized {
		t.Fatalf("unknown account: %d", code)
	}
	// A sign-in form posted without its anti-forgery value (login CSRF) is refused.
	res, err := c.hc.PostForm(f.srv.URL+"/ui/login", url.Values{"name": {"doctor"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without the form token: %d", res.StatusCode)
	}

	_, body, _ := c.get("/ui/login?next=//evil.example/x")
	m := csrfField.FindStringSubmatch(body)
	res, err = c.hc.PostForm(f.srv.URL+"/ui/login", url.Values{"name": {"doctor"}, "password": {password}, "csrf": {m[1]}, "next": {"//evil.example/x"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/" {
		t.Fatalf("sign-in: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "lujing_session" {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure {
		t.Fatalf("session cookie %+v (plain HTTP: not Secure)", sess)
	}
	code, _, h := c.get("/ui/ward")
	if code != http.StatusOK || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("ward: %d, headers %v", code, h)
	}
	// Signing out needs the page's token too, then the old cookie is worth nothing.
	res, err = c.hc.PostForm(f.srv.URL+"/ui/logout", url.Values{"csrf": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("logout with a forged token: %d", res.StatusCode)
	}
	res, err = c.hc.PostForm(f.srv.URL+"/ui/logout", url.Values{"csrf": {c.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	replay := f.client()
	u, _ := url.Parse(f.srv.URL)
	replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "lujing_session", Value: sess.Value}})
	if code, _, h := replay.get("/ui/ward"); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/login") {
		t.Fatalf("after sign-out the old cookie opened the ward: %d %s", code, h.Get("Location"))
	}
	if code, _ := replay.api("GET", "/api/v1/messages/counts", "", false); code != http.StatusUnauthorized {
		t.Fatalf("API after sign-out: %d", code)
	}
}

// TestSessionTimeouts: a session ends after the idle timeout without requests, and after its
// lifetime however active; disabling the account ends it at once.
func TestSessionTimeouts(t *testing.T) {
	f := newFixture(t)
	c := f.client().mustLogin("doctor")
	for range 30 { // active every 20 minutes for 10 hours: still in
		f.clock.Add(20 * time.Minute)
		if code, _, _ := c.get("/ui/ward"); code != http.StatusOK {
			t.Fatalf("active session ended early: %d at %v", code, f.clock.Now())
		}
	}
	f.clock.Add(31 * time.Minute)
	if code, _, _ := c.get("/ui/ward"); code != http.StatusSeeOther {
		t.Fatalf("idle 31 min: %d", code)
	}
	c = f.client().mustLogin("doctor")
	for range 37 { // 12 h 20 min of activity: past the lifetime
		f.clock.Add(20 * time.Minute)
		c.get("/ui/ward")
	}
	if code, _, _ := c.get("/ui/ward"); code != http.StatusSeeOther {
		t.Fatalf("past the 12 h lifetime: %d", code)
	}
	c = f.client().mustLogin("doctor")
	if err := f.st.DisableUser(context.Background(), "doctor", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := c.get("/ui/ward"); code != http.StatusSeeOther {
		t.Fatalf("disabled account: %d", code)
	}
	if code := f.client().login("doctor", password); code != http.StatusUnauthorized {
		t.Fatalf("disabled account signed in: %d", code)
	}
}

// TestAPIWithSession: the JSON API accepts the session cookie with the user's role, and a
// request that changes anything only with the page's X-CSRF-Token.
func TestAPIWithSession(t *testing.T) {
	f := newFixture(t)
	admin := f.client().mustLogin("admin")
	admin.get("/ui/console")
	if code, body := admin.api("GET", "/api/v1/messages/counts", "", false); code != http.StatusOK || !strings.Contains(body, `"his"`) {
		t.Fatalf("counts with a session: %d %s", code, body)
	}
	if code, _ := admin.api("POST", "/api/v1/messages/replay?status=failed", "", false); code != http.StatusForbidden {
		t.Fatalf("POST without X-CSRF-Token: %d", code)
	}
	saved := admin.csrf
	admin.csrf = "forged"
	if code, _ := admin.api("POST", "/api/v1/messages/replay?status=failed", "", true); code != http.StatusForbidden {
		t.Fatalf("POST with a wrong X-CSRF-Token: %d", code)
	}
	admin.csrf = saved
	if code, body := admin.api("POST", "/api/v1/messages/replay?status=failed", "", true); code != http.StatusAccepted {
		t.Fatalf("POST with the page's token: %d %s", code, body)
	}
	doctor := f.client().mustLogin("doctor")
	doctor.get("/ui/ward")
	if code, _ := doctor.api("GET", "/api/v1/messages/counts", "", false); code != http.StatusForbidden {
		t.Fatalf("clinician reading admin API: %d", code)
	}
	qc := f.client().mustLogin("qc")
	if code, _ := qc.api("GET", "/api/v1/events", "", false); code != http.StatusForbidden {
		t.Fatalf("qc opening the live stream: %d", code)
	}
	// Another user's token does not pass for this session's.
	doctor.csrf = admin.csrf
	if code, _ := doctor.api("PUT", "/api/v1/code-maps/x", "id: x", true); code != http.StatusForbidden {
		t.Fatalf("a token of another session: %d", code)
	}
}

// TestRolesAndPages: who may open which page.
func TestRolesAndPages(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		user string
		path string
		want int
	}{
		{"doctor", "/ui/ward", 200}, {"doctor", "/ui/critical-values", 200}, {"doctor", "/ui/follow-ups", 200},
		{"doctor", "/ui/quality", 200}, {"doctor", "/ui/console", 403},
		{"qc", "/ui/quality", 200}, {"qc", "/ui/ward", 403}, {"qc", "/ui/critical-values", 403}, {"qc", "/ui/pathways/pw-0", 403},
		{"qc", "/ui/follow-ups", 403}, {"qc", "/ui/console", 403},
		{"admin", "/ui/console", 200}, {"admin", "/ui/ward", 200},
		{"cardio", "/ui/pathways/pw-0", 200}, {"cardio", "/ui/pathways/pw-1", 403}, {"doctor", "/ui/pathways/nope", 404},
		{"cardio", "/ui/ward?department=SOMEWHERE-ELSE", 403},
	}
	clients := map[string]*client{}
	for _, c := range cases {
		cl, ok := clients[c.user]
		if !ok {
			cl = f.client().mustLogin(c.user)
			clients[c.user] = cl
		}
		if code, body, _ := cl.get(c.path); code != c.want {
			t.Errorf("%s %s: %d, want %d\n%.300s", c.user, c.path, code, c.want, body)
		}
	}
	anon := f.client()
	if code, _, h := anon.get("/ui/quality"); code != http.StatusSeeOther || h.Get("Location") != "/ui/login?next=%2Fui%2Fquality" {
		t.Fatalf("anonymous: %d %s", code, h.Get("Location"))
	}
	if code, _, h := clients["qc"].get("/ui/"); code != http.StatusSeeOther || h.Get("Location") != "/ui/quality" {
		t.Fatalf("qc home: %d %s", code, h.Get("Location"))
	}
}

// TestWardBoardMasksAndBinds: the board lists the patients on pathways with bed, masked name,
// the last 4 of the MRN, day of stay, stage, progress, overdue, variance, critical-value and
// follow-up badges; never a full name or MRN unless asked (and that read is audited); a
// department-bound clinician sees only their department.
func TestWardBoardMasksAndBinds(t *testing.T) {
	f := newFixture(t)
	c := f.client().mustLogin("doctor")
	code, body, _ := c.get("/ui/ward")
	if code != 200 {
		t.Fatal(code)
	}
	if n := strings.Count(body, `class="patient-row"`); n != 4 {
		t.Fatalf("%d rows, want 4", n)
	}
	for _, w := range f.ward[:4] {
		masked := string([]rune(w.name)[:1]) + strings.Repeat("*", len([]rune(w.name))-1)
		for _, want := range []string{masked, "…" + w.mrn[len(w.mrn)-4:], w.bed} {
			if !strings.Contains(body, want) {
				t.Errorf("ward board lacks %q", want)
			}
		}
		if strings.Contains(body, w.name) || strings.Contains(body, w.mrn) {
			t.Errorf("ward board shows %s's full name or MRN", w.patient)
		}
		if strings.Contains(body, strings.TrimPrefix(w.patient, "Patient/")) {
			t.Errorf("ward board shows the patient id of %s", w.name)
		}
	}
	for _, want := range []string{"急性ST段抬高型心肌梗死", "第 2 天 / 标准 7–10 天", "住院第2天", `value="1"`, "⚠ 1", "△ 变异 1", "◆ 危急值 1", "☎ 随访待办"} {
		if !strings.Contains(body, want) {
			t.Errorf("ward board lacks %q", want)
		}
	}
	_, en, _ := c.get("/ui/ward?lang=en")
	if !strings.Contains(en, "day 2 of 7–10") || !strings.Contains(en, "Ward board") {
		t.Errorf("English board:\n%.2000s", en)
	}
	_, full, _ := c.get("/ui/ward?names=full")
	if !strings.Contains(full, f.ward[0].name) {
		t.Errorf("names=full does not show the name")
	}
	log, err := f.st.AuditLog(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	unmasked := false
	for _, e := range log {
		unmasked = unmasked || (e.Actor == "doctor" && e.Action == "search-unmasked" && e.Role == store.RoleClinician)
	}
	if !unmasked {
		t.Errorf("the unmasked read is not audited: %+v", log)
	}

	cardio := f.client().mustLogin("cardio")
	_, body, _ = cardio.get("/ui/ward")
	for _, w := range f.ward[:4] {
		masked := string([]rune(w.name)[:1]) + strings.Repeat("*", len([]rune(w.name))-1)
		mrn := "…" + w.mrn[len(w.mrn)-4:]
		if (w.dept == f.ward[0].dept) != strings.Contains(body, mrn) {
			t.Errorf("cardio (bound to %s) and %s of %s: shown=%v; masked %s", f.ward[0].dept, w.name, w.dept, strings.Contains(body, mrn), masked)
		}
	}
}

// TestPathwayPage: stages as columns with their items, done with time and evidence, overdue
// marked in words, the variance list and both action forms pointing at the API.
func TestPathwayPage(t *testing.T) {
	f := newFixture(t)
	c := f.client().mustLogin("doctor")
	code, body, _ := c.get("/ui/pathways/pw-0")
	if code != 200 {
		t.Fatal(code)
	}
	for _, want := range []string{"住院第1天", "住院第2天", "出院日", "✓ 已完成", "⚠ 已超时", "○ 待完成", "Observation/ecg1",
		"PCI not within 90 min", `data-api="/api/v1/pathway-instances/pw-0/variances"`, `data-api="/api/v1/pathway-instances/pw-0/withdraw"`, "▶ 住院第2天"} {
		if !strings.Contains(body, want) {
			t.Errorf("pathway page lacks %q", want)
		}
	}
	// Times in the hospital's zone: the ECG was done 3 h after enrolment.
	enrolled := f.clock.Now().Add(-30 * time.Hour)
	if want := enrolled.Add(3 * time.Hour).In(zone).Format("2006-01-02 15:04"); !strings.Contains(body, "完成 "+want) {
		t.Errorf("done time %s (Asia/Shanghai) missing", want)
	}
	log, _ := f.st.AuditLog(context.Background(), 10)
	if len(log) == 0 || log[0].Action != "read" || log[0].PatientKey != f.ward[0].patient || log[0].Resource != "ui:pathway-instance/pw-0" {
		t.Errorf("pathway read not audited: %+v", log)
	}
}

// TestCriticalAndFollowUpPages: the inbox lists open values with their forms (acknowledge
// with read-back for a notified one, handle for an acknowledged one) and event chain; the
// fragment the live script reloads is the list alone; the worklist groups by due state.
func TestCriticalAndFollowUpPages(t *testing.T) {
	f := newFixture(t)
	c := f.client().mustLogin("doctor")
	_, body, _ := c.get("/ui/critical-values")
	for _, want := range []string{`data-live="critical-value."`, "◆ 已通知", "✓ 已接收", "血钾", "6.8 mmol/L", "▲ 1",
		`data-api="/api/v1/critical-values/cv-0/acknowledge"`, `data-api="/api/v1/critical-values/cv-1/handle"`, `name="read_back"`, "ward nurse station"} {
		if !strings.Contains(body, want) {
			t.Errorf("inbox lacks %q", want)
		}
	}
	if strings.Contains(body, `data-api="/api/v1/critical-values/cv-1/acknowledge"`) {
		t.Error("an acknowledged value offers acknowledge again")
	}
	_, frag, _ := c.get("/ui/critical-values?fragment=list")
	if strings.Contains(frag, "<html") || !strings.Contains(frag, `data-ids="cv-0 cv-1"`) && !strings.Contains(frag, `data-ids="cv-1 cv-0"`) {
		t.Errorf("fragment:\n%.500s", frag)
	}
	_, body, _ = c.get("/ui/follow-ups")
	over, today := strings.Index(body, `id="fu-overdue"`), strings.Index(body, `id="fu-today"`)
	if over < 0 || today < 0 || !strings.Contains(body[over:today], "fu-fu-1") || !strings.Contains(body[today:], "fu-fu-0") {
		t.Errorf("worklist grouping wrong:\n%s", body)
	}
	if !strings.Contains(body, `data-api="/api/v1/follow-ups/fu-0/record"`) {
		t.Error("no record form")
	}
}

// TestQualityPage: every indicator against its target in words, a monthly trend and a
// department breakdown as SVG that parses as XML, the CSV link; without a QC source, "no
// data".
func TestQualityPage(t *testing.T) {
	f := newFixture(t)
	c := f.client().mustLogin("qc")
	_, body, _ := c.get("/ui/quality?from=2026-01-01&to=2026-03-31")
	for _, want := range []string{"入径率", "目标", "✕ 未达标", "– 无数据", "月度趋势", "科室分布", "心内科",
		`href="/api/v1/quality/report?format=csv&amp;from=2026-01-01&amp;to=2026-03-31"`} {
		if !strings.Contains(body, want) {
			t.Errorf("quality page lacks %q", want)
		}
	}
	svgs := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(body, -1)
	if len(svgs) != 3 { // two trends and one breakdown
		t.Fatalf("%d charts, want 3", len(svgs))
	}
	for _, s := range svgs {
		if err := xml.Unmarshal([]byte(s), new(struct{})); err != nil {
			t.Errorf("chart is not well-formed XML: %v", err)
		}
	}
	if n := strings.Count(svgs[0], `class="point"`); n != 12 {
		t.Errorf("trend has %d points, want 12 months", n)
	}
	for _, w := range f.ward {
		if strings.Contains(body, w.name) || strings.Contains(body, string([]rune(w.name)[:1])+"*") || strings.Contains(body, w.mrn) {
			t.Errorf("the quality page shows a patient")
		}
	}
}

// TestQualityWithoutSource: with no QC source wired the page says there is no data.
func TestQualityWithoutSource(t *testing.T) {
	f := newFixture(t)
	ui, err := webui.New(webui.Config{Store: f.st, Zone: zone, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := f.client().mustLogin("qc")
	// Same session store, a workspace without a QC source.
	req, _ := http.NewRequest("GET", "/ui/quality", nil)
	u, _ := url.Parse(f.srv.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	rec := &recorder{h: http.Header{}}
	ui.ServeHTTP(rec, req)
	if rec.code != 200 || !strings.Contains(rec.body.String(), `id="qc-empty"`) {
		t.Fatalf("%d\n%s", rec.code, rec.body.String())
	}
}

type recorder struct {
	h    http.Header
	code int
	body strings.Builder
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }

// TestConsole: counts by source and status from the intake's messages, tokens and accounts,
// the upload form; no message body (patient data) on the page.
func TestConsole(t *testing.T) {
	f := newFixture(t)
	c := f.client().mustLogin("admin")
	_, body, _ := c.get("/ui/console")
	for _, want := range []string{`id="counts"`, "<th scope=\"row\">his</th>", "<th scope=\"row\">lis</th>", "已处理", "待处理", `id="upload-form"`,
		"/api/v1/code-maps/", "cardio", "（全院）"} {
		if !strings.Contains(body, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	for _, w := range f.ward {
		if strings.Contains(body, w.name) || strings.Contains(body, w.mrn) {
			t.Errorf("console shows patient data")
		}
	}
}
