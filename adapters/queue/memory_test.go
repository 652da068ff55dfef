package queue_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/queue/queuetest"
)

func newTestMemory(t *testing.T) queue.Queue {
	q := queue.NewMemory(queue.MemoryOptions{
		Partitions:   8,
		RetryBackoff: 10 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	t.Cleanup(func() { q.Close() })
	return q
}

func TestMemoryContract(t *testing.T) {
	queuetest.Run(t, newTestMemory)
}

func TestMemoryDefaults(t *testing.T) {
	q := queue.NewMemory(queue.MemoryOptions{})
	defer q.Close()
	if q.Partitions() != 16 {
		t.Errorf("Partitions = %d, want 16", q.Partitions())
	}
}

// A key published again while it waits is coalesced; one published while it is in a handler is
// not, since the handler may already have read the store.
func TestMemoryCoalesces(t *testing.T) {
	ctx := t.Context()
	q := queue.NewMemory(queue.MemoryOptions{Partitions: 1})
	defer q.Close()
	if err := q.Publish(ctx, "Patient/1", "Patient/2", "Patient/1"); err != nil {
		t.Fatal(err)
	}
	if d, _ := q.Depth(ctx); d != 2 {
		t.Fatalf("Depth = %d, want 2 after a coalesced repeat", d)
	}
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var got []string
	stop := queuetest.Consume(t, q, func(ctx context.Context, key string) error {
		got = append(got, key) // one partition: handlers never overlap
		started <- struct{}{}
		<-release
		return nil
	})
	<-started // Patient/1 is in the handler
	if err := q.Publish(ctx, "Patient/1"); err != nil {
		t.Fatal(err)
	}
	close(release)
	queuetest.WaitFor(t, 5*time.Second, "Depth 0", func() bool { d, _ := q.Depth(ctx); return d == 0 })
	stop()
	if want := "Patient/1 Patient/2 Patient/1"; strings.Join(got, " ") != want {
		t.Errorf("deliveries %q, want %q", got, want)
	}
}

func BenchmarkPublishConsume(b *testing.B) {
	q := queue.NewMemory(queue.MemoryOptions{})
	defer q.Close()
	queuetest.Benchmark(b, q)
}
