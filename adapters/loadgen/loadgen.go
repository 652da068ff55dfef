// Package loadgen drives a running Lujing server over HTTP with synthetic FHIR traffic and
// reports what it acknowledged and how fast. It is the engine of `lujing bench` and of the
// crash tests, which use OnAck to learn exactly which resources the server acknowledged (and
// so must have stored).
//
// With a Rate, sending is open-loop: every request has an intended start time on a fixed
// schedule, and its latency is measured from that time, not from when a worker got round to
// it. A server that stalls therefore shows its stall in the percentiles instead of hiding it
// by slowing the client down (coordinated omission). Without a Rate, the workers send as fast
// as the server answers, and latency is the plain request time.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lujing-health/lujing/adapters/synth"
)

// Config says what to send, where and how hard.
type Config struct {
	BaseURL string // e.g. http://127.0.0.1:8080; requests go to BaseURL + Request.Path
	Token   string // sent as "Authorization: Bearer <Token>"; empty sends no Authorization

	// BundleSize is resources per request for the default Bodies; default 100. With 1, each
	// resource is sent alone with PUT /fhir/{type}/{id} (or POST /fhir/{type}, PostSingles).
	BundleSize  int
	BundleType  string // "transaction" (default) or "batch"
	PostSingles bool

	Concurrency int     // requests in flight at most; default 8
	Rate        float64 // resources per second; 0 sends as fast as the server answers

	// When to stop dispatching: after Duration, after Count requests, or when Bodies ends,
	// whichever comes first. With the default (endless) Bodies, Duration or Count is required.
	// Requests in flight are then awaited, up to Timeout.
	Duration time.Duration
	Count    int

	// Bodies is what to send, consumed in order from one goroutine, a little ahead of the
	// schedule; Run waits for it to yield once more before returning. Nil means synthetic
	// hospital traffic: synth.New(Seed, Synth) shaped by BundleSize, BundleType, PostSingles.
	Bodies iter.Seq[Request]
	Seed   int64
	Synth  synth.Options

	Client  *http.Client  // nil: a keep-alive client sized for Concurrency
	Timeout time.Duration // per request, for the default client; default 30s

	// OnAck, if set, receives the "Type/id" of every resource the server acknowledged, one
	// call per acknowledged request, never concurrently. For a batch, only entries answered
	// 2xx; for a single POST, the id from the Location header when there is one.
	OnAck func(ids []string)
}

// Request is one HTTP request to send.
type Request struct {
	Method string   // default POST
	Path   string   // under BaseURL: "/fhir" for a Bundle, "/fhir/Observation/<id>" for one resource
	Body   []byte   // FHIR JSON, sent as application/fhir+json
	IDs    []string // "Type/id" of the resources in Body, in entry order; len(IDs) is the resource count
	Batch  bool     // Body is a batch Bundle: acknowledge entry by entry from the response
}

// FromSynth turns a generator's traffic into Requests the way cfg describes (BundleSize,
// BundleType, PostSingles). The default Bodies is FromSynth(synth.New(cfg.Seed, cfg.Synth), cfg).
func FromSynth(g *synth.Generator, cfg Config) iter.Seq[Request] {
	size := cfg.BundleSize
	if size <= 0 {
		size = 100
	}
	batch := cfg.BundleType == "batch"
	return func(yield func(Request) bool) {
		if size == 1 {
			for r := range g.Stream() {
				req := Request{Method: http.MethodPut, Path: "/fhir/" + r.Ref(), Body: r.JSON, IDs: []string{r.Ref()}}
				if cfg.PostSingles {
					req.Method, req.Path = http.MethodPost, "/fhir/"+r.Type
				}
				if !yield(req) {
					return
				}
			}
			return
		}
		for chunk := range g.Traffic(size) {
			ids := make([]string, len(chunk))
			for i, r := range chunk {
				ids[i] = r.Ref()
			}
			body := synth.Transaction(chunk)
			if batch {
				body = synth.Batch(chunk)
			}
			if !yield(Request{Method: http.MethodPost, Path: "/fhir", Body: body, IDs: ids, Batch: batch}) {
				return
			}
		}
	}
}

