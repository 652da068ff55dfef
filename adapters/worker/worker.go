// Package worker applies stored messages: for a patient key delivered by the queue it reads
// the patient's received messages from the store in arrival order, hands each to the mapper and
// records the verdict (processed, failed with the reason, or parked) with the events, so that no
// message is ever in an unknown state. The store's conditional completion makes a message apply
// at most once however often a key is delivered.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping"
)

// Store is what the worker needs of the store.
type Store interface {
	Pending(ctx context.Context, patientKey string, limit int) ([]store.Message, error)
	Complete(ctx context.Context, c store.Completion) (bool, error)
}

// Worker handles delivered keys.
type Worker struct {
	store   Store
	mapper  mapping.Mapper
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	batch   int
}

// Options configure a Worker.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	Batch      int // messages read from the store at a time, default 100
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
	return &Worker{store: st, mapper: m, log: opts.Logger, now: opts.Now, metrics: newMetrics(opts.Registerer), batch: opts.Batch}
}

// Handle processes every received message of the key, oldest first. It is a queue.Handler.
// An error (the store unreachable) leaves the key to be delivered again; a mapping failure is
// not an error here: it is recorded on the message.
func (w *Worker) Handle(ctx context.Context, key string) error {
	for {
		msgs, err := w.store.Pending(ctx, key, w.batch)
		if err != nil {
			w.metrics.errors.Inc()
			return fmt.Errorf("read pending messages: %w", err)
		}
		for _, m := range msgs {
			if err := w.process(ctx, m); err != nil {
				w.metrics.errors.Inc()
				return err
			}
		}
		if len(msgs) < w.batch {
			return nil
		}
	}
}

func (w *Worker) process(ctx context.Context, m store.Message) error {
	in := mapping.Input{Type: m.Type, ID: m.ResourceID, Version: m.VersionID, Body: m.Body,
		Deleted: m.Deleted, Source: m.Source, Hospital: m.Hospital}
	c := store.Completion{MessageID: m.ID, Status: store.StatusProcessed}
	res, err := w.mapSafely(ctx, in)
	switch {
	case err == nil:
		for _, e := range res.Events {
			c.Events = append(c.Events, store.Event{Kind: e.Kind, Patient: e.Patient, Encounter: e.Encounter,
				Hospital: e.Hospital, Source: e.Source, At: e.At.UTC(), Resource: e.Resource, Data: e.Data})
		}
	case ctx.Err() != nil:
		return ctx.Err()
	case mapping.IsMissing(err):
		c.Status, c.Error = store.StatusParked, err.Error()
	default:
		c.Status, c.Error = store.StatusFailed, err.Error()
		// The resource type and the reason only: the reason names elements, never values.
		w.log.Warn("mapping failed", "message", m.ID, "type", m.Type, "err", err)
	}
	done, err := w.store.Complete(ctx, c)
	if err != nil {
		return fmt.Errorf("complete message %d: %w", m.ID, err)
	}
	if done {
		w.metrics.messages.WithLabelValues(string(c.Status), m.Type).Inc()
		w.metrics.lag.Observe(w.now().Sub(m.ReceivedAt).Seconds())
	}
	return nil
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

// Publisher is what the relay needs of the queue.
type Publisher interface {
	Publish(ctx context.Context, keys ...string) error
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
