package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

// slowStore takes a while per call, so that concurrent requests pile up behind a commit, and
// refuses any call that contains the resource "bad".
type slowStore struct {
	mu    sync.Mutex
	calls []int
}

func (s *slowStore) Accept(_ context.Context, in []store.Incoming) ([]store.Result, error) {
	time.Sleep(5 * time.Millisecond)
	s.mu.Lock()
	s.calls = append(s.calls, len(in))
	s.mu.Unlock()
	out := make([]store.Result, len(in))
	for i, e := range in {
		if e.ID == "bad" {
			return nil, errors.New("constraint violated")
		}
		out[i] = store.Result{MessageID: int64(i + 1), VersionID: 1, Outcome: store.OutcomeCreated}
	}
	return out, nil
}

func (s *slowStore) LookupIdentifier(context.Context, string, store.Identifier) (string, error) {
	return "", store.ErrNotFound
}

func TestCommitsGroupConcurrentRequestsAndIsolateFailures(t *testing.T) {
	st := &slowStore{}
	in := New(st, nil, Options{})
	defer in.Close()
	const n = 40
	errs := make([]error, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		ids[i] = fmt.Sprintf("p%d", i)
		if i == 17 {
			ids[i] = "bad"
		}
		wg.Go(func() {
			res, err := in.Resource(context.Background(), Source{System: "his"}, "Patient", ids[i],
				[]byte(`{"resourceType":"Patient","id":"`+ids[i]+`"}`))
			if err == nil && (res.ID != ids[i] || res.Status != 201) {
				err = fmt.Errorf("got %s %d", res.ID, res.Status)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (ids[i] == "bad") {
			t.Errorf("request %s: %v", ids[i], err)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	grouped := false
	for _, c := range st.calls {
		grouped = grouped || c > 1
	}
	if !grouped {
		t.Errorf("no two requests shared a commit: calls %v", st.calls)
	}
}
