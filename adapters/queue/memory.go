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
	// Workers bounds how many partitions are handled at once (default 4), besides the one
	// worker kept for urgent work.
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
//
// Urgent keys bypass the partitions: one more worker takes them from a FIFO of their own, so
// a critical value waits neither behind its partition nor for the other workers. A key is
// never in two handlers at once, whichever lanes brought it.
type Memory struct {
	opts  MemoryOptions
	parts []*memPartition
	// depth counts deliveries published and not yet acknowledged (waiting or in a handler).
	depth atomic.Int64

	// sched guards the partitions' keys and states and the lists.
	sched         sync.Mutex
	ready         []*memPartition // partitions with waiting keys and no worker, in order
	urgent        []string        // urgent keys waiting, in publish order
	urgentWaiting map[string]bool
	keys          KeyLocks
	// wake and wakeUrgent nudge sleeping workers (ordinary, and the urgent one). A worker
	// sleeps only after finding its list empty under sched, and every publish sends a token
	// after releasing it; a full buffer already holds a token for every sleeper.
	wake, wakeUrgent chan struct{}

	mu        sync.Mutex
	timers    map[string]*memTimer
	closed    bool
	done      chan struct{} // closed by Close: stops a running Consume
	consuming chan struct{} // non-nil while Consume runs; closed when it returns
}

type memPartition struct {
	index int

	// Guarded by Memory.sched.
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
		opts:          opts,
		parts:         make([]*memPartition, opts.Partitions),
		urgentWaiting: make(map[string]bool),
		wake:          make(chan struct{}, opts.Workers),
		wakeUrgent:    make(chan struct{}, 1),
		timers:        make(map[string]*memTimer),
		done:          make(chan struct{}),
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
	m.sched.Lock()
	for _, key := range keys {
		m.push(key)
	}
	m.sched.Unlock()
	nudge(m.wake)
	return nil
}

// PublishUrgent enqueues the keys for the urgent worker; a key already waiting there is
// coalesced.
func (m *Memory) PublishUrgent(ctx context.Context, keys ...string) error {
	if m.isClosed() {
		return ErrClosed
	}
	m.sched.Lock()
	for _, key := range keys {
		if !m.urgentWaiting[key] {
			m.urgentWaiting[key] = true
			m.urgent = append(m.urgent, key)
			m.depth.Add(1)
		}
	}
	m.sched.Unlock()
	nudge(m.wakeUrgent)
	return nil
}

// push adds a key to its partition; the caller holds sched.
func (m *Memory) push(key string) {
	p := m.parts[Partition(key, len(m.parts))]
	if p.waiting[key] > 0 {
		return
	}
	p.keys = append(p.keys, key)
	p.waiting[key]++
	m.depth.Add(1)
	if !p.held {
		p.held = true
		m.ready = append(m.ready, p)
	}
}

func nudge(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// take hands an ordinary worker the next key of the first ready partition, which it then
// holds; nil when none is ready. If more are ready it wakes another worker: one publish of
// many keys sends one token, and the workers pass it on.
func (m *Memory) take() (*memPartition, string) {
	m.sched.Lock()
	defer m.sched.Unlock()
	if len(m.ready) == 0 {
		return nil, ""
	}
	p := m.ready[0]
	m.ready[0] = nil
	m.ready = m.ready[1:]
	if len(m.ready) > 0 {
		nudge(m.wake)
	}
	key := p.keys[0]
	p.keys[0] = ""
	p.keys = p.keys[1:]
	if p.waiting[key]--; p.waiting[key] == 0 {
		delete(p.waiting, key)
	}
	return p, key
}

// takeUrgent hands the urgent worker the next urgent key, "" when none waits.
func (m *Memory) takeUrgent() string {
	m.sched.Lock()
	defer m.sched.Unlock()
	if len(m.urgent) == 0 {
		return ""
	}
	key := m.urgent[0]
	m.urgent[0] = ""
	m.urgent = m.urgent[1:]
	delete(m.urgentWaiting, key)
	return key
}

// Schedule publishes key at at. A timer with the same id is replaced; a time not in the future
// publishes at once.
func (m *Memory) Schedule(ctx context.Context, id, key string, at time.Time) error {
	return m.schedule(id, key, at, m.Publish)
}

// ScheduleUrgent is Schedule into the urgent lane.
func (m *Memory) ScheduleUrgent(ctx context.Context, id, key string, at time.Time) error {
	return m.schedule(id, key, at, m.PublishUrgent)
}

func (m *Memory) schedule(id, key string, at time.Time, publish func(context.Context, ...string) error) error {
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
		return publish(context.Background(), key)
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
		publish(context.Background(), key)
	})
	m.timers[id] = e
	m.mu.Unlock()
	return nil
}