// Report is the outcome of a Run.
type Report struct {
	BundleSize int     // as configured (1: single resources)
	Workers    int     // Concurrency
	Rate       float64 // target resources/s; 0 = unpaced

	Requests      int // requests sent (every outcome, including canceled ones)
	SentResources int // resources in those requests
	Resources     int // resources acknowledged
	// Errors counts requests answered with a non-2xx status, by status.
	Errors map[int]int
	// EntryErrors counts batch entries answered non-2xx inside a 2xx batch response, by status.
	EntryErrors map[int]int
	// NoResponse counts requests without a usable answer: refused, reset, timed out, or a
	// batch response that could not be read. None of their resources count as acknowledged.
	NoResponse int
	Canceled   int    // requests in flight when the context was canceled
	FirstError string // the first transport error, for the operator

	Elapsed         time.Duration // from the first send to the last answer
	ResourcesPerSec float64       // acknowledged resources / Elapsed
	RequestsPerSec  float64       // answered requests / Elapsed
	Latency         Latency       // of requests answered with any HTTP status
}

// Latency summarizes per-request latencies (nearest-rank percentiles).
type Latency struct {
	Count              int
	P50, P95, P99, Max time.Duration
	Mean               time.Duration
}

// Run sends Bodies to the server until Duration, Count, the end of Bodies or ctx stops it, and
// reports. HTTP errors are counted, not returned; the error is for a bad Config or a canceled
// ctx, and the Report is filled in either way.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.fill(); err != nil {
		return Report{}, err
	}
	rep := Report{BundleSize: cfg.BundleSize, Workers: cfg.Concurrency, Rate: cfg.Rate}
	bodies := cfg.Bodies
	if bodies == nil {
		bodies = FromSynth(synth.New(cfg.Seed, cfg.Synth), cfg)
	}
	client := cfg.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 2 * cfg.Concurrency
		tr.MaxIdleConnsPerHost = 2 * cfg.Concurrency
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	}

	// Bodies are made ahead in their own goroutine, so that building a Bundle does not delay
	// the schedule.
	prepared := make(chan Request, 4*cfg.Concurrency)
	stopMaking := make(chan struct{})
	var maker sync.WaitGroup
	maker.Go(func() {
		defer close(prepared)
		for r := range bodies {
			select {
			case prepared <- r:
			case <-stopMaking:
				return
			}
		}
	})
	defer func() { close(stopMaking); maker.Wait() }()

	// An unbuffered hand-off: when every worker is busy, a request waits here, and with a
	// Rate its wait counts in its latency.
	jobs := make(chan job)
	var ackMu sync.Mutex
	stats := make([]*tally, cfg.Concurrency)
	var workers sync.WaitGroup
	for i := range stats {
		w := &worker{cfg: cfg, client: client, t: newTally(), ackMu: &ackMu}
		stats[i] = w.t
		workers.Go(func() {
			for j := range jobs {
				w.do(ctx, j)
			}
		})
	}

	start := time.Now()
	var deadline <-chan time.Time
	if cfg.Duration > 0 {
		tm := time.NewTimer(cfg.Duration)
		defer tm.Stop()
		deadline = tm.C
	}
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	scheduled := 0 // resources dispatched so far: the schedule is in resources
dispatch:
	for n := 0; cfg.Count == 0 || n < cfg.Count; n++ {
		var r Request
		var ok bool
		select {
		case r, ok = <-prepared:
			if !ok {
				break dispatch
			}
		case <-deadline:
			break dispatch
		case <-ctx.Done():
			break dispatch
		}
		intended := time.Now()
		if cfg.Rate > 0 {
			intended = start.Add(time.Duration(float64(scheduled) / cfg.Rate * float64(time.Second)))
			if wait := time.Until(intended); wait > 0 {
				pace.Reset(wait)
				select {
				case <-pace.C:
				case <-deadline:
					pace.Stop()
					break dispatch
				case <-ctx.Done():
					pace.Stop()
					break dispatch
				}
			}
		}
		select {
		case jobs <- job{r, intended, cfg.Rate > 0}:
		case <-deadline:
			break dispatch
		case <-ctx.Done():
			break dispatch
		}
		scheduled += max(len(r.IDs), 1)
	}
	close(jobs)
	workers.Wait()
	rep.Elapsed = time.Since(start)

	rep.merge(stats)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("loadgen: stopped: %w", err)
	}
	return rep, nil
}

