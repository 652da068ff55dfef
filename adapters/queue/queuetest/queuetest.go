// Package queuetest holds the contract every queue.Queue implementation must pass, so the
// in-process and Redis queues behave the same for the worker.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/queue"
)

// Partitioned is what the contract needs besides queue.Queue: the partition count, to check
// ordering and exclusion per partition.
type Partitioned interface {
	Partitions() int
}

// Run runs the contract against fresh queues from newQueue. newQueue must give each call an
// independent, empty queue and arrange its cleanup; it should use a short retry backoff (tens
// of milliseconds) and, for polling implementations, short poll intervals, or the suite slows.
func Run(t *testing.T, newQueue func(t *testing.T) queue.Queue) {
	t.Run("PublishConsume", func(t *testing.T) { testPublishConsume(t, newQueue(t)) })
	t.Run("OrderPerPartition", func(t *testing.T) { testOrder(t, newQueue(t)) })
	t.Run("OneHandlerPerPartition", func(t *testing.T) { testExclusive(t, newQueue(t)) })
	t.Run("Redelivery", func(t *testing.T) { testRedelivery(t, newQueue(t)) })
	t.Run("UrgentFirst", func(t *testing.T) { testUrgent(t, newQueue(t)) })
	t.Run("UrgentTimers", func(t *testing.T) { testUrgentTimers(t, newQueue(t)) })
	t.Run("Timers", func(t *testing.T) { testTimers(t, newQueue(t)) })
	t.Run("GracefulShutdown", func(t *testing.T) { testGraceful(t, newQueue(t)) })
	t.Run("Depth", func(t *testing.T) { testDepth(t, newQueue(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, newQueue(t)) })
}

const waitLimit = 10 * time.Second

// Consume runs q.Consume in the background and returns a stop function that cancels it and
// waits for it to return (failing the test if it does not). Stop is also registered as a
// cleanup, and is safe to call twice.
func Consume(t testing.TB, q queue.Queue, h queue.Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- q.Consume(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Consume returned %v", err)
				}
			case <-time.After(waitLimit):
				t.Errorf("Consume did not return within %v of cancel", waitLimit)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// WaitFor polls cond until it holds, failing the test after limit.
func WaitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func partitions(t *testing.T, q queue.Queue) int {
	t.Helper()
	p, ok := q.(Partitioned)
	if !ok {
		t.Fatalf("%T has no Partitions() int method; the contract needs it", q)
	}
	return p.Partitions()
}

// seen is a concurrency-safe record of handled keys.
type seen struct {
	mu    sync.Mutex
	count map[string]int
	order []string
}

func newSeen() *seen { return &seen{count: make(map[string]int)} }

func (s *seen) add(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count[key]++
	s.order = append(s.order, key)
}

func (s *seen) get(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[key]
}

func (s *seen) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.count)
}

