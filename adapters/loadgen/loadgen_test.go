package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const token = "s3cret"

// fakeServer is a FHIR endpoint that checks what a source system must send, sleeps a little
// like a real server, and answers. It records every resource id it accepted.
type fakeServer struct {
	*httptest.Server
	sleep    time.Duration
	status   func(n int64) int  // status of the n-th request (1-based); nil = 200
	entry    func(i int) string // batch entry status; nil = "201 Created"
	block    bool               // hold every request until the client gives up
	requests atomic.Int64
	mu       sync.Mutex
	stored   []string
	failures []string
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{sleep: time.Millisecond}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) fail(format string, a ...any) {
	f.mu.Lock()
	f.failures = append(f.failures, fmt.Sprintf(format, a...))
	f.mu.Unlock()
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	if r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, `{"resourceType":"OperationOutcome"}`, http.StatusUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/fhir+json" {
		f.fail("content type %q", ct)
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if f.block {
		<-r.Context().Done()
		return
	}
	time.Sleep(f.sleep)
	if f.status != nil {
		if code := f.status(n); code != http.StatusOK {
			w.WriteHeader(code)
			return
		}
	}
	var res struct {
		ResourceType, ID string
		Type             json.RawMessage // a Bundle's type; an array in some resources
		Entry            []struct {
			Resource struct{ ResourceType, ID string }
			Request  struct{ Method, URL string }
		}
	}
	if err := json.Unmarshal(body, &res); err != nil {
		f.fail("body is not JSON: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ids []string
	switch {
	case r.URL.Path == "/fhir" && r.Method == http.MethodPost:
		if res.ResourceType != "Bundle" {
			f.fail("POST /fhir with a %s", res.ResourceType)
		}
		for _, e := range res.Entry {
			ref := e.Resource.ResourceType + "/" + e.Resource.ID
			if e.Request.Method != "PUT" || e.Request.URL != ref {
				f.fail("entry %s with request %s %s", ref, e.Request.Method, e.Request.URL)
			}
			ids = append(ids, ref)
		}
	case r.Method == http.MethodPut:
		ref := res.ResourceType + "/" + res.ID
		if r.URL.Path != "/fhir/"+ref {
			f.fail("PUT %s with %s", r.URL.Path, ref)
		}
		ids = []string{ref}
	case r.Method == http.MethodPost:
		if r.URL.Path != "/fhir/"+res.ResourceType {
			f.fail("POST %s with a %s", r.URL.Path, res.ResourceType)
		}
		ref := res.ResourceType + fmt.Sprintf("/srv-%d", n)
		w.Header().Set("Location", f.URL+"/fhir/"+ref+"/_history/1")
		ids = []string{ref}
	}

	w.Header().Set("Content-Type", "application/fhir+json")
	if string(res.Type) == `"batch"` {
		var entries []string
		var stored []string
		for i := range ids {
			st := "201 Created"
			if f.entry != nil {
				st = f.entry(i)
			}
			if strings.HasPrefix(st, "2") {
				stored = append(stored, ids[i])
			}
			entries = append(entries, fmt.Sprintf(`{"response":{"status":%q}}`, st))
		}
		ids = stored
		fmt.Fprintf(w, `{"resourceType":"Bundle","type":"batch-response","entry":[%s]}`, strings.Join(entries, ","))
	} else {
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `{"resourceType":"Bundle","type":"transaction-response"}`)
	}
	f.mu.Lock()
	f.stored = append(f.stored, ids...)
	f.mu.Unlock()
}

func (f *fakeServer) check(t *testing.T) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, msg := range f.failures {
		t.Error("server saw:", msg)
	}
	return slices.Clone(f.stored)
}

// acks collects OnAck calls.
type acks struct {
	mu  sync.Mutex
	ids []string
}

func (a *acks) add(ids []string) {
	a.mu.Lock()
	a.ids = append(a.ids, ids...)
	a.mu.Unlock()
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %d ids, want %d", what, len(got), len(want))
	}
}

func TestBundlesAcknowledged(t *testing.T) {
	srv := newFakeServer(t)
	var a acks
	rep, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Token: token, BundleSize: 20, Concurrency: 4, Count: 30, Seed: 1, OnAck: a.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := srv.check(t)
	t.Log("\n" + rep.String())
	if rep.Requests != 30 || srv.requests.Load() != 30 {
		t.Fatalf("%d requests reported, %d received, want 30", rep.Requests, srv.requests.Load())
	}
	if rep.Resources != len(stored) || rep.Resources < 30*15 || rep.Resources > 30*20 {
		t.Fatalf("%d resources acknowledged, server stored %d", rep.Resources, len(stored))
	}
	sameSet(t, "acknowledged ids", a.ids, stored)
	if len(rep.Errors) != 0 || rep.NoResponse != 0 || rep.Canceled != 0 {
		t.Fatalf("errors in a clean run: %+v", rep)
	}
	l := rep.Latency
	if l.Count != 30 || l.P50 < time.Millisecond || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max {
		t.Fatalf("latency %+v", l)
	}
	if rep.Elapsed <= 0 || rep.ResourcesPerSec <= 0 || rep.RequestsPerSec <= 0 {
		t.Fatalf("rates %+v", rep)
	}
}

