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

func (s *fakeStore) SaveHL7(_ context.Context, recs []mllp.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.recs[[2]string{r.Sender, r.ControlID}] = r
	}
	return nil
}

func (s *fakeStore) FailedHL7(context.Context, int64, int) ([]mllp.Record, error) { return nil, nil }
