package redisq

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/lujing-health/lujing/adapters/queue"
)

// Unit tests on miniredis: they need no server and run everywhere. miniredis does not compute
// a group's lag, so Depth and the consuming paths are covered by the real-Redis tests.

func newMini(t *testing.T) (*miniredis.Miniredis, *redis.Client) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { c.Close() })
	return mr, c
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	q, err := Open(ctx, "redis://"+mr.Addr()+"/0", Options{Prefix: "x", Partitions: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if q.Partitions() != 4 || q.opts.Prefix != "x" || q.ConsumerID() == "" {
		t.Errorf("options not applied: %+v", q.opts)
	}
	if err := q.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := q.Publish(ctx, "Patient/1", "Patient/2"); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if d, err := q.Depth(ctx); err != nil || d != 2 {
		t.Errorf("Depth before any consumer = %d, %v; want 2", d, err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Open made the client, so Close closed it.
	if err := q.rdb.Ping(ctx).Err(); err == nil {
		t.Error("the client Open created is still open after Close")
	}

	if _, err := Open(ctx, "http://user:s3cret@host:1/0"); err == nil {
		t.Error("Open accepted a non-redis URL")
	} else if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
	addr := mr.Addr()
	mr.Close()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := Open(short, "redis://"+addr+"/0"); err == nil {
		t.Error("Open succeeded with no server")
	}
}

func TestDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.Prefix != "lujing" || o.Partitions != 16 || o.Group != "workers" || o.MaxPartitions != 16 ||
		o.LeaseTTL != 15*time.Second || o.RenewEvery != 5*time.Second || o.Block != time.Second ||
		o.TimerPoll != 150*time.Millisecond || o.MaxLen != 100_000 || o.ConsumerID == "" {
		t.Errorf("defaults: %+v", o)
	}
	if a, b := defaultConsumerID(), defaultConsumerID(); a == b {
		t.Errorf("consumer ids not unique: %s", a)
	}
}

func TestLeaseScripts(t *testing.T) {
	ctx := context.Background()
	mr, c := newMini(t)
	const key = "lujing:lease:0"
	run := func(s *redis.Script, args ...any) int {
		t.Helper()
		n, err := s.Run(ctx, c, []string{key}, args...).Int()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if run(acquireScript, "A", 1000) != 1 {
		t.Fatal("A could not take a free lease")
	}
	if run(acquireScript, "B", 1000) != 0 {
		t.Fatal("B took A's lease")
	}
	if run(acquireScript, "A", 1000) != 1 {
		t.Fatal("A could not re-take its own lease")
	}
	if run(renewScript, "B", 1000) != 0 || run(releaseScript, "B") != 0 {
		t.Fatal("B renewed or released A's lease")
	}
	mr.FastForward(900 * time.Millisecond)
	if run(renewScript, "A", 1000) != 1 {
		t.Fatal("A could not renew")
	}
	mr.FastForward(900 * time.Millisecond) // renewed: still A's
	if run(acquireScript, "B", 1000) != 0 {
		t.Fatal("renewal did not extend the lease")
	}
	mr.FastForward(200 * time.Millisecond) // now expired
	if run(acquireScript, "B", 1000) != 1 {
		t.Fatal("B could not take an expired lease")
	}
	if run(renewScript, "A", 1000) != 0 || run(releaseScript, "A") != 0 {
		t.Fatal("A renewed or released a lease it lost")
	}
	if run(releaseScript, "B") != 1 || mr.Exists(key) {
		t.Fatal("B could not release its lease")
	}
}

func streamKeys(t *testing.T, c *redis.Client, stream string) []string {
	t.Helper()
	msgs, err := c.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, m := range msgs {
		keys = append(keys, m.Values["k"].(string))
	}
	return keys
}

func TestTimerScripts(t *testing.T) {
	ctx := context.Background()
	mr, c := newMini(t)
	q := New(c, Options{Partitions: 1, Logger: quiet})
	now := time.Now()

	// Past: straight to the stream, no timer left behind.
	if err := q.Schedule(ctx, "past", "Patient/p", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := streamKeys(t, c, q.stream(0)); len(got) != 1 || got[0] != "Patient/p" {
		t.Fatalf("stream after a past timer: %q", got)
	}

	// Future, then replaced by id with another key and time.
	if err := q.Schedule(ctx, "t", "Patient/old", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := q.Schedule(ctx, "t", "Patient/new", now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := q.pollTimers(ctx, now.Add(90*time.Second)); err != nil || n != 0 {
		t.Fatalf("poll before the replaced due time fired %d, %v", n, err)
	}
	if n, err := q.pollTimers(ctx, now.Add(2*time.Minute-time.Millisecond)); err != nil || n != 0 {
		t.Fatalf("poll a millisecond early fired %d, %v", n, err)
	}
	if n, err := q.pollTimers(ctx, now.Add(2*time.Minute+time.Millisecond)); err != nil || n != 1 {
		t.Fatalf("poll at due time fired %d, %v; want 1", n, err)
	}
	if n, err := q.pollTimers(ctx, now.Add(3*time.Minute)); err != nil || n != 0 {
		t.Fatalf("a fired timer fired again: %d, %v", n, err)
	}
	if got := streamKeys(t, c, q.stream(0)); strings.Join(got, " ") != "Patient/p Patient/new" {
		t.Fatalf("stream: %q", got)
	}
	if mr.Exists(q.timerKeysKey()) || mr.Exists(q.timersKey()) {
		t.Error("timer left behind after firing")
	}

	// A timer id without key (only by hand) is dropped, not retried forever.
	c.ZAdd(ctx, q.timersKey(), redis.Z{Score: 1, Member: "ghost"})
	if n, err := q.pollTimers(ctx, now); err != nil || n != 0 {
		t.Fatalf("ghost timer: %d, %v", n, err)
	}
	if mr.Exists(q.timersKey()) {
		t.Error("ghost timer not dropped")
	}

	// Many due timers: more than one poll batch.
	for i := range 250 {
		if err := q.Schedule(ctx, fmt.Sprintf("m%d", i), "Patient/m", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := q.pollTimers(ctx, now.Add(time.Hour+time.Millisecond)); err != nil || n != 250 {
		t.Fatalf("batch poll fired %d, %v; want 250", n, err)
	}
}

// Timers keep the key's partition: a timer fires into the stream the key maps to.
func TestTimerPartition(t *testing.T) {
	ctx := context.Background()
	_, c := newMini(t)
	q := New(c, Options{Partitions: 8, Logger: quiet})
	key := "Patient/42"
	p := queue.Partition(key, 8)
	if err := q.Schedule(ctx, "t", key, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := streamKeys(t, c, q.stream(p)); len(got) != 1 {
		t.Fatalf("partition %d stream: %q", p, got)
	}
}

func TestDueMillisRoundsUp(t *testing.T) {
	at := time.UnixMilli(1000).Add(time.Microsecond)
	if dueMillis(at) != 1001 {
		t.Errorf("dueMillis = %d, want 1001", dueMillis(at))
	}
	if dueMillis(time.UnixMilli(1000)) != 1000 {
		t.Error("an exact millisecond moved")
	}
}