func TestSingleResources(t *testing.T) {
	for _, post := range []bool{false, true} {
		t.Run(fmt.Sprint("post=", post), func(t *testing.T) {
			srv := newFakeServer(t)
			var a acks
			rep, err := Run(context.Background(), Config{
				BaseURL: srv.URL, Token: token, BundleSize: 1, PostSingles: post, Count: 60, OnAck: a.add,
			})
			if err != nil {
				t.Fatal(err)
			}
			stored := srv.check(t)
			if rep.Requests != 60 || rep.Resources != 60 || len(stored) != 60 {
				t.Fatalf("requests %d resources %d stored %d", rep.Requests, rep.Resources, len(stored))
			}
			// With POST the server names the resource; the acknowledgement must use its name.
			sameSet(t, "acknowledged ids", a.ids, stored)
			if !strings.Contains(rep.String(), "60 resources one per request") {
				t.Fatalf("report:\n%s", rep)
			}
		})
	}
}

func TestErrorsCounted(t *testing.T) {
	srv := newFakeServer(t)
	srv.status = func(n int64) int {
		if n%4 == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	var a acks
	rep, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Token: token, BundleSize: 10, Concurrency: 1, Count: 40, OnAck: a.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := srv.check(t)
	if rep.Errors[http.StatusServiceUnavailable] != 10 || len(rep.Errors) != 1 {
		t.Fatalf("errors %v, want 10 × 503", rep.Errors)
	}
	if rep.Resources != len(stored) {
		t.Fatalf("%d acknowledged, %d stored", rep.Resources, len(stored))
	}
	sameSet(t, "acknowledged ids", a.ids, stored)
	if rep.Latency.Count != 40 {
		t.Fatalf("latency of %d requests, want all 40 answered", rep.Latency.Count)
	}
	if !strings.Contains(rep.String(), "errors: 10 × HTTP 503") {
		t.Fatalf("report:\n%s", rep)
	}

	// A wrong token: every request refused, nothing acknowledged.
	rep, err = Run(context.Background(), Config{BaseURL: srv.URL, Token: "wrong", BundleSize: 5, Count: 8, OnAck: a.add})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors[http.StatusUnauthorized] != 8 || rep.Resources != 0 {
		t.Fatalf("wrong token: errors %v, %d resources acknowledged", rep.Errors, rep.Resources)
	}
}

func TestBatchEntries(t *testing.T) {
	srv := newFakeServer(t)
	srv.entry = func(i int) string {
		if i == 1 {
			return "422 Unprocessable Entity"
		}
		return "201 Created"
	}
	var a acks
	rep, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Token: token, BundleSize: 10, BundleType: "batch", Count: 12, OnAck: a.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := srv.check(t)
	if rep.EntryErrors[422] != 12 || rep.Resources != rep.SentResources-12 {
		t.Fatalf("entry errors %v, %d of %d acknowledged", rep.EntryErrors, rep.Resources, rep.SentResources)
	}
	sameSet(t, "acknowledged ids", a.ids, stored)
}

func TestNoServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	rep, err := Run(context.Background(), Config{BaseURL: "http://" + addr, Token: token, BundleSize: 5, Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.NoResponse != 5 || rep.Resources != 0 || rep.FirstError == "" {
		t.Fatalf("report %+v", rep)
	}
	if !strings.Contains(rep.String(), "5 without response") {
		t.Fatalf("report:\n%s", rep)
	}
}

// With a rate the client sends on schedule, never ahead of it.
func TestRatePacing(t *testing.T) {
	srv := newFakeServer(t)
	rep, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Token: token, BundleSize: 10, Rate: 1000, Count: 30,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.check(t)
	// 30 requests of 10 resources at 1000 resources/s: the last starts 290ms after the first.
	if rep.Elapsed < 280*time.Millisecond || rep.Elapsed > 20*time.Second {
		t.Fatalf("elapsed %v, want about 290ms", rep.Elapsed)
	}
	if rep.ResourcesPerSec > 1500 {
		t.Fatalf("%.0f resources/s, paced at 1000", rep.ResourcesPerSec)
	}
	if !strings.Contains(rep.String(), "paced at 1000 resources/s") {
		t.Fatalf("report:\n%s", rep)
	}
}

// A slow server with one worker: requests queue behind each other, and open-loop latency
// (measured from the intended start) shows the queue, where the bare request time would not.
func TestLatencyIncludesQueueing(t *testing.T) {
	srv := newFakeServer(t)
	srv.sleep = 20 * time.Millisecond
	rep, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Token: token, BundleSize: 1, Concurrency: 1, Rate: 500, Count: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Request k is due at 2k ms and starts after k×20ms of service: the last waits ≥ 340ms.
	if rep.Latency.Max < 200*time.Millisecond {
		t.Fatalf("max latency %v hides the queue", rep.Latency.Max)
	}
}

// endless yields the same small resource for ever; cheap, so no test waits for a generator.
func endless(yield func(Request) bool) {
	for {
		if !yield(Request{Method: http.MethodPut, Path: "/fhir/Patient/p1",
			Body: []byte(`{"resourceType":"Patient","id":"p1"}`), IDs: []string{"Patient/p1"}}) {
			return
		}
	}
}

func TestDuration(t *testing.T) {
	srv := newFakeServer(t)
	rep, err := Run(context.Background(), Config{
		BaseURL: srv.URL, Token: token, Concurrency: 2, Duration: 300 * time.Millisecond, Bodies: endless,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || rep.Elapsed < 300*time.Millisecond || rep.Elapsed > 20*time.Second {
		t.Fatalf("%d requests in %v", rep.Requests, rep.Elapsed)
	}
}

func TestCancelStops(t *testing.T) {
	srv := newFakeServer(t)
	srv.block = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // cancel once every worker has a request stuck in the server
		for srv.requests.Load() < 3 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	began := time.Now()
	var a acks
	rep, err := Run(ctx, Config{
		BaseURL: srv.URL, Token: token, BundleSize: 10, Concurrency: 3, Duration: time.Minute, OnAck: a.add,
	})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("error %v, want context canceled", err)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Fatalf("Run took %v: cancel did not stop it", took)
	}
	if rep.Canceled != 3 || rep.Resources != 0 || len(a.ids) != 0 || rep.NoResponse != 0 {
		t.Fatalf("report %+v", rep)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{BaseURL: "localhost:8080", Count: 1},
		{BaseURL: "http://127.0.0.1:1", BundleType: "collection", Count: 1},
		{BaseURL: "http://127.0.0.1:1"}, // endless synthetic traffic
		{BaseURL: "http://127.0.0.1:1", Count: 1, Rate: -1},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("Run accepted %+v", c)
		}
	}
}

func TestCustomBodies(t *testing.T) {
	srv := newFakeServer(t)
	body := `{"resourceType":"Patient","id":"p1"}`
	reqs := func(yield func(Request) bool) {
		for range 3 {
			if !yield(Request{Method: http.MethodPut, Path: "/fhir/Patient/p1", Body: []byte(body), IDs: []string{"Patient/p1"}}) {
				return
			}
		}
	}
	rep, err := Run(context.Background(), Config{BaseURL: srv.URL + "/", Token: token, Bodies: reqs})
	if err != nil {
		t.Fatal(err)
	}
	srv.check(t)
	if rep.Requests != 3 || rep.Resources != 3 {
		t.Fatalf("report %+v", rep)
	}
}

func TestReportString(t *testing.T) {
	r := Report{
		BundleSize: 100, Workers: 8, Requests: 1000, SentResources: 100000, Resources: 100000,
		Elapsed: 9800 * time.Millisecond, ResourcesPerSec: 10204, RequestsPerSec: 102,
		Latency: Latency{P50: 12100 * time.Microsecond, P95: 30200 * time.Microsecond, P99: 41 * time.Millisecond, Max: 80300 * time.Microsecond},
	}
	want := `sent 1000 bundles (100 resources each) in 9.8s with 8 workers
acknowledged 100000 resources: 10204 resources/s, 102 requests/s
latency p50 12.1ms  p95 30.2ms  p99 41.0ms  max 80.3ms
errors: none`
	if got := r.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := summarize(d)
	if l.P50 != 500*time.Millisecond || l.P95 != 950*time.Millisecond || l.P99 != 990*time.Millisecond || l.Max != time.Second {
		t.Fatalf("%+v", l)
	}
	if got := summarize([]time.Duration{7}); got.P50 != 7 || got.P99 != 7 {
		t.Fatalf("%+v", got)
	}
}

func TestLocationID(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/fhir/Observation/123/_history/1": "Observation/123",
		"/fhir/Patient/abc":                        "Patient/abc",
		"Patient/abc/_history/2":                   "Patient/abc",
		"":                                         "",
	} {
		if got := locationID(in); got != want {
			t.Errorf("locationID(%q) = %q, want %q", in, got, want)
		}
	}
}
