package redisq

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lujing-health/lujing/adapters/queue"
)

// lease is a partition this instance owns, and the goroutine consuming it.
type lease struct {
	p      int
	cancel context.CancelFunc
	lost   bool // renewal found another owner (or none): do not renew or release it again
	failed bool // a renewal failed and the partition was told to stop: warn only once
	// validUntil (unix nanos) is when the lease expires at the latest, counted from before
	// the last successful renew was sent. The consuming goroutine checks it before each
	// handler, so a stalled renewal loop cannot let it run on an expired lease.
	validUntil atomic.Int64
}

func (l *lease) valid() bool { return time.Now().UnixNano() < l.validUntil.Load() }

type consumer struct {
	q    *Queue
	h    queue.Handler
	hctx context.Context // for handlers, acks and lease upkeep: not cancelled at shutdown
	// owned is only touched by the goroutine running Consume.
	owned  map[int]*lease
	exited chan int // partition goroutines send their partition here when they return
	// turns bounds the ordinary handlers running at once (Options.Concurrency); nil: unbounded.
	// urgentTurns bounds the urgent ones (Options.UrgentConcurrency).
	turns, urgentTurns chan struct{}
	keys               queue.KeyLocks
}

// Consume takes free partitions (up to MaxPartitions), consumes them and fires due timers,
// until ctx ends or the queue is closed. Then it stops reading, lets the handlers in flight
// finish (their context is not cancelled; their leases stay renewed), releases its leases and
// returns nil. An entry whose handler failed or never ran stays pending in the group, for
// whoever takes the partition next.
func (q *Queue) Consume(ctx context.Context, h queue.Handler) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return queue.ErrClosed
	}
	if q.consuming != nil {
		q.mu.Unlock()
		return errors.New("redisq: Consume already running")
	}
	running := make(chan struct{})
	q.consuming = running
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.consuming = nil
		close(running)
		q.mu.Unlock()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-q.done:
			cancel()
		case <-ctx.Done():
		}
	}()

	c := &consumer{
		q:           q,
		h:           h,
		hctx:        context.WithoutCancel(ctx),
		owned:       make(map[int]*lease),
		exited:      make(chan int, q.opts.Partitions),
		urgentTurns: make(chan struct{}, q.opts.UrgentConcurrency),
	}
	if q.opts.Concurrency > 0 {
		c.turns = make(chan struct{}, q.opts.Concurrency)
	}
	var timers sync.WaitGroup
	timers.Go(func() { c.runTimers(ctx) })

	tick := time.NewTicker(q.opts.RenewEvery)
	defer tick.Stop()
	c.acquire(ctx)
running:
	for {
		select {
		case <-ctx.Done():
			break running
		case p := <-c.exited:
			c.release(p)
		case <-tick.C:
			c.renew()
			c.acquire(ctx)
		}
	}

	for _, l := range c.owned {
		l.cancel()
	}
	for len(c.owned) > 0 {
		select {
		case p := <-c.exited:
			c.release(p)
		case <-tick.C:
			c.renew()
		}
	}
	timers.Wait()
	return nil
}

// acquire takes free partitions up to the cap. It starts at a random partition so replicas
// starting together spread over the partitions rather than race for the same ones.
func (c *consumer) acquire(ctx context.Context) {
	q := c.q
	n := q.opts.Partitions
	start := rand.IntN(n)
	for i := range n {
		if len(c.owned) >= q.opts.MaxPartitions || ctx.Err() != nil {
			return
		}
		p := (start + i) % n
		if c.owned[p] != nil {
			continue
		}
		t0 := time.Now()
		ok, err := acquireScript.Run(ctx, q.rdb, []string{q.leaseKey(p)},
			q.opts.ConsumerID, q.opts.LeaseTTL.Milliseconds()).Int()
		if err != nil {
			if ctx.Err() == nil {
				q.log.Warn("taking partition lease failed", "partition", p, "err", err)
			}
			return
		}
		if ok == 0 {
			continue
		}
		pctx, pcancel := context.WithCancel(ctx)
		l := &lease{p: p, cancel: pcancel}
		l.validUntil.Store(t0.Add(q.opts.LeaseTTL).UnixNano())
		c.owned[p] = l
		q.log.Info("took partition", "partition", p)
		go c.runPartition(pctx, l)
	}
}

