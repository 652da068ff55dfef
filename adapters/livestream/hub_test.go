package livestream

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestWaitWakesOnPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(3)
		if n, err := h.Wait(t.Context(), 2); n != 3 || err != nil {
			t.Fatalf("wait behind head: %d %v", n, err)
		}
		got := make(chan int64, 2)
		for range 2 {
			go func() {
				n, _ := h.Wait(context.Background(), 3)
				got <- n
			}()
		}
		synctest.Wait()
		if len(got) != 0 {
			t.Fatal("woke without an event")
		}
		h.Published(2) // behind: no wake
		synctest.Wait()
		if len(got) != 0 {
			t.Fatal("woke on an older position")
		}
		h.Published(5)
		if a, b := <-got, <-got; a != 5 || b != 5 {
			t.Fatalf("woke with %d %d", a, b)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := h.Wait(ctx, 5); err == nil {
			t.Fatal("wait past deadline returned no error")
		}
	})
}

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(0)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var stored atomic.Int64
		go h.Poll(ctx, 500*time.Millisecond, func(context.Context) (int64, error) { return stored.Load(), nil })
		stored.Store(7) // another replica stored events
		start := time.Now()
		if n, _ := h.Wait(t.Context(), 0); n != 7 {
			t.Fatalf("head %d", n)
		}
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Fatalf("noticed after %v, want one poll interval", d)
		}
	})
}
