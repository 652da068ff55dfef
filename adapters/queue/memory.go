package queue

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by a queue's methods after Close.
var ErrClosed = errors.New("queue closed")

// errConsuming is returned when Consume is called while another Consume runs on the same queue.
var errConsuming = errors.New("queue: Consume already running")

// MemoryOptions configure NewMemory. A zero field takes its default.
type MemoryOptions struct {
	// Partitions is the number of partitions keys are spread over (default 16).
	Partitions int
	// Workers bounds how many partitions are handled at once (default 4).
	Workers int
	// RetryBackoff is how long a partition waits before redelivering a key whose handler
	// failed (default 500ms).
	RetryBackoff time.Duration
	// Logger receives retry warnings (default slog.Default()). Keys are never logged.
	Logger *slog.Logger
}

func (o MemoryOptions) withDefaults() MemoryOptions {
	if o.Partitions <= 0 {
		o.Partitions = 16
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 500 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Memory is the in-process queue: partitions are FIFO lists handed to a pool of workers, timers
// are time.AfterFunc. Nothing survives a restart; the store's relay republishes what was lost.
type Memory struct {
	opts  MemoryOptions
	parts []*memPartition
	// ready holds the partitions that have work and no worker. A partition is in it at most
	// once (see memPartition.held), so its capacity of len(parts) means a send never blocks.
	ready chan *memPartition
	// depth counts deliveries published and not yet acknowledged (waiting or in a handler).
	depth atomic.Int64

	mu        sync.Mutex
	timers    map[string]*memTimer
	closed    bool
	done      chan struct{} // closed by Close: stops a running Consume
	consuming chan struct{} // non-nil while Consume runs; closed when it returns
}

type memPartition struct {
	index int

	mu      sync.Mutex
	keys    []string       // waiting keys, in publish order
	waiting map[string]int // occurrences of each key in keys, to coalesce repeats
	// held is true while the partition is in ready, in a worker's hands or backing off after
	// a failure. Whoever holds it is the only one to take its next key, which is what keeps
	// one handler at a time per partition, in order.
	held bool
}

type memTimer struct{ t *time.Timer }

var _ Queue = (*Memory)(nil)

// NewMemory returns an in-process queue.
func NewMemory(opts MemoryOptions) *Memory {
	opts = opts.withDefaults()
	m := &Memory{
		opts:   opts,
		parts:  make([]*memPartition, opts.Partitions),
		ready:  make(chan *memPartition, opts.Partitions),
		timers: make(map[string]*memTimer),
		done:   make(chan struct{}),
	}
	for i := range m.parts {
		m.parts[i] = &memPartition{index: i, waiting: make(map[string]int)}
	}
	return m
}

// Partitions reports the number of partitions keys are spread over.
func (m *Memory) Partitions() int { return m.opts.Partitions }

func (m *Memory) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Publish enqueues the keys. A key already waiting (not yet in a handler) in its partition is
// coalesced: the one delivery will read everything the store holds for it.
func (m *Memory) Publish(ctx context.Context, keys ...string) error {
	if m.isClosed() {
		return ErrClosed
	}
	for _, key := range keys {
		m.push(key)
	}
	return nil
}

func (m *Memory) push(key string) {
	p := m.parts[Partition(key, len(m.parts))]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiting[key] > 0 {
		return
	}
	p.keys = append(p.keys, key)
	p.waiting[key]++
	m.depth.Add(1)
	if !p.held {
		p.held = true
		m.ready <- p
	}
}

// Schedule publishes key at at. A timer with the same id is replaced; a time not in the future
// publishes at once.
func (m *Memory) Schedule(ctx context.Context, id, key string, at time.Time) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if old := m.timers[id]; old != nil {
		old.t.Stop()
		delete(m.timers, id)
	}
	d := time.Until(at)
	if d <= 0 {
		m.mu.Unlock()
		return m.Publish(ctx, key)
	}
	e := &memTimer{}
	// The callback takes m.mu, which we hold until e is registered, so it always sees e or
	// its replacement. A replaced timer whose Stop came too late finds another entry under
	// its id and does nothing: a replaced timer never fires.
	e.t = time.AfterFunc(d, func() {
		m.mu.Lock()
		if m.timers[id] != e || m.closed {
			m.mu.Unlock()
			return
		}
		delete(m.timers, id)
		m.mu.Unlock()
		m.push(key)
	})
	m.timers[id] = e
	m.mu.Unlock()
	return nil
}

// Consume runs h with Workers workers until ctx ends or the queue is closed, then waits for
// the handlers in flight. Handlers get a context that is not cancelled with ctx, so the work
// in flight completes (bound it in the handler if needed). A stop is not an error: Consume
// then returns nil. Work still waiting stays queued for a later Consume.
func (m *Memory) Consume(ctx context.Context, h Handler) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if m.consuming != nil {
		m.mu.Unlock()
		return errConsuming
	}
	running := make(chan struct{})
	m.consuming = running
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.consuming = nil
		close(running)
		m.mu.Unlock()
	}()

	hctx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for range m.opts.Workers {
		wg.Go(func() { m.work(ctx, hctx, h) })
	}
	wg.Wait()
	return nil
}

func (m *Memory) work(ctx, hctx context.Context, h Handler) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.done:
			return
		case p := <-m.ready:
			// select picks at random among ready cases: do not start new work once stopping.
			if ctx.Err() != nil || m.isClosed() {
				m.ready <- p // still held, hand it back for a later Consume
				return
			}
			m.handleNext(hctx, p, h)
		}
	}
}

// handleNext runs h for the first key of p, which the caller holds.
func (m *Memory) handleNext(ctx context.Context, p *memPartition, h Handler) {
	p.mu.Lock()
	key := p.keys[0]
	p.keys[0] = ""
	p.keys = p.keys[1:]
	if p.waiting[key]--; p.waiting[key] == 0 {
		delete(p.waiting, key)
	}
	p.mu.Unlock()

	if err := h(ctx, key); err != nil {
		// Put the key back in front so it is retried before the later keys of its partition,
		// and keep holding p through the backoff so nobody takes those meanwhile.
		m.opts.Logger.Warn("queue: handler failed, redelivering after backoff",
			"partition", p.index, "backoff", m.opts.RetryBackoff)
		m.opts.Logger.Debug("queue: handler error", "partition", p.index, "err", err)
		p.mu.Lock()
		p.keys = append([]string{key}, p.keys...)
		p.waiting[key]++
		p.mu.Unlock()
		time.AfterFunc(m.opts.RetryBackoff, func() { m.ready <- p })
		return
	}

	m.depth.Add(-1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.keys) > 0 {
		m.ready <- p
	} else {
		p.held = false
	}
}

// Depth counts deliveries published and not yet acknowledged: waiting, backing off after a
// failure, or in a handler. Coalesced repeats count once; timers are not counted.
func (m *Memory) Depth(ctx context.Context) (int64, error) {
	return m.depth.Load(), nil
}

// Ping reports whether the queue is open.
func (m *Memory) Ping(ctx context.Context) error {
	if m.isClosed() {
		return ErrClosed
	}
	return nil
}

// Close drops pending timers, stops a running Consume and waits for it to return. The
// deliveries still waiting are lost, by design: the store's relay republishes them.
func (m *Memory) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	for id, e := range m.timers {
		e.t.Stop()
		delete(m.timers, id)
	}
	running := m.consuming
	m.mu.Unlock()
	if running != nil {
		<-running
	}
	return nil
}
