package queue_test

import (
	"context"
	"fmt"
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

// Urgent work does not wait for ordinary work, even when every worker is busy with it.
func TestMemoryUrgentWorker(t *testing.T) {
	ctx := t.Context()
	q := queue.NewMemory(queue.MemoryOptions{Partitions: 8, Workers: 1})
	defer q.Close()
	np := q.Partitions()
	slow := "Patient/slow"
	other, critical := "", ""
	for i := 0; other == "" || critical == ""; i++ {
		k := fmt.Sprintf("Patient/k%d", i)
		switch p := queue.Partition(k, np); {
		case p == queue.Partition(slow, np):
		case other == "":
			other = k
		case p != queue.Partition(other, np):
			critical = k
		}
	}
	release := make(chan struct{})
	handled := make(chan string, 10)
	queuetest.Consume(t, q, func(ctx context.Context, key string) error {
		if key == slow {
			<-release
		}
		if queue.IsUrgent(ctx) != (key == critical) {
			t.Errorf("%s: IsUrgent = %v", key, queue.IsUrgent(ctx))
		}
		handled <- key
		return nil
	})
	if err := q.Publish(ctx, slow, other); err != nil {
		t.Fatal(err)
	}
	if err := q.PublishUrgent(ctx, critical); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-handled:
		if k != critical {
			t.Fatalf("first handled %s, want the urgent %s while the only worker is busy", k, critical)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the urgent key waited for the busy worker")
	}
	close(release)
	for _, want := range []string{slow, other} {
		if k := <-handled; k != want {
			t.Errorf("handled %s, want %s", k, want)
		}
	}
}
