// Package worker applies stored messages: for a patient key delivered by the queue it reads
// the patient's received messages from the store in arrival order, hands each to the mapper and
// records the verdict (processed, failed with the reason, or parked) with the events, so that no
// message is ever in an unknown state. The store's conditional completion makes a message apply
// at most once however often a key is delivered.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping"
)

// Store is what the worker needs of the store.
type Store interface {
	Pending(ctx context.Context, patientKey string, limit int) ([]store.Message, error)
	CompleteAll(ctx context.Context, cs []store.Completion) ([]bool, error)
	Unpark(ctx context.Context, refs []string) ([]string, error)
	Requeue(ctx context.Context, ids []int64) ([]string, error)
	Resource(ctx context.Context, typ, id string) (store.Resource, error)
	PriorBody(ctx context.Context, typ, id string, version int) ([]byte, error)
}

// Publisher tells the queue that parked work can go on.
type Publisher interface {
	Publish(ctx context.Context, keys ...string) error
}

// Worker handles delivered keys.
type Worker struct {
	store   Store
	mapper  mapping.Mapper
	queue   Publisher
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	batch   int
	after   func(ctx context.Context, key string, messages int, kinds []string) error
}

// Options configure a Worker.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	Batch      int       // messages read from the store and completed at a time, default 100
	Queue      Publisher // where unparked work is published; nil: the relay finds it later
	// After runs once the key's received messages are applied, and also when a delivery found
	// none (a timer): the clinical cores. It is told how many messages were applied and the
	// kinds of the events they produced. An error leaves the key to be delivered again.
	After func(ctx context.Context, key string, messages int, kinds []string) error
}

// New returns a worker.
func New(st Store, m mapping.Mapper, opts Options) *Worker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	return &Worker{store: st, mapper: m, queue: opts.Queue, log: opts.Logger, now: opts.Now,
		metrics: newMetrics(opts.Registerer), batch: opts.Batch, after: opts.After}
}