func (c *Config) fill() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("loadgen: BaseURL %q is not an http(s) URL", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.BundleSize <= 0 {
		c.BundleSize = 100
	}
	switch c.BundleType {
	case "":
		c.BundleType = "transaction"
	case "transaction", "batch":
	default:
		return fmt.Errorf("loadgen: BundleType %q: want transaction or batch", c.BundleType)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.Rate < 0 {
		return fmt.Errorf("loadgen: negative Rate %v", c.Rate)
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Bodies == nil && c.Duration <= 0 && c.Count <= 0 {
		return errors.New("loadgen: synthetic traffic never ends: set Duration or Count")
	}
	return nil
}

type job struct {
	Request
	intended time.Time // scheduled start; latency is measured from it when paced
	paced    bool
}

// tally is one worker's counts, merged after the run so workers share no locks.
type tally struct {
	requests, sent, resources int
	errors, entryErrors       map[int]int
	noResponse, canceled      int
	firstError                string
	firstErrorAt              time.Time
	latencies                 []time.Duration
}

func newTally() *tally { return &tally{errors: map[int]int{}, entryErrors: map[int]int{}} }

type worker struct {
	cfg    Config
	client *http.Client
	t      *tally
	ackMu  *sync.Mutex
}

func (w *worker) do(ctx context.Context, j job) {
	t := w.t
	t.requests++
	t.sent += len(j.IDs)
	method := j.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, w.cfg.BaseURL+j.Path, bytes.NewReader(j.Body))
	if err != nil {
		t.noResponse++
		t.noteError(fmt.Errorf("build request: %w", err))
		return
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	if w.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.cfg.Token)
	}
	began := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			t.canceled++ // stopped by the caller: neither a failure nor an acknowledgement
		} else {
			t.noResponse++
			t.noteError(err)
		}
		return
	}
	// Read the whole answer: a batch needs it, and a drained body lets the connection be reused.
	body, readErr := io.ReadAll(resp.Body)
	resp.Body.Close()
	end := time.Now()
	from := began
	if j.paced {
		from = j.intended
	}
	t.latencies = append(t.latencies, end.Sub(from))

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		t.errors[resp.StatusCode]++
		return
	}
	// A 2xx status means the server has committed (design: stored before the 2xx), so a
	// transaction or single resource is acknowledged even if reading the rest failed.
	acked := j.IDs
	switch {
	case j.Batch:
		if readErr != nil {
			t.noResponse++
			t.noteError(fmt.Errorf("read batch response: %w", readErr))
			return
		}
		acked, err = batchAcks(j.IDs, body, t.entryErrors)
		if err != nil {
			t.noResponse++
			t.noteError(err)
			return
		}
	case j.Method == http.MethodPost && len(j.IDs) == 1 && j.Path != "/fhir":
		if id := locationID(resp.Header.Get("Location")); id != "" {
			acked = []string{id}
		}
	}
	t.resources += len(acked)
	if w.cfg.OnAck != nil && len(acked) > 0 {
		w.ackMu.Lock()
		w.cfg.OnAck(acked)
		w.ackMu.Unlock()
	}
}

func (t *tally) noteError(err error) {
	if t.firstError == "" {
		t.firstError, t.firstErrorAt = err.Error(), time.Now()
	}
}

// batchAcks returns the ids whose batch-response entry has a 2xx status and counts the rest.
func batchAcks(ids []string, body []byte, entryErrors map[int]int) ([]string, error) {
	var b struct {
		Entry []struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("batch response is not a Bundle: %w", err)
	}
	if len(b.Entry) != len(ids) {
		return nil, fmt.Errorf("batch response has %d entries for %d sent", len(b.Entry), len(ids))
	}
	var acked []string
	for i, e := range b.Entry {
		// The status is "201 Created" or just "201".
		code, err := strconv.Atoi(strings.SplitN(strings.TrimSpace(e.Response.Status), " ", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("batch response entry %d: status %q", i, e.Response.Status)
		}
		if code >= 200 && code <= 299 {
			acked = append(acked, ids[i])
		} else {
			entryErrors[code]++
		}
	}
	return acked, nil
}

// locationID turns a Location such as ".../fhir/Observation/123/_history/1" into
// "Observation/123".
func locationID(loc string) string {
	if loc == "" {
		return ""
	}
	if u, err := url.Parse(loc); err == nil {
		loc = u.Path
	}
	parts := strings.Split(strings.Trim(loc, "/"), "/")
	if i := slices.Index(parts, "_history"); i >= 0 {
		parts = parts[:i]
	}
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-2] + "/" + parts[len(parts)-1]
}