// renew extends every owned lease. A partition whose renewal fails, or finds another owner, is
// stopped: better idle for a moment than consumed by two replicas.
func (c *consumer) renew() {
	q := c.q
	for p, l := range c.owned {
		if l.lost {
			continue
		}
		t0 := time.Now()
		ok, err := renewScript.Run(c.hctx, q.rdb, []string{q.leaseKey(p)},
			q.opts.ConsumerID, q.opts.LeaseTTL.Milliseconds()).Int()
		switch {
		case err != nil:
			// Keep trying while the handler in flight finishes, but say it once.
			if !l.failed {
				q.log.Warn("renewing partition lease failed; stopping the partition", "partition", p, "err", err)
				l.failed = true
			}
			l.cancel()
		case ok == 0:
			q.log.Warn("partition lease lost; stopping the partition", "partition", p)
			l.lost = true
			l.validUntil.Store(0)
			l.cancel()
		default:
			l.validUntil.Store(t0.Add(q.opts.LeaseTTL).UnixNano())
		}
	}
}

// release forgets partition p, whose goroutine has returned, and frees its lease.
func (c *consumer) release(p int) {
	q := c.q
	l := c.owned[p]
	delete(c.owned, p)
	l.cancel()
	if l.lost {
		return
	}
	if err := releaseScript.Run(c.hctx, q.rdb, []string{q.leaseKey(p)}, q.opts.ConsumerID).Err(); err != nil {
		// It expires by itself after LeaseTTL.
		q.log.Warn("releasing partition lease failed", "partition", p, "err", err)
		return
	}
	q.log.Info("released partition", "partition", p)
}

// runPartition consumes one owned partition until ctx ends or the lease lapses: first the
// entries left pending by earlier owners, then new ones, in stream order. The urgent lane has
// a reader of its own, so that an urgent entry waits neither for the partition's ordinary
// entries nor for a turn; the two never run handlers for the same key at once (queue.KeyLocks).
func (c *consumer) runPartition(ctx context.Context, l *lease) {
	q := c.q
	defer func() {
		c.dropSelfIfIdle(l.p)
		c.exited <- l.p
	}()
	if err := q.ensureGroup(ctx, l.p); err != nil {
		q.log.Warn("cannot consume partition", "partition", l.p, "err", err)
		return
	}
	c.pruneConsumers(ctx, l.p)
	// Either reader stopping (the lease lost, a claim failed) stops the other.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer stop()
		c.readLane(ctx, l, q.urgent(l.p), true)
	})
	c.readLane(ctx, l, q.stream(l.p), false)
	stop()
	wg.Wait()
}

// readLane consumes one stream of an owned partition: its entries left pending, then new ones.
func (c *consumer) readLane(ctx context.Context, l *lease, stream string, urgent bool) {
	q := c.q
	if !c.claimStale(ctx, l, stream, urgent) {
		return
	}
	failing := false
	for ctx.Err() == nil && l.valid() {
		res, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group:    q.opts.Group,
			Consumer: q.opts.ConsumerID,
			Streams:  []string{stream, ">"},
			Count:    q.opts.BatchSize,
			Block:    q.opts.Block, // positive: BLOCK 0 would wait forever
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue // nothing new within Block
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if isNoGroup(err) { // the stream or group was deleted under us
				if err := q.ensureGroup(ctx, l.p); err == nil {
					continue
				}
			}
			if !failing {
				q.log.Warn("reading partition failed; retrying", "partition", l.p, "urgent", urgent, "err", err)
				failing = true
			}
			if !sleep(ctx, q.opts.RetryBackoff) {
				return
			}
			continue
		}
		if failing {
			q.log.Info("reading partition recovered", "partition", l.p, "urgent", urgent)
			failing = false
		}
		// A key published several times in one batch is handled once: every entry read was
		// published after its messages were stored, so the first handling (after the read)
		// takes them all, and a timer's time has come. The others are acknowledged.
		handled := map[string]bool{}
		for _, s := range res {
			for _, m := range s.Messages {
				k, _ := m.Values["k"].(string)
				if k != "" && handled[k] {
					c.ack(stream, m.ID)
					continue
				}
				if !c.handle(ctx, l, stream, m, urgent) {
					return
				}
				if k != "" {
					handled[k] = true
				}
			}
		}
	}
}