// Handle processes every received message of the key, oldest first, and records the verdicts
// of each batch in one transaction. It is a queue.Handler. An error (the store unreachable)
// leaves the key to be delivered again; a mapping failure is not an error here: it is recorded
// on the message. How many keys are handled at once is the queue's to bound (its consumers'
// concurrency), since it can keep urgent work from waiting behind that bound.
func (w *Worker) Handle(ctx context.Context, key string) error {
	start := time.Now()
	defer func() { w.metrics.handle.Observe(time.Since(start).Seconds()) }()
	// One patient's messages read the same Patient and Encounter again and again.
	ctx = withCache(ctx)
	applied := 0
	var kinds []string
	for {
		msgs, err := w.store.Pending(ctx, key, w.batch)
		if err != nil {
			w.metrics.errors.Inc()
			return fmt.Errorf("read pending messages: %w", err)
		}
		if len(msgs) == 0 {
			break
		}
		mapStart := w.now()
		cs := make([]store.Completion, 0, len(msgs))
		for _, m := range msgs {
			c, err := w.verdict(ctx, m)
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		done, err := w.store.CompleteAll(ctx, cs)
		if err != nil {
			w.metrics.errors.Inc()
			return fmt.Errorf("complete %d messages: %w", len(cs), err)
		}
		var arrived []string
		var recheck []int64
		for i, c := range cs {
			if !done[i] {
				continue // another worker got there first
			}
			if c.Status == store.StatusParked && w.arrivedSince(ctx, c.Needs, mapStart) {
				recheck = append(recheck, c.MessageID)
			}
			m := msgs[i]
			w.metrics.messages.WithLabelValues(string(c.Status), m.Type).Inc()
			for _, u := range c.Unmapped {
				w.metrics.unmapped.WithLabelValues(m.Source, u.System).Inc()
			}
			w.metrics.lag.Observe(w.now().Sub(m.ReceivedAt).Seconds())
			if c.Status == store.StatusProcessed {
				arrived = append(arrived, m.Type+"/"+m.ResourceID)
				applied++
				for _, e := range c.Events {
					if !slices.Contains(kinds, e.Kind) {
						kinds = append(kinds, e.Kind)
					}
				}
			}
		}
		if err := w.unpark(ctx, arrived); err != nil {
			return err
		}
		if err := w.requeue(ctx, recheck); err != nil {
			return err
		}
		if len(msgs) < w.batch {
			break
		}
	}
	if w.after != nil {
		if err := w.after(ctx, key, applied, kinds); err != nil {
			w.metrics.errors.Inc()
			return fmt.Errorf("after %s: %w", key, err)
		}
	}
	return nil
}

// arrivedSince reports whether a resource a parked message needs was stored after its mapping
// began: its arrival may have been processed, and found nothing to unpark, before the park was
// recorded — a lost wake-up. Resources stored before the mapping began do not count, so a
// mapper that parks on a resource it could read cannot loop.
func (w *Worker) arrivedSince(ctx context.Context, needs []string, t time.Time) bool {
	for _, n := range needs {
		typ, id, ok := strings.Cut(n, "/")
		if !ok {
			continue
		}
		r, err := w.store.Resource(ctx, typ, id)
		if err == nil && !r.Deleted && !r.LastUpdated.Before(t) {
			return true
		}
	}
	return false
}

func (w *Worker) requeue(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	keys, err := w.store.Requeue(ctx, ids)
	if err != nil {
		w.metrics.errors.Inc()
		return fmt.Errorf("requeue parked messages whose dependency arrived: %w", err)
	}
	if w.queue != nil && len(keys) > 0 {
		if err := w.queue.Publish(ctx, keys...); err != nil {
			w.log.Warn("publishing requeued work failed; the relay will", "keys", len(keys), "err", err)
		}
	}
	return nil
}

// unpark makes received again what waited for the resources just processed.
func (w *Worker) unpark(ctx context.Context, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	keys, err := w.store.Unpark(ctx, refs)
	if err != nil {
		w.metrics.errors.Inc()
		return fmt.Errorf("unpark: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	w.metrics.unparked.Add(float64(len(keys)))
	if w.queue != nil {
		if err := w.queue.Publish(ctx, keys...); err != nil {
			w.log.Warn("publishing unparked work failed; the relay will", "keys", len(keys), "err", err)
		}
	}
	return nil
}

func (w *Worker) verdict(ctx context.Context, m store.Message) (store.Completion, error) {
	in := mapping.Input{Type: m.Type, ID: m.ResourceID, Version: m.VersionID, Body: m.Body,
		Deleted: m.Deleted, Source: m.Source, Hospital: m.Hospital}
	if m.Deleted {
		// The mapper withdraws what the deleted resource stated, so it is given that content.
		body, err := w.store.PriorBody(ctx, m.Type, m.ResourceID, m.VersionID)
		switch {
		case err == nil:
			in.Body = body
		case !errors.Is(err, store.ErrNotFound): // a delete of something never seen maps to nothing
			return store.Completion{}, fmt.Errorf("read what message %d deletes: %w", m.ID, err)
		}
	}
	c := store.Completion{MessageID: m.ID, Status: store.StatusProcessed}
	res, err := w.mapSafely(ctx, in)
	var missing *mapping.MissingError
	switch {
	case err == nil:
		rank := m.ReceivedAt.UnixMicro()
		if !m.SourceUpdated.IsZero() {
			rank = m.SourceUpdated.UnixMicro()
		}
		for _, e := range res.Events {
			c.Events = append(c.Events, store.Event{Key: e.Key, Version: rank, Kind: e.Kind, Patient: e.Patient, Encounter: e.Encounter,
				Hospital: e.Hospital, Source: e.Source, At: e.At.UTC(), Resource: e.Resource, Data: e.Data})
		}
		for _, u := range res.Unmapped {
			c.Unmapped = append(c.Unmapped, store.Code{System: u.System, Code: u.Code, Display: u.Display})
		}
		c.Flags = res.Flags
	case ctx.Err() != nil:
		return c, ctx.Err()
	case errors.As(err, &missing):
		c.Status, c.Error, c.Needs = store.StatusParked, err.Error(), missing.Needs
	default:
		c.Status, c.Error = store.StatusFailed, err.Error()
		// The resource type and the reason only: the reason names elements, never values.
		w.log.Warn("mapping failed", "message", m.ID, "type", m.Type, "err", err)
	}
	return c, nil
}

// mapSafely turns a mapper panic into a failed message: one malformed resource must not stop
// the worker for every patient behind it.
func (w *Worker) mapSafely(ctx context.Context, in mapping.Input) (res mapping.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("mapping %s panicked: %v", in.Type, p)
		}
	}()
	return w.mapper.Map(ctx, in)
}

// Backlog is what the relay needs of the store.
type Backlog interface {
	Backlog(ctx context.Context, before time.Time, limit int) ([]string, error)
}

// Relay re-publishes work the queue may have lost — a Redis flush or restart, an in-process
// queue after a crash, a publish that failed after the store committed — by reading received
// messages from the store, the truth. Keys published twice are harmless.
type Relay struct {
	Store    Backlog
	Queue    Publisher
	Log      *slog.Logger
	Interval time.Duration // between scans, default 10s
	MinAge   time.Duration // only messages older than this are republished, default 30s
}

// Run scans once at once (everything received, whatever its age: after a restart nothing is
// in flight) and then every Interval until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	if r.Interval <= 0 {
		r.Interval = 10 * time.Second
	}
	if r.MinAge <= 0 {
		r.MinAge = 30 * time.Second
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
	if _, err := r.Scan(ctx, time.Now()); err != nil && ctx.Err() == nil {
		r.Log.Warn("relay scan failed", "err", err)
	}
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := r.Scan(ctx, time.Now().Add(-r.MinAge)); err != nil && ctx.Err() == nil {
				r.Log.Warn("relay scan failed", "err", err)
			}
		}
	}
}