func (r *Report) merge(ts []*tally) {
	r.Errors, r.EntryErrors = map[int]int{}, map[int]int{}
	var lat []time.Duration
	var firstAt time.Time
	for _, t := range ts {
		r.Requests += t.requests
		r.SentResources += t.sent
		r.Resources += t.resources
		r.NoResponse += t.noResponse
		r.Canceled += t.canceled
		for k, v := range t.errors {
			r.Errors[k] += v
		}
		for k, v := range t.entryErrors {
			r.EntryErrors[k] += v
		}
		if t.firstError != "" && (firstAt.IsZero() || t.firstErrorAt.Before(firstAt)) {
			r.FirstError, firstAt = t.firstError, t.firstErrorAt
		}
		lat = append(lat, t.latencies...)
	}
	r.Latency = summarize(lat)
	if s := r.Elapsed.Seconds(); s > 0 {
		r.ResourcesPerSec = float64(r.Resources) / s
		r.RequestsPerSec = float64(r.Latency.Count) / s
	}
}

// summarize sorts all latencies: exact, and cheap enough for a few million requests.
func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.999999) - 1 // nearest rank: ceil(p·n)
		return d[min(max(i, 0), len(d)-1)]
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return Latency{Count: len(d), P50: rank(0.50), P95: rank(0.95), P99: rank(0.99), Max: d[len(d)-1], Mean: sum / time.Duration(len(d))}
}

// String is a short table for a terminal:
//
//	sent 1000 bundles (100 resources each) in 9.8s with 8 workers
//	acknowledged 100000 resources: 10204 resources/s, 102 requests/s
//	latency p50 12.1ms  p95 30.2ms  p99 41.0ms  max 80.3ms
//	errors: none
func (r Report) String() string {
	var b strings.Builder
	what := fmt.Sprintf("%d bundles (%s)", r.Requests, r.perRequest())
	if r.BundleSize == 1 {
		what = fmt.Sprintf("%d resources one per request", r.Requests)
	}
	fmt.Fprintf(&b, "sent %s in %.1fs with %d workers", what, r.Elapsed.Seconds(), r.Workers)
	if r.Rate > 0 {
		fmt.Fprintf(&b, ", paced at %.0f resources/s", r.Rate)
	}
	fmt.Fprintf(&b, "\nacknowledged %d resources: %.0f resources/s, %.0f requests/s\n",
		r.Resources, r.ResourcesPerSec, r.RequestsPerSec)
	l := r.Latency
	fmt.Fprintf(&b, "latency p50 %s  p95 %s  p99 %s  max %s\n", ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max))

	var errs []string
	for _, code := range sortedKeys(r.Errors) {
		errs = append(errs, fmt.Sprintf("%d × HTTP %d", r.Errors[code], code))
	}
	if r.NoResponse > 0 {
		errs = append(errs, fmt.Sprintf("%d without response (%s)", r.NoResponse, r.FirstError))
	}
	for _, code := range sortedKeys(r.EntryErrors) {
		errs = append(errs, fmt.Sprintf("%d batch entries × %d", r.EntryErrors[code], code))
	}
	if len(errs) == 0 {
		b.WriteString("errors: none")
	} else {
		b.WriteString("errors: " + strings.Join(errs, ", "))
	}
	if r.Canceled > 0 {
		fmt.Fprintf(&b, "\ncanceled: %d requests in flight", r.Canceled)
	}
	return b.String()
}

func (r Report) perRequest() string {
	if r.Requests > 0 && r.SentResources == r.Requests*r.BundleSize {
		return fmt.Sprintf("%d resources each", r.BundleSize)
	}
	if r.Requests == 0 {
		return "none"
	}
	return fmt.Sprintf("%.1f resources on average", float64(r.SentResources)/float64(r.Requests))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func sortedKeys(m map[int]int) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