// turn waits for a turn to run a handler of the lane; it reports false if ctx ended first.
func (c *consumer) turn(ctx context.Context, urgent bool) bool {
	turns := c.turns
	if urgent {
		turns = c.urgentTurns
	}
	if turns == nil {
		return true
	}
	select {
	case turns <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// done ends a turn.
func (c *consumer) done(urgent bool) {
	turns := c.turns
	if urgent {
		turns = c.urgentTurns
	}
	if turns != nil {
		<-turns
	}
}

// claimStale takes over, in ID order, the entries of one of the partition's streams that were
// delivered but never acknowledged. Min-idle 0 is right because we hold the lease: their reader
// is gone (or was us, before a restart). It reports whether consuming should go on.
func (c *consumer) claimStale(ctx context.Context, l *lease, stream string, urgent bool) bool {
	q := c.q
	start := "0-0"
	for {
		msgs, next, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream:   stream,
			Group:    q.opts.Group,
			Consumer: q.opts.ConsumerID,
			MinIdle:  0,
			Start:    start,
			Count:    q.opts.BatchSize,
		}).Result()
		if err != nil {
			if ctx.Err() == nil {
				q.log.Warn("claiming pending entries failed", "partition", l.p, "err", err)
			}
			return false
		}
		if len(msgs) > 0 {
			q.log.Info("redelivering entries left pending", "partition", l.p, "count", len(msgs))
		}
		for _, m := range msgs {
			if !c.handle(ctx, l, stream, m, urgent) {
				return false
			}
		}
		if next == "0-0" || next == "" {
			return true
		}
		start = next
	}
}

// handle runs the handler for one entry until it succeeds, then acknowledges it. It reports
// false, leaving the entry pending, if the partition must stop first.
func (c *consumer) handle(ctx context.Context, l *lease, stream string, m redis.XMessage, urgent bool) bool {
	q := c.q
	key, _ := m.Values["k"].(string)
	if key == "" {
		// Trimmed away while pending (Redis < 7 returns it empty) or not ours: drop it.
		c.ack(stream, m.ID)
		return true
	}
	hctx := c.hctx
	if urgent {
		hctx = queue.WithUrgent(hctx)
	}
	if !c.turn(ctx, urgent) {
		return false
	}
	defer c.done(urgent)
	if !c.keys.Lock(ctx, key) {
		return false
	}
	defer c.keys.Unlock(key)
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil || !l.valid() {
			return false
		}
		err := c.h(hctx, key)
		if err == nil {
			c.ack(stream, m.ID)
			return true
		}
		q.log.Warn("handler failed; retrying after backoff", "partition", l.p, "attempt", attempt)
		q.log.Debug("handler error", "partition", l.p, "err", err)
		if !sleep(ctx, q.opts.RetryBackoff) {
			return false
		}
	}
}

func (c *consumer) ack(stream, id string) {
	q := c.q
	if err := q.rdb.XAck(c.hctx, stream, q.opts.Group, id).Err(); err != nil {
		// The entry stays pending and is redelivered when the partition next changes hands:
		// a harmless duplicate.
		q.log.Warn("xack failed", "stream", stream, "err", err)
	}
}

// pruneConsumers deletes from the group the consumers of gone instances: no pending entries
// and idle well past a lease. Each restart of a replica adds a consumer name; without this the
// group would collect them forever.
func (c *consumer) pruneConsumers(ctx context.Context, p int) {
	q := c.q
	for _, st := range []string{q.urgent(p), q.stream(p)} {
		consumers, err := q.rdb.XInfoConsumers(ctx, st, q.opts.Group).Result()
		if err != nil {
			continue // housekeeping only
		}
		for _, x := range consumers {
			if x.Name != q.opts.ConsumerID && x.Pending == 0 && x.Idle > 2*q.opts.LeaseTTL {
				q.rdb.XGroupDelConsumer(ctx, st, q.opts.Group, x.Name)
			}
		}
	}
}

// dropSelfIfIdle removes this instance from partition p's group when it holds no pending entry
// there. It runs after the partition goroutine stopped reading, so nothing can add to it.
func (c *consumer) dropSelfIfIdle(p int) {
	q := c.q
	for _, st := range []string{q.urgent(p), q.stream(p)} {
		consumers, err := q.rdb.XInfoConsumers(c.hctx, st, q.opts.Group).Result()
		if err != nil {
			continue
		}
		for _, x := range consumers {
			if x.Name == q.opts.ConsumerID && x.Pending == 0 {
				q.rdb.XGroupDelConsumer(c.hctx, st, q.opts.Group, x.Name)
			}
		}
	}
}

// runTimers moves due timers to their streams every TimerPoll.
func (c *consumer) runTimers(ctx context.Context) {
	q := c.q
	t := time.NewTicker(q.opts.TimerPoll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := q.pollTimers(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			q.log.Warn("firing timers failed; retrying", "err", err)
			failing = true
		case err == nil && failing:
			q.log.Info("firing timers recovered")
			failing = false
		}
	}
}

// sleep waits d, or less if ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
