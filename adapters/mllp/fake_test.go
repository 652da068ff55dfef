package mllp_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/bundle"
)

// fakeIntake accepts every Bundle; fakeStore keeps records in memory: for tests of the
// connection handling, where the store is beside the point.
type fakeIntake struct{}

func (fakeIntake) Bundle(context.Context, intake.Source, []byte) (*bundle.Bundle, []intake.Result, error) {
	return &bundle.Bundle{}, nil, nil
}

type fakeStore struct {
	mu   sync.Mutex
	recs map[[2]string]mllp.Record
	next int64
}

func newFakeStore() *fakeStore { return &fakeStore{recs: map[[2]string]mllp.Record{}} }

func (s *fakeStore) HL7Message(_ context.Context, sender, control string) (mllp.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[[2]string{sender, control}]
	if !ok {
		return r, fmt.Errorf("%s: %w", control, store.ErrNotFound)
	}
	return r, nil
}

func (s *fakeStore) ReceiveHL7(_ context.Context, recs []mllp.Record) ([]mllp.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prior := make([]mllp.Record, len(recs))
	for i, r := range recs {
		k := [2]string{r.Sender, r.ControlID}
		if old, ok := s.recs[k]; ok {
			prior[i] = old
			continue
		}
		s.next++
		recs[i].ID = s.next
		s.recs[k] = recs[i]
	}
	return prior, nil
}

func (s *fakeStore) ReceivedHL7(context.Context, int64, int) ([]mllp.Record, error) { return nil, nil }

func (s *fakeStore) SaveHL7(_ context.Context, recs []mllp.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		k := [2]string{r.Sender, r.ControlID}
		if old, ok := s.recs[k]; ok {
			old.Status, old.Ack, old.Error = r.Status, r.Ack, r.Error
			r = old
		}
		s.recs[k] = r
	}
	return nil
}

func (s *fakeStore) FailedHL7(context.Context, int64, int) ([]mllp.Record, error) { return nil, nil }
