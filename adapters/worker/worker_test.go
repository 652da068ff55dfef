package worker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/worker"
	"github.com/lujing-health/lujing/mapping"
)

// scripted maps by resource id: "fail" fails, "park" parks, "panic" panics, else one event.
type scripted struct {
	mu   sync.Mutex
	seen []string
}

func (s *scripted) Map(_ context.Context, in mapping.Input) (mapping.Result, error) {
	s.mu.Lock()
	s.seen = append(s.seen, in.ID)
	s.mu.Unlock()
	switch in.ID {
	case "fail":
		return mapping.Result{}, errors.New("Observation.code: no mapping for the local code")
	case "park":
		return mapping.Result{}, &mapping.MissingError{Needs: []string{"Encounter/e1"}}
	case "panic":
		panic("boom")
	}
	return mapping.Result{Events: []mapping.Event{{Kind: "result", Patient: "Patient/p1", At: time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), Resource: in.Ref()}}}, nil
}

func accept(t *testing.T, st *sqlstore.Store, ids ...string) {
	t.Helper()
	var in []store.Incoming
	for _, id := range ids {
		in = append(in, store.Incoming{Source: "lis", Type: "Observation", ID: id, Body: []byte(`{"resourceType":"Observation","id":"` + id + `"}`),
			Hash: "h-" + id, PatientKey: "Patient/p1"})
	}
	if _, err := st.Accept(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func TestHandleRecordsEveryVerdictOnce(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	accept(t, st, "a", "fail", "park", "panic", "b")
	m := &scripted{}
	w := worker.New(st, m, worker.Options{Batch: 2})
	// Delivered three times, as an at-least-once queue may: each message applies once.
	for range 3 {
		if err := w.Handle(ctx, "Patient/p1"); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]store.Status{"a": store.StatusProcessed, "fail": store.StatusFailed, "park": store.StatusParked,
		"panic": store.StatusFailed, "b": store.StatusProcessed}
	msgs, err := st.Messages(ctx, store.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 5 {
		t.Fatalf("%d messages", len(msgs))
	}
	for _, msg := range msgs {
		if msg.Status != want[msg.ResourceID] {
			t.Errorf("%s: status %s, want %s (%s)", msg.ResourceID, msg.Status, want[msg.ResourceID], msg.Error)
		}
		if msg.Status == store.StatusProcessed && msg.Applied != 1 {
			t.Errorf("%s applied %d times", msg.ResourceID, msg.Applied)
		}
		if msg.Status != store.StatusProcessed && msg.Error == "" {
			t.Errorf("%s: %s without a reason", msg.ResourceID, msg.Status)
		}
	}
	if got := m.seen; len(got) != 5 || got[0] != "a" || got[4] != "b" {
		t.Errorf("mapped in order %v, want arrival order once each", got)
	}
	events, err := st.Events(ctx, "Patient/p1")
	if err != nil || len(events) != 2 {
		t.Errorf("events: %d %v", len(events), err)
	}
}

func TestRelayRepublishesLostWork(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Stored, but the queue never heard of it (a crash between commit and publish).
	accept(t, st, "lost")
	q := queue.NewMemory(queue.MemoryOptions{})
	defer q.Close()
	w := worker.New(st, &scripted{}, worker.Options{})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Consume(cctx, w.Handle) }()
	defer func() { cancel(); <-done }()

	r := &worker.Relay{Store: st, Queue: q}
	n, err := r.Scan(ctx, time.Now().Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Scan = %d, %v", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := st.Messages(ctx, store.MessageFilter{Status: store.StatusProcessed})
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("relayed work was not processed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, _ := r.Scan(ctx, time.Now().Add(time.Minute)); n != 0 {
		t.Errorf("nothing left, yet Scan republished %d keys", n)
	}
}

// waiting parks an Observation until Encounter/e1 is stored.
type waiting struct{ res worker.Resources }

func (w waiting) Map(ctx context.Context, in mapping.Input) (mapping.Result, error) {
	if in.Type == "Observation" {
		if _, ok, err := w.res.Get(ctx, "Encounter", "e1"); err != nil || !ok {
			return mapping.Result{}, &mapping.MissingError{Needs: []string{"Encounter/e1"}}
		}
	}
	return mapping.Result{Events: []mapping.Event{{Key: in.Ref() + "#x", Kind: "x", Patient: "Patient/p1", At: time.Now(), Resource: in.Ref()}}}, nil
}

func TestParkedUntilTheDependencyArrives(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := queue.NewMemory(queue.MemoryOptions{})
	defer q.Close()
	w := worker.New(st, waiting{worker.Resources{Store: st}}, worker.Options{Queue: q})
	accept(t, st, "o1") // a result before its admission
	if err := w.Handle(ctx, "Patient/p1"); err != nil {
		t.Fatal(err)
	}
	parked, _ := st.Messages(ctx, store.MessageFilter{Status: store.StatusParked})
	if len(parked) != 1 || len(parked[0].Needs) != 1 || parked[0].Needs[0] != "Encounter/e1" {
		t.Fatalf("parked = %+v", parked)
	}
	if _, err := st.Accept(ctx, []store.Incoming{{Source: "his", Type: "Encounter", ID: "e1", Hash: "e",
		Body: []byte(`{"resourceType":"Encounter"}`), PatientKey: "Patient/p1"}}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Consume(cctx, w.Handle) }()
	defer func() { cancel(); <-done }()
	if err := q.Publish(ctx, "Patient/p1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		msgs, _ := st.Messages(ctx, store.MessageFilter{Status: store.StatusProcessed})
		if len(msgs) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processed %d of 2: the parked result was not applied after its encounter", len(msgs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	events, _ := st.Events(ctx, "Patient/p1")
	if len(events) != 2 {
		t.Errorf("%d events, want one for each message", len(events))
	}
}
