package bundle

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// perWorker is the fewest entries worth a goroutine of their own.
const perWorker = 8

// each runs fn(0) … fn(n-1) on up to GOMAXPROCS goroutines. Decoding, checking and hashing a
// Bundle of 100 is 7–8 ms of one core, and the entries are independent: spread over the cores
// it is answered sooner whenever a core is free. A panic in fn is raised again in the caller,
// where the HTTP server's recovery turns it into a 500 instead of a crash.
func each(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/perWorker)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var panicked any
	for range workers {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					once.Do(func() { panicked = p })
				}
			}()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}
