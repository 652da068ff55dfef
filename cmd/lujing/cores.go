package main

import (
	"context"
	"log/slog"

	"github.com/lujing-health/lujing/adapters/clinical"
	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/sqlstore"
)

// notifiers tells every listener that stream events were stored.
type notifiers []interface{ Published(int64) }

func (n notifiers) Published(last int64) {
	for _, x := range n {
		x.Published(last)
	}
}

// newRunner builds the clinical cores from their configuration and the runner that drives
// them after the worker.
func newRunner(ctx context.Context, st *sqlstore.Store, q queue.Queue, note clinical.Notifier, log *slog.Logger) (*clinical.Runner, error) {
	var cores []clinical.Named
	return clinical.New(st, cores, clinical.Options{Scheduler: q, Notifier: note, Logger: log}), nil
}
