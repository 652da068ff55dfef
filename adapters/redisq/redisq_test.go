package redisq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/queue/queuetest"
)

// These tests run against the real Redis named by LUJING_TEST_REDIS_URL. CI must set it.
const urlEnv = "LUJING_TEST_REDIS_URL"

func redisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the Redis queue tests against a real Redis", urlEnv)
		}
		t.Skipf("%s not set: skipping tests against a real Redis (e.g. %s=redis://127.0.0.1:6379/0)", urlEnv, urlEnv)
	}
	return u
}

// newClient returns a client on the test Redis, closed at cleanup.
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(redisURL(t))
	if err != nil {
		t.Fatalf("parse %s: %v", urlEnv, err)
	}
	o.PoolSize = 64
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping test redis: %v", err)
	}
	return c
}

// uniquePrefix returns a fresh key prefix whose keys are deleted at cleanup.
func uniquePrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "lujingtest:" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return prefix
}

var quiet = testLogger()

func testLogger() *slog.Logger {
	if os.Getenv("REDISQ_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testOptions are fast settings: short blocks, polls and leases so the suite takes seconds.
func testOptions(prefix, id string) Options {
	return Options{
		Prefix:       prefix,
		Partitions:   4,
		ConsumerID:   id,
		LeaseTTL:     time.Second,
		RenewEvery:   100 * time.Millisecond,
		Block:        50 * time.Millisecond,
		RetryBackoff: 10 * time.Millisecond,
		TimerPoll:    10 * time.Millisecond,
		Logger:       quiet,
	}
}

func TestContract(t *testing.T) {
	client := newClient(t)
	queuetest.Run(t, func(t *testing.T) queue.Queue {
		q := New(client, testOptions(uniquePrefix(t, client), ""))
		t.Cleanup(func() { q.Close() })
		return q
	})
	// Close must not have closed the caller's client.
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Errorf("client closed by Queue.Close: %v", err)
	}
}

// The contract holds with a bound on ordinary handlers too.
func TestContractBounded(t *testing.T) {
	client := newClient(t)
	queuetest.Run(t, func(t *testing.T) queue.Queue {
		o := testOptions(uniquePrefix(t, client), "")
		o.Concurrency = 2
		q := New(client, o)
		t.Cleanup(func() { q.Close() })
		return q
	})
}

// With every turn taken by a slow ordinary handler, an urgent key of another partition is
// still handled at once (its partition reads the urgent lane while it waits for a turn), and
// no more ordinary handlers run than Concurrency.
func TestUrgentDoesNotWaitForATurn(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	o := testOptions(uniquePrefix(t, client), "")
	o.Concurrency = 1
	q := New(client, o)
	t.Cleanup(func() { q.Close() })
	np := q.Partitions()
	slow := "Patient/slow"
	var other, critical string
	for i := 0; other == "" || critical == ""; i++ {
		k := fmt.Sprintf("Patient/k%d", i)
		p := queue.Partition(k, np)
		switch {
		case p == queue.Partition(slow, np):
		case other == "":
			other = k
		case p == queue.Partition(other, np):
			critical = k // waits in the same partition as other, which waits for a turn
		}
	}
	release := make(chan struct{})
	handled := make(chan string, 10)
	var running, most atomic.Int32
	queuetest.Consume(t, q, func(ctx context.Context, key string) error {
		if !queue.IsUrgent(ctx) {
			n := running.Add(1)
			defer running.Add(-1)
			if n > most.Load() {
				most.Store(n)
			}
		}
		if key == slow {
			<-release
		}
		handled <- key
		return nil
	})
	if err := q.Publish(ctx, slow); err != nil {
		t.Fatal(err)
	}
	queuetest.WaitFor(t, 5*time.Second, "the slow handler running", func() bool { return running.Load() == 1 })
	if err := q.Publish(ctx, other); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // other is read and waits for the turn
	if err := q.PublishUrgent(ctx, critical); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-handled:
		if k != critical {
			t.Fatalf("handled %s first, want the urgent %s", k, critical)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the urgent key waited for the turn held by the slow handler")
	}
	close(release)
	for _, want := range []string{slow, other} {
		select {
		case k := <-handled:
			if k != want {
				t.Errorf("handled %s, want %s", k, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s never handled", want)
		}
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d ordinary handlers at once, Concurrency 1", m)
	}
}

// leaseOwners reads who holds each partition's lease.
func leaseOwners(t *testing.T, c *redis.Client, q *Queue) map[string]int {
	t.Helper()
	owners := map[string]int{}
	for p := range q.Partitions() {
		v, err := c.Get(context.Background(), q.leaseKey(p)).Result()
		if err == nil {
			owners[v]++
		}
	}
	return owners
}

// Consumer A takes a delivery and dies without acknowledging it; consumer B takes the partition
// over once A's lease expires and delivers the entry again.
func TestCrashRecovery(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	prefix := uniquePrefix(t, client)

	// A has a client of its own, so that killing A can cut it off from Redis.
	ao, _ := redis.ParseURL(redisURL(t))
	aClient := redis.NewClient(ao)
	defer aClient.Close()
	optsA := testOptions(prefix, "A")
	a := New(aClient, optsA)
	optsB := testOptions(prefix, "B")
	b := New(client, optsB)
	defer b.Close()

	startedA := make(chan string, 1)
	releaseA := make(chan struct{})
	ctxA, cancelA := context.WithCancel(ctx)
	defer cancelA()
	doneA := make(chan error, 1)
	go func() {
		doneA <- a.Consume(ctxA, func(ctx context.Context, key string) error {
			startedA <- key
			<-releaseA // never acknowledges before it is "dead"
			return nil
		})
	}()
	queuetest.WaitFor(t, 5*time.Second, "A to own every partition", func() bool {
		return leaseOwners(t, client, a)["A"] == a.Partitions()
	})
	const key = "Patient/crash"
	if err := b.Publish(ctx, key); err != nil {
		t.Fatal(err)
	}
	select {
	case <-startedA:
	case <-time.After(5 * time.Second):
		t.Fatal("A never got the delivery")
	}

	var mu sync.Mutex
	var gotB []string
	queuetest.Consume(t, b, func(ctx context.Context, k string) error {
		mu.Lock()
		gotB = append(gotB, k)
		mu.Unlock()
		return nil
	})
	// While A renews its leases B must wait, even though A's entry is unacknowledged.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	if len(gotB) > 0 {
		t.Fatalf("B got %q while A still held the lease", gotB)
	}
	mu.Unlock()
	if o := leaseOwners(t, client, a); o["A"] != a.Partitions() {
		t.Fatalf("lease owners %v, want A still on all", o)
	}

	// Kill A: cut its connection (no more renewals, no release, no ack) and stop it.
	cancelA()
	aClient.Close()
	queuetest.WaitFor(t, 5*time.Second, "B to redeliver the entry A never acknowledged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(gotB) > 0
	})
	mu.Lock()
	if gotB[0] != key {
		t.Errorf("B got %q first, want %q", gotB[0], key)
	}
	mu.Unlock()
	queuetest.WaitFor(t, 5*time.Second, "B to own every partition", func() bool {
		return leaseOwners(t, client, b)["B"] == b.Partitions()
	})
	queuetest.WaitFor(t, 5*time.Second, "Depth 0", func() bool {
		d, err := b.Depth(ctx)
		return err == nil && d == 0
	})

	close(releaseA)
	select {
	case <-doneA:
	case <-time.After(5 * time.Second):
		t.Fatal("A's Consume did not return")
	}
}

// Two instances consuming one prefix never run the same partition at once, also across a
// hand-over when one stops, and together deliver every key.
func TestTwoInstancesExclusive(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	prefix := uniquePrefix(t, client)
	optsA := testOptions(prefix, "A")
	optsA.MaxPartitions = 2
	a := New(client, optsA)
	defer a.Close()
	b := New(client, testOptions(prefix, "B"))
	defer b.Close()
	np := a.Partitions()

	inflight := make([]atomic.Int32, np)
	var overlaps atomic.Int32
	var mu sync.Mutex
	seen := map[string]bool{}
	byInstance := map[string]int{}
	handler := func(name string) queue.Handler {
		return func(ctx context.Context, key string) error {
			p := queue.Partition(key, np)
			if inflight[p].Add(1) != 1 {
				overlaps.Add(1)
			}
			time.Sleep(500 * time.Microsecond)
			inflight[p].Add(-1)
			mu.Lock()
			seen[key] = true
			byInstance[name]++
			mu.Unlock()
			return nil
		}
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}

	stopA := queuetest.Consume(t, a, handler("A"))
	queuetest.WaitFor(t, 5*time.Second, "A to take 2 partitions", func() bool {
		return leaseOwners(t, client, a)["A"] == 2
	})
	queuetest.Consume(t, b, handler("B"))
	queuetest.WaitFor(t, 5*time.Second, "B to take the other 2", func() bool {
		return leaseOwners(t, client, b)["B"] == 2
	})

	const n = 600
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range n / 4 {
				if err := a.Publish(ctx, fmt.Sprintf("Patient/%d-%d", g, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	queuetest.WaitFor(t, 10*time.Second, "some deliveries", func() bool { return count() > n/4 })
	stopA() // hands its partitions to B
	wg.Wait()
	queuetest.WaitFor(t, 10*time.Second, "every key delivered", func() bool { return count() == n })
	if o := overlaps.Load(); o > 0 {
		t.Errorf("%d times two handlers ran in one partition", o)
	}
	mu.Lock()
	if byInstance["A"] == 0 || byInstance["B"] == 0 {
		t.Errorf("deliveries per instance %v: both should have consumed", byInstance)
	}
	mu.Unlock()
	if o := leaseOwners(t, client, b); o["B"] != np {
		t.Errorf("after A stopped, lease owners %v, want B on all", o)
	}
}

// With two instances polling timers, each timer fires exactly once.
func TestTimersFireOnce(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	prefix := uniquePrefix(t, client)
	optsA, optsB := testOptions(prefix, "A"), testOptions(prefix, "B")
	optsA.TimerPoll, optsB.TimerPoll = 2*time.Millisecond, 3*time.Millisecond
	a, b := New(client, optsA), New(client, optsB)
	defer a.Close()
	defer b.Close()

	var mu sync.Mutex
	got := map[string]int{}
	h := func(ctx context.Context, key string) error {
		mu.Lock()
		got[key]++
		mu.Unlock()
		return nil
	}
	queuetest.Consume(t, a, h)
	queuetest.Consume(t, b, h)

	const n = 200
	due := time.Now().Add(150 * time.Millisecond)
	for i := range n {
		q := a
		if i%2 == 1 {
			q = b
		}
		if err := q.Schedule(ctx, fmt.Sprintf("t%d", i), fmt.Sprintf("Patient/t%d", i), due); err != nil {
			t.Fatal(err)
		}
	}
	queuetest.WaitFor(t, 5*time.Second, "every timer fired", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	time.Sleep(200 * time.Millisecond) // room for a double firing to show
	mu.Lock()
	defer mu.Unlock()
	for k, c := range got {
		if c != 1 {
			t.Errorf("%s delivered %d times", k, c)
		}
	}
	if left, _ := client.ZCard(ctx, a.timersKey()).Result(); left != 0 {
		t.Errorf("%d timers left in the sorted set", left)
	}
}

func BenchmarkPublishConsume(b *testing.B) {
	client := newClient(b)
	opts := Options{Prefix: uniquePrefix(b, client), Block: 100 * time.Millisecond, Logger: quiet}
	q := New(client, opts)
	defer q.Close()
	queuetest.Benchmark(b, q)
}

// TestRepeatsInABatchHandledOnce: a key published many times before the consumer reads is
// handled once per batch read (the handling takes every message stored before it), and every
// entry is acknowledged.
func TestRepeatsInABatchHandledOnce(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	prefix := uniquePrefix(t, client)
	opts := testOptions(prefix, "A")
	opts.Partitions, opts.BatchSize = 1, 64
	q := New(client, opts)
	defer q.Close()
	for range 20 {
		if err := q.Publish(ctx, "Patient/r1", "Patient/r2"); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	got := map[string]int{}
	queuetest.Consume(t, q, func(ctx context.Context, key string) error {
		mu.Lock()
		got[key]++
		mu.Unlock()
		return nil
	})
	queuetest.WaitFor(t, 5*time.Second, "both keys handled and nothing waiting", func() bool {
		n, _ := q.Depth(ctx)
		mu.Lock()
		defer mu.Unlock()
		return got["Patient/r1"] > 0 && got["Patient/r2"] > 0 && n == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if got["Patient/r1"] != 1 || got["Patient/r2"] != 1 {
		t.Fatalf("handled %v; want each key once for 20 entries read in one batch", got)
	}
}

// Urgent deliveries have their own bound: with UrgentConcurrency 1 a second urgent key waits
// for the first, while ordinary work goes on.
func TestUrgentConcurrency(t *testing.T) {
	ctx := context.Background()
	client := newClient(t)
	o := testOptions(uniquePrefix(t, client), "")
	o.UrgentConcurrency = 1
	q := New(client, o)
	t.Cleanup(func() { q.Close() })
	np := q.Partitions()
	var keys []string // three keys in different partitions
	for i := 0; len(keys) < 3; i++ {
		k := fmt.Sprintf("Patient/u%d", i)
		if !slices.ContainsFunc(keys, func(x string) bool { return queue.Partition(x, np) == queue.Partition(k, np) }) {
			keys = append(keys, k)
		}
	}
	first, second, ordinary := keys[0], keys[1], keys[2]
	release := make(chan struct{})
	handled := make(chan string, 10)
	queuetest.Consume(t, q, func(ctx context.Context, key string) error {
		if key == first {
			handled <- key + " started"
			<-release
		}
		handled <- key
		return nil
	})
	if err := q.PublishUrgent(ctx, first); err != nil {
		t.Fatal(err)
	}
	if k := <-handled; k != first+" started" {
		t.Fatalf("got %s", k)
	}
	if err := q.PublishUrgent(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := q.Publish(ctx, ordinary); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-handled:
		if k != ordinary {
			t.Fatalf("handled %s while the only urgent turn was taken", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ordinary work waited for an urgent turn")
	}
	select {
	case k := <-handled:
		t.Fatalf("handled %s while the only urgent turn was taken", k)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	for _, want := range []string{first, second} {
		if k := <-handled; k != want {
			t.Errorf("handled %s, want %s", k, want)
		}
	}
}
