package webui_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser tests drive Debian's chromium (apt-get install -y chromium) headless. Without it
// they skip, except under CI=true, where they fail: CI must run them.

// chromium returns the browser's path or skips (fails under CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found under CI: .ci/run must apt-get install -y chromium")
	}
	t.Skip("browser tests skipped: chromium not found (apt-get install -y chromium)")
	return ""
}

// browser starts a fresh headless chromium (its own profile) at 1280×800 and returns its
// context; every step runs under a time limit derived from it. A failed test leaves a
// screenshot in testdata/failures.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first call starts the browser; it must run on a context without a deadline, which
	// would stop the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			sctx, c := context.WithTimeout(ctx, 5*time.Second)
			if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
				name := filepath.Join("testdata", "failures", strings.ReplaceAll(t.Name(), "/", "_")+".png")
				if err := os.WriteFile(name, png, 0o644); err == nil {
					t.Logf("screenshot of the failure: %s", name)
				}
			}
			c()
		}
		cancel()
		cancelAlloc()
	})
	return ctx
}

// do runs steps with a time limit, failing the test on error.
func do(t *testing.T, ctx context.Context, limit time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatal(err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signIn fills the sign-in form with the keyboard only: the name field has the focus, Tab
// moves to the password, Enter submits.
func signIn(t *testing.T, ctx context.Context, base, path, name string) {
	t.Helper()
	do(t, ctx, 20*time.Second,
		chromedp.Navigate(base+path),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.KeyEvent(name+"\t"+password+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#user-name")),
	)
}

// TestBrowserWardAndPathway: sign in with the keyboard, the ward board lists the ward's
// patients (masked), a click opens the pathway with its stages; at a 390-px phone width
// nothing needs sideways scrolling.
func TestBrowserWardAndPathway(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)
	signIn(t, ctx, f.srv.URL, "/ui/ward", "doctor")
	do(t, ctx, 10*time.Second, chromedp.WaitVisible(chromedp.CSS("#ward-board")))
	rows := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#ward-board tbody tr').length`))
	text := get(t, ctx, chromedp.Text(chromedp.CSS("#ward-board")))
	url := get(t, ctx, chromedp.Location())
	if rows != 4 || !strings.HasSuffix(url, "/ui/ward") {
		t.Fatalf("%d rows at %s", rows, url)
	}
	for _, w := range f.ward[:4] {
		if strings.Contains(text, w.name) || !strings.Contains(text, "…"+w.mrn[len(w.mrn)-4:]) {
			t.Errorf("ward board text for %s:\n%s", w.name, text)
		}
	}

	do(t, ctx, 10*time.Second,
		chromedp.Click(chromedp.CSS(`a.patient-link[href="/ui/pathways/pw-0"]`)),
		chromedp.WaitVisible(chromedp.CSS("#stages")),
	)
	stages := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#stages .stage').length`))
	title := get(t, ctx, chromedp.Text(chromedp.CSS("#pw-name")))
	if stages != 3 || !strings.Contains(title, "急性ST段抬高型心肌梗死") || !strings.Contains(title, "● 进行中") {
		t.Fatalf("pathway page: %d stages, title %q", stages, title)
	}

	// A phone: 390 px wide. The board turns into cards; the page does not scroll sideways.
	do(t, ctx, 5*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, path := range []string{"/ui/ward", "/ui/pathways/pw-0", "/ui/critical-values", "/ui/follow-ups"} {
		do(t, ctx, 10*time.Second, chromedp.Navigate(f.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("#main")))
		if width := get(t, ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); width > 390 {
			t.Errorf("%s at 390 px is %d px wide", path, width)
		}
	}
}

// TestBrowserLiveInbox: a critical value stored while the inbox is open appears within a
// second without a reload, with a visible alert; what the user was typing in a read-back
// stays.
func TestBrowserLiveInbox(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)
	signIn(t, ctx, f.srv.URL, "/ui/critical-values", "doctor")
	do(t, ctx, 10*time.Second,
		chromedp.WaitVisible(chromedp.CSS("#live-state.on")),
		chromedp.SendKeys(chromedp.CSS("#rb-cv-0"), "6."),
	)
	get(t, ctx, chromedp.Evaluate[bool](`window.__sameDocument = true`))
	start := time.Now()
	f.addCV(context.Background(), "cv-new", f.ward[2], "notified")
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS("#cv-cv-new")), chromedp.WaitVisible(chromedp.CSS("#cv-alert"))); err != nil {
		t.Fatalf("the new critical value did not appear within a second: %v", err)
	}
	t.Logf("new critical value shown %v after it was stored", time.Since(start).Round(time.Millisecond))
	alert := get(t, ctx, chromedp.Text(chromedp.CSS("#cv-alert")))
	typed := get(t, ctx, chromedp.Value(chromedp.CSS("#rb-cv-0")))
	same := get(t, ctx, chromedp.Evaluate[bool](`window.__sameDocument === true`))
	if !strings.Contains(alert, "新危急值") || !strings.Contains(alert, "血钾") || !same || typed != "6." {
		t.Fatalf("alert %q, same page %v, read-back kept %q", alert, same, typed)
	}
}

// TestBrowserQualityCharts: the quality page draws its trend and breakdown charts.
func TestBrowserQualityCharts(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)
	signIn(t, ctx, f.srv.URL, "/ui/quality", "qc")
	do(t, ctx, 10*time.Second, chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	charts := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.chart').length`))
	points := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.chart circle.point').length`))
	height := get(t, ctx, chromedp.Evaluate[float64](`document.querySelector('svg.chart').getBoundingClientRect().height`))
	if charts != 3 || points != 12 || height < 100 {
		t.Fatalf("%d charts, %d points, first chart %.0f px high", charts, points, height)
	}
}

// TestBrowserClinicianNoConsole: a clinician has no console link and is refused the page.
func TestBrowserClinicianNoConsole(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)
	signIn(t, ctx, f.srv.URL, "/ui/ward", "doctor")
	links := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('a[href="/ui/console"]').length`))
	do(t, ctx, 10*time.Second, chromedp.Navigate(f.srv.URL+"/ui/console"), chromedp.WaitVisible(chromedp.CSS("#error-message")))
	msg := get(t, ctx, chromedp.Text(chromedp.CSS("#error-message")))
	if links != 0 || !strings.Contains(msg, "无权") {
		t.Fatalf("console links %d, message %q", links, msg)
	}
}

// TestBrowserConsoleActions: the console's forms call the API with the session and the CSRF
// token: an invalid code map upload shows the validation errors naming the file.
func TestBrowserConsoleActions(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)
	signIn(t, ctx, f.srv.URL, "/ui/console", "admin")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("id: lab-local\nversion: 1\nmappings: {}\nnonsense: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, 10*time.Second,
		chromedp.SendKeys(chromedp.CSS("#u-id"), "lab-local"),
		chromedp.SetUploadFiles(chromedp.CSS("#u-file"), []string{bad}),
		chromedp.Click(chromedp.CSS("#upload-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#upload-form .result.error")),
	)
	result := get(t, ctx, chromedp.Text(chromedp.CSS("#upload-form .result")))
	if !strings.Contains(result, "操作失败") || !strings.Contains(result, "lab-local.yaml") {
		t.Fatalf("upload result %q", result)
	}
}