// Scan republishes the keys of messages received before the given time and returns how many.
func (r *Relay) Scan(ctx context.Context, before time.Time) (int, error) {
	const page = 1000
	keys, err := r.Store.Backlog(ctx, before, page)
	if err != nil {
		return 0, fmt.Errorf("read backlog: %w", err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	if err := r.Queue.Publish(ctx, keys...); err != nil {
		return 0, fmt.Errorf("republish %d keys: %w", len(keys), err)
	}
	if len(keys) == page {
		r.Log.Info("relay republished a full page; the rest follows on the next scan", "keys", len(keys))
	}
	return len(keys), nil
}

// Resources serves the mapper the current version of stored resources.
type Resources struct {
	Store interface {
		Resource(ctx context.Context, typ, id string) (store.Resource, error)
	}
}

// Get implements mapping.Resources. Within one Handle call a resource is read once: what a
// patient's batch depends on was stored before the batch was read.
func (r Resources) Get(ctx context.Context, typ, id string) ([]byte, bool, error) {
	c, _ := ctx.Value(cacheKey{}).(*resourceCache)
	ref := typ + "/" + id
	if c != nil {
		if e, ok := c.m[ref]; ok {
			return e.body, e.ok, nil
		}
	}
	res, err := r.Store.Resource(ctx, typ, id)
	var e cached
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, false, fmt.Errorf("read %s/%s: %w", typ, id, err)
	case !res.Deleted:
		e = cached{res.Body, true}
	}
	if c != nil && e.ok {
		// Only what exists is remembered: a missing one may arrive during the batch, and
		// the lost-wake-up check relies on reading it fresh.
		c.m[ref] = e
	}
	return e.body, e.ok, nil
}

type cacheKey struct{}

type cached struct {
	body []byte
	ok   bool
}

// resourceCache is used by one Handle call, which maps its messages one at a time.
type resourceCache struct{ m map[string]cached }

func withCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, cacheKey{}, &resourceCache{m: map[string]cached{}})
}
