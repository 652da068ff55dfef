// Package queue declares how work reaches the worker and holds the in-process implementation,
// the default when no Redis is configured.
//
// Work is a patient key ("Patient/123"): "this patient has stored messages to process". The
// store is the truth; the worker reads the patient's pending messages from it in arrival order.
// That makes delivery cheap to repeat: a queue may deliver a key twice, or lose it (the relay
// re-publishes from the store), but it must never run two handlers of one key at the same
// time, so one patient's work is applied in order. Ordinary keys go further: one handler per
// partition at a time, which bounds the work in flight; urgent keys (PublishUrgent) skip that.
package queue

import (
	"context"
	"hash/fnv"
	"time"
)

// Handler processes the work for one key. A nil return acknowledges the delivery; an error
// leaves it to be delivered again.
type Handler func(ctx context.Context, key string) error

// Queue carries work keys and timers.
type Queue interface {
	// Publish enqueues work for a key. It returns once the queue holds it.
	Publish(ctx context.Context, keys ...string) error
	// PublishUrgent enqueues work that must not wait behind ordinary work: a possible
	// critical value, whose clinician is waiting. An urgent key is handled at once, beside
	// the ordinary work of its partition and of the others, but never beside a handler of
	// the same key; the handler's context answers true to IsUrgent. Ordering per patient is
	// unaffected: a delivery reads all of the key's stored messages, in arrival order,
	// whichever lane brought it.
	PublishUrgent(ctx context.Context, keys ...string) error
	// Schedule publishes key at (or soon after) at. Scheduling the same id again replaces
	// the earlier timer. A time in the past fires at once.
	Schedule(ctx context.Context, id, key string, at time.Time) error
	// ScheduleUrgent is Schedule for a key then delivered as by PublishUrgent: a critical
	// value's escalation must not wait behind a backlog either. Ids are shared with Schedule.
	ScheduleUrgent(ctx context.Context, id, key string, at time.Time) error
	// Consume runs h for delivered keys until ctx ends, then waits for handlers in flight.
	// Ordinary keys of one partition are handled one at a time, in order; urgent keys
	// beside them (see PublishUrgent).
	Consume(ctx context.Context, h Handler) error
	// Depth is the number of deliveries waiting (not yet handled), timers excluded.
	Depth(ctx context.Context) (int64, error)
	Ping(ctx context.Context) error
	Close() error
}

type urgentKey struct{}

// WithUrgent marks a handler's context as delivering urgent work.
func WithUrgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, true)
}

// IsUrgent reports whether the handler's key came through PublishUrgent, so that the handler
// can skip limits meant to keep ordinary work from crowding out the intake.
func IsUrgent(ctx context.Context) bool {
	u, _ := ctx.Value(urgentKey{}).(bool)
	return u
}

// Partition maps a key to one of n partitions; every implementation uses it so that a key's
// partition does not depend on the queue behind it.
func Partition(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}
