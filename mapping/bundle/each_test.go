package bundle

import (
	"sync/atomic"
	"testing"
)

func TestEachRunsEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, perWorker, 2*perWorker + 1, 1000} {
		counts := make([]atomic.Int32, n)
		each(n, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n=%d: fn(%d) ran %d times", n, i, c)
			}
		}
	}
}

// A panic on another goroutine would take the whole server down; in the caller's it is the
// request's 500.
func TestEachRaisesPanicInCaller(t *testing.T) {
	defer func() {
		if p := recover(); p != "entry 57" {
			t.Fatalf("recovered %v, want the panic of entry 57", p)
		}
	}()
	each(100, func(i int) {
		if i == 57 {
			panic("entry 57")
		}
	})
	t.Fatal("each returned after a panic")
}