func testPublishConsume(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	if err := q.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	const n = 200
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("Patient/%d", i))
	}
	// Some before Consume starts, some after, in batches and one by one.
	if err := q.Publish(ctx, keys[:100]...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	s := newSeen()
	Consume(t, q, func(ctx context.Context, key string) error { s.add(key); return nil })
	for _, k := range keys[100:] {
		if err := q.Publish(ctx, k); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	WaitFor(t, waitLimit, "every key delivered", func() bool { return s.distinct() == n })
	for _, k := range keys {
		if s.get(k) == 0 {
			t.Errorf("%s never delivered", k)
		}
	}
}

func testOrder(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	np := partitions(t, q)
	const publishers, perPublisher = 8, 100

	var mu sync.Mutex
	last := make(map[[2]int]int) // (publisher, partition) → last sequence handled
	var violations []string
	s := newSeen()
	Consume(t, q, func(ctx context.Context, key string) error {
		// key is "pub<g>/<i>"
		g, i := parseSeq(key)
		p := queue.Partition(key, np)
		mu.Lock()
		if prev, ok := last[[2]int{g, p}]; ok && i <= prev {
			violations = append(violations, fmt.Sprintf("partition %d publisher %d: %d after %d", p, g, i, prev))
		}
		last[[2]int{g, p}] = i
		mu.Unlock()
		s.add(key)
		return nil
	})

	var wg sync.WaitGroup
	for g := range publishers {
		wg.Go(func() {
			for i := range perPublisher {
				if err := q.Publish(ctx, fmt.Sprintf("pub%d/%d", g, i)); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	WaitFor(t, waitLimit, "every key delivered", func() bool { return s.distinct() == publishers*perPublisher })
	mu.Lock()
	defer mu.Unlock()
	for _, v := range violations {
		t.Error("out of order:", v)
	}
}

func parseSeq(key string) (g, i int) {
	a, b, _ := strings.Cut(strings.TrimPrefix(key, "pub"), "/")
	g, _ = strconv.Atoi(a)
	i, _ = strconv.Atoi(b)
	return g, i
}

func testExclusive(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	np := partitions(t, q)
	inflight := make([]atomic.Int32, np)
	var total, maxTotal atomic.Int32
	var overlaps atomic.Int32
	s := newSeen()
	Consume(t, q, func(ctx context.Context, key string) error {
		p := queue.Partition(key, np)
		if inflight[p].Add(1) != 1 {
			overlaps.Add(1)
		}
		cur := total.Add(1)
		for {
			m := maxTotal.Load()
			if cur <= m || maxTotal.CompareAndSwap(m, cur) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		total.Add(-1)
		inflight[p].Add(-1)
		s.add(key)
		return nil
	})
	const n = 300
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("Patient/x%d", i))
	}
	if err := q.Publish(ctx, keys...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	WaitFor(t, waitLimit, "every key delivered", func() bool { return s.distinct() == n })
	if o := overlaps.Load(); o > 0 {
		t.Errorf("%d times a handler started while another ran in the same partition", o)
	}
	// Partitions must also run concurrently, or the queue is needlessly serial.
	if np > 1 && maxTotal.Load() < 2 {
		t.Errorf("never more than one handler at a time across %d partitions", np)
	}
}

// samePartition returns a key starting with prefix that falls in as's partition.
func samePartition(prefix, as string, np int) string {
	want := queue.Partition(as, np)
	for i := 0; ; i++ {
		k := fmt.Sprintf("%s-%d", prefix, i)
		if queue.Partition(k, np) == want {
			return k
		}
	}
}

func testRedelivery(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	np := partitions(t, q)
	failing := "Patient/retry"
	later := samePartition(failing, failing, np)

	var mu sync.Mutex
	var events []string
	failures := 0
	Consume(t, q, func(ctx context.Context, key string) error {
		mu.Lock()
		defer mu.Unlock()
		if key == failing && failures < 2 {
			failures++
			events = append(events, key+" fail")
			return errors.New("transient")
		}
		events = append(events, key+" ok")
		return nil
	})
	if err := q.Publish(ctx, failing, later); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	WaitFor(t, waitLimit, "both keys acknowledged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return contains(events, failing+" ok") && contains(events, later+" ok")
	})
	mu.Lock()
	defer mu.Unlock()
	want := []string{failing + " fail", failing + " fail", failing + " ok", later + " ok"}
	if strings.Join(events, ",") != strings.Join(want, ",") {
		t.Errorf("events = %q, want %q (a failed key is retried before the later keys of its partition)", events, want)
	}
}

// testUrgent: an urgent key is handled at once, even while its partition is busy with another
// key and ordinary keys wait there; never while a handler of the same key runs; and its
// handler's context says it is urgent.
func testUrgent(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	np := partitions(t, q)
	first := "Patient/busy"
	var waiting []string
	for i := range 4 {
		waiting = append(waiting, samePartition(fmt.Sprintf("%s%d", first, i), first, np))
	}
	urgent := samePartition("Patient/critical", first, np)

	started := make(chan struct{}, 1)
	gate := make(chan struct{})
	var mu sync.Mutex
	var got []string
	inHandler := map[string]bool{}
	overlaps := 0
	Consume(t, q, func(ctx context.Context, key string) error {
		mu.Lock()
		if inHandler[key] {
			overlaps++
		}
		inHandler[key] = true
		mu.Unlock()
		if key == first && !queue.IsUrgent(ctx) {
			started <- struct{}{}
			<-gate
		}
		mu.Lock()
		defer mu.Unlock()
		inHandler[key] = false
		mark := ""
		if queue.IsUrgent(ctx) {
			mark = " urgent"
		}
		got = append(got, key+mark)
		return nil
	})
	has := func(k string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(got, k)
	}
	// One publish, so a queue that reads in batches reads them together.
	if err := q.Publish(ctx, append([]string{first}, waiting...)...); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case <-started:
	case <-time.After(waitLimit):
		t.Fatal("handler never started")
	}
	if err := q.PublishUrgent(ctx, urgent, first); err != nil {
		t.Fatalf("PublishUrgent: %v", err)
	}
	WaitFor(t, waitLimit, "the urgent key handled while its partition is busy", func() bool { return has(urgent + " urgent") })
	time.Sleep(50 * time.Millisecond)
	if has(first + " urgent") {
		t.Error("an urgent key was handled while a handler of the same key ran")
	}
	close(gate)
	WaitFor(t, waitLimit, "every key delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 3+len(waiting)
	})
	mu.Lock()
	defer mu.Unlock()
	if overlaps > 0 {
		t.Errorf("%d times two handlers of one key ran at once", overlaps)
	}
	var ordinary []string
	for _, k := range got {
		if !strings.HasSuffix(k, " urgent") {
			ordinary = append(ordinary, k)
		}
	}
	if want := append([]string{first}, waiting...); strings.Join(ordinary, ",") != strings.Join(want, ",") {
		t.Errorf("ordinary deliveries %q, want %q", ordinary, want)
	}
	if slices.Index(got, first+" urgent") < slices.Index(got, first) {
		t.Errorf("deliveries %q: the urgent %s before the handler already running for it returned", got, first)
	}
}

// testUrgentTimers: a timer scheduled urgently fires into the urgent lane, one scheduled
// ordinarily into the ordinary one, also when due at once; rescheduling an id across lanes
// replaces the timer.
func testUrgentTimers(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	var mu sync.Mutex
	got := map[string]bool{} // key → urgent
	Consume(t, q, func(ctx context.Context, key string) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := got[key]; dup {
			t.Errorf("%s delivered twice", key)
		}
		got[key] = queue.IsUrgent(ctx)
		return nil
	})
	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(q.ScheduleUrgent(ctx, "u-now", "Patient/u-now", now.Add(-time.Second)))
	must(q.ScheduleUrgent(ctx, "u-later", "Patient/u-later", now.Add(100*time.Millisecond)))
	must(q.Schedule(ctx, "o-later", "Patient/o-later", now.Add(100*time.Millisecond)))
	// Replaced across lanes: only the urgent one may fire.
	must(q.Schedule(ctx, "swap", "Patient/swap-old", now.Add(100*time.Millisecond)))
	must(q.ScheduleUrgent(ctx, "swap", "Patient/swap", now.Add(150*time.Millisecond)))
	want := map[string]bool{"Patient/u-now": true, "Patient/u-later": true, "Patient/o-later": false, "Patient/swap": true}
	WaitFor(t, waitLimit, "the timers fired", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(want)
	})
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for k, u := range want {
		if g, ok := got[k]; !ok || g != u {
			t.Errorf("%s: delivered %v, urgent %v; want urgent %v", k, ok, g, u)
		}
	}
	if _, ok := got["Patient/swap-old"]; ok {
		t.Error("a replaced timer fired")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func testTimers(t *testing.T, q queue.Queue) {
	ctx := context.Background()

	var mu sync.Mutex
	first := make(map[string]time.Time)
	Consume(t, q, func(ctx context.Context, key string) error {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := first[key]; !ok {
			first[key] = time.Now()
		}
		return nil
	})
	delivered := func(key string) (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		at, ok := first[key]
		return at, ok
	}

	// A time in the past fires at once.
	if err := q.Schedule(ctx, "t-past", "Patient/past", time.Now().Add(-time.Hour)); err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	// Replacing by id: the first key must never be delivered; the later time must hold.
	start := time.Now()
	if err := q.Schedule(ctx, "t-replace", "Patient/old", start.Add(150*time.Millisecond)); err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	if err := q.Schedule(ctx, "t-due", "Patient/due", start.Add(100*time.Millisecond)); err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	due := start.Add(400 * time.Millisecond)
	if err := q.Schedule(ctx, "t-due", "Patient/due", due); err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	if err := q.Schedule(ctx, "t-replace", "Patient/new", start.Add(200*time.Millisecond)); err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	// A far timer is no delivery: Depth does not count it.
	if err := q.Schedule(ctx, "t-far", "Patient/far", start.Add(time.Hour)); err != nil {
		t.Fatalf("Schedule: %v", err)
	}

	WaitFor(t, 2*time.Second, "past timer fired", func() bool { _, ok := delivered("Patient/past"); return ok })
	WaitFor(t, 3*time.Second, "replacing timer fired", func() bool { _, ok := delivered("Patient/new"); return ok })
	WaitFor(t, 3*time.Second, "rescheduled timer fired", func() bool { _, ok := delivered("Patient/due"); return ok })

	// Timer clocks are wall clocks at millisecond resolution; allow a few ms of slack.
	const slack = 5 * time.Millisecond
	if at, _ := delivered("Patient/due"); at.Before(due.Add(-slack)) {
		t.Errorf("timer fired %v before its (rescheduled) due time", due.Sub(at))
	}
	if at, _ := delivered("Patient/new"); at.Before(start.Add(200*time.Millisecond - slack)) {
		t.Errorf("timer fired %v early", start.Add(200*time.Millisecond).Sub(at))
	}
	time.Sleep(100 * time.Millisecond) // the replaced timer was due well before now
	if _, ok := delivered("Patient/old"); ok {
		t.Error("a replaced timer fired")
	}
	if _, ok := delivered("Patient/far"); ok {
		t.Error("a timer an hour away fired")
	}
	WaitFor(t, 2*time.Second, "Depth 0 with only a future timer", func() bool {
		d, err := q.Depth(ctx)
		return err == nil && d == 0
	})
}

func testGraceful(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	started := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	var once sync.Once
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- q.Consume(cctx, func(hctx context.Context, key string) error {
			once.Do(func() { close(started) })
			<-release
			finished.Store(true)
			return nil
		})
	}()
	if err := q.Publish(ctx, "Patient/slow"); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	select {
	case <-started:
	case <-time.After(waitLimit):
		t.Fatal("handler never started")
	}
	cancel()
	select {
	case err := <-errc:
		close(release)
		t.Fatalf("Consume returned (%v) while a handler was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Consume returned %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Consume did not return after the in-flight handler finished")
	}
	if !finished.Load() {
		t.Error("Consume returned before the in-flight handler finished")
	}
}

func testDepth(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	d, err := q.Depth(ctx)
	if err != nil || d != 0 {
		t.Fatalf("Depth of an empty queue = %d, %v", d, err)
	}
	const n = 50
	for i := range n {
		if err := q.Publish(ctx, fmt.Sprintf("Patient/d%d", i)); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if d, err := q.Depth(ctx); err != nil || d != n {
		t.Fatalf("Depth after %d publishes = %d, %v", n, d, err)
	}
	s := newSeen()
	Consume(t, q, func(ctx context.Context, key string) error { s.add(key); return nil })
	WaitFor(t, waitLimit, "every key delivered", func() bool { return s.distinct() == n })
	var last int64
	WaitFor(t, waitLimit, "Depth 0", func() bool {
		last, err = q.Depth(ctx)
		return err == nil && last == 0
	})
}

func testClose(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := q.Publish(ctx, "Patient/late"); err == nil {
		t.Error("Publish after Close succeeded")
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Benchmark publishes b.N distinct keys in batches and consumes them with a no-op handler,
// reporting keys/s end to end. q must be empty and is not closed.
func Benchmark(b *testing.B, q queue.Queue) {
	ctx := context.Background()
	var handled atomic.Int64
	b.ResetTimer()
	start := time.Now()
	stop := Consume(b, q, func(ctx context.Context, key string) error { handled.Add(1); return nil })
	const batch = 100
	keys := make([]string, 0, batch)
	for i := range b.N {
		keys = append(keys, "Patient/"+strconv.Itoa(i))
		if len(keys) == batch || i == b.N-1 {
			if err := q.Publish(ctx, keys...); err != nil {
				b.Fatalf("Publish: %v", err)
			}
			keys = keys[:0]
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for handled.Load() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("handled %d of %d", handled.Load(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "keys/s")
}