// Consume runs h with Workers workers, and one more for urgent work only, until ctx ends or
// the queue is closed, then waits for the handlers in flight. Handlers get a context that is
// not cancelled with ctx, so the work in flight completes (bound it in the handler if needed).
// A stop is not an error: Consume then returns nil. Work still waiting stays queued for a
// later Consume.
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
		wg.Go(func() { m.work(ctx, hctx, h, false) })
	}
	wg.Go(func() { m.work(ctx, hctx, h, true) })
	wg.Wait()
	return nil
}

func (m *Memory) work(ctx, hctx context.Context, h Handler, urgent bool) {
	wake := m.wake
	if urgent {
		wake = m.wakeUrgent
	}
	for {
		if ctx.Err() != nil || m.isClosed() {
			return
		}
		if urgent {
			if key := m.takeUrgent(); key != "" {
				m.handleUrgent(hctx, key, h)
				continue
			}
		} else if p, key := m.take(); p != nil {
			m.handle(hctx, p, key, h)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-m.done:
			return
		case <-wake:
		}
	}
}

// handle runs h for key, taken from p, which the caller holds.
func (m *Memory) handle(ctx context.Context, p *memPartition, key string, h Handler) {
	m.keys.Lock(context.Background(), key)
	err := h(ctx, key)
	m.keys.Unlock(key)
	if err != nil {
		// Put the key back in front so it is retried before the later keys of its partition,
		// and keep holding p through the backoff so nobody takes those meanwhile.
		m.opts.Logger.Warn("queue: handler failed, redelivering after backoff",
			"partition", p.index, "backoff", m.opts.RetryBackoff)
		m.opts.Logger.Debug("queue: handler error", "partition", p.index, "err", err)
		m.sched.Lock()
		p.keys = append([]string{key}, p.keys...)
		p.waiting[key]++
		m.sched.Unlock()
		time.AfterFunc(m.opts.RetryBackoff, func() {
			m.sched.Lock()
			m.ready = append(m.ready, p)
			m.sched.Unlock()
			nudge(m.wake)
		})
		return
	}
	m.depth.Add(-1)
	m.sched.Lock()
	if len(p.keys) > 0 {
		m.ready = append(m.ready, p)
	} else {
		p.held = false
	}
	m.sched.Unlock()
}

// handleUrgent runs h for an urgent key; a failure puts it back at the end of the urgent lane
// after the backoff.
func (m *Memory) handleUrgent(ctx context.Context, key string, h Handler) {
	m.keys.Lock(context.Background(), key)
	err := h(WithUrgent(ctx), key)
	m.keys.Unlock(key)
	m.depth.Add(-1)
	if err != nil {
		m.opts.Logger.Warn("queue: urgent handler failed, redelivering after backoff", "backoff", m.opts.RetryBackoff)
		m.opts.Logger.Debug("queue: handler error", "err", err)
		time.AfterFunc(m.opts.RetryBackoff, func() { m.PublishUrgent(context.Background(), key) })
	}
}

// Depth counts deliveries published and not yet acknowledged: waiting, backing off after a
// failure, or in a handler. Coalesced repeats count once per lane; timers are not counted.
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
