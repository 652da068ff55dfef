package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/worker"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/grading"
	"github.com/lujing-health/lujing/mapping/resource"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
)

// liveMapper is the clinical mapper rebuilt whenever an administrator changes a code map, so
// that a replay after the fix maps with the new map. Messages in flight finish with the map
// they started with.
type liveMapper struct {
	st  *sqlstore.Store
	cur atomic.Pointer[mapping.Clinical]
}

func newLiveMapper(ctx context.Context, st *sqlstore.Store) (*liveMapper, error) {
	l := &liveMapper{st: st}
	return l, l.Reload(ctx)
}

// Reload rebuilds the mapper from the code maps in force.
func (l *liveMapper) Reload(ctx context.Context) error {
	maps, err := httpapi.CodeMaps(ctx, l.st)
	if err != nil {
		return err
	}
	profiles, err := profile.Defaults()
	if err != nil {
		return fmt.Errorf("source profiles: %w", err)
	}
	grades, err := grading.Example()
	if err != nil {
		return fmt.Errorf("surgery grading catalogue: %w", err)
	}
	m, err := mapping.New(worker.Resources{Store: l.st}, mapping.Options{Profiles: profiles, CodeMaps: maps, Grades: grades})
	if err != nil {
		return fmt.Errorf("build mapper: %w", err)
	}
	l.cur.Store(m)
	return nil
}

func (l *liveMapper) Map(ctx context.Context, in mapping.Input) (mapping.Result, error) {
	return l.cur.Load().Map(ctx, in)
}

var _ mapping.Mapper = (*liveMapper)(nil)

// triage picks, at the intake, the results the critical-value core may act on: their
// patients' work goes through the queue's urgent lane, so that a critical potassium does not
// wait behind the rest of a busy hour's traffic. Only results and reports can be; a result
// that cannot be previewed waits in the ordinary lane for the worker to record why.
func (l *liveMapper) triage(cv *criticalvalue.Engine) intake.Triage {
	return func(src intake.Source, typ, id string, version int, r *resource.Resource) bool {
		if typ != "Observation" && typ != "DiagnosticReport" {
			return false
		}
		if r == nil {
			return true // a delete: it may withdraw a critical value
		}
		res, err := l.cur.Load().Preview(mapping.Input{Type: typ, ID: id, Version: version, Body: r.Raw,
			Source: src.System, Hospital: src.Hospital}, r)
		return err == nil && cv.Suspect(res.Events)
	}
}
