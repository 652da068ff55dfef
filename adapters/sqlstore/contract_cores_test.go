package sqlstore

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

func rec(kind, id, patient, dept, status string, opened time.Time) store.Record {
	return store.Record{Kind: kind, ID: id, Patient: patient, Department: dept, Status: status, Opened: opened,
		Body: []byte(fmt.Sprintf(`{"id":%q,"status":%q}`, id, status))}
}

func testCoreSave(t *testing.T, s *Store) {
	ctx := t.Context()
	if _, err := s.CoreState(ctx, "cv", "Patient/p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing state: %v, want ErrNotFound", err)
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	evs, err := s.SaveCore(ctx, store.CoreSave{Core: "cv", Patient: "Patient/p1", State: []byte(`{"n":1}`), Wake: t0.Add(5 * time.Minute),
		Records: []store.Record{rec("critical-value", "a", "Patient/p1", "ICU", "notified", t0), rec("critical-value", "b", "Patient/p1", "ICU", "notified", t0.Add(time.Minute))},
		Events:  []store.StreamEvent{{Name: "critical-value.notified", Record: "a", Patient: "Patient/p1", Department: "ICU", At: t0, Data: []byte(`{"id":"a"}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ID <= 0 {
		t.Fatalf("events %+v: want one with an id", evs)
	}
	st, err := s.CoreState(ctx, "cv", "Patient/p1")
	if err != nil || st.Version != 1 || string(st.State) != `{"n":1}` || !st.Wake.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("state %+v %v", st, err)
	}
	// A second writer from the same version loses.
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cv", Patient: "Patient/p1", State: []byte(`{}`)}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("insert over existing: %v, want ErrConflict", err)
	}
	// Records are replaced: b goes, a changes.
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cv", Patient: "Patient/p1", Version: 1, State: []byte(`{"n":2}`),
		Records: []store.Record{rec("critical-value", "a", "Patient/p1", "ICU", "acknowledged", t0)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cv", Patient: "Patient/p1", Version: 1, State: []byte(`{"n":3}`)}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale version: %v, want ErrConflict", err)
	}
	st, _ = s.CoreState(ctx, "cv", "Patient/p1")
	if st.Version != 2 || !st.Wake.IsZero() {
		t.Fatalf("after second save %+v", st)
	}
	r, err := s.Record(ctx, "critical-value", "a")
	if err != nil || r.Status != "acknowledged" || r.Patient != "Patient/p1" || r.Core != "cv" {
		t.Fatalf("record a %+v %v", r, err)
	}
	if _, err := s.Record(ctx, "critical-value", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record b: %v, want ErrNotFound", err)
	}
	// Filters.
	_, err = s.SaveCore(ctx, store.CoreSave{Core: "cv", Patient: "Patient/p2", State: []byte(`{}`),
		Records: []store.Record{rec("critical-value", "c", "Patient/p2", "CARDIO", "notified", t0.Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    store.RecordFilter
		want string
	}{
		{store.RecordFilter{Kind: "critical-value"}, "c,a"},
		{store.RecordFilter{Kind: "critical-value", Statuses: []string{"notified"}}, "c"},
		{store.RecordFilter{Patient: "Patient/p1"}, "a"},
		{store.RecordFilter{Departments: []string{"ICU", "X"}}, "a"},
		{store.RecordFilter{Department: "CARDIO"}, "c"},
		{store.RecordFilter{OpenedFrom: t0.Add(time.Minute)}, "c"},
		{store.RecordFilter{OpenedTo: t0.Add(time.Minute)}, "a"},
		{store.RecordFilter{Kind: "follow-up"}, ""},
		{store.RecordFilter{OpenOnly: true}, "c,a"},
	} {
		rs, err := s.Records(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for i, r := range rs {
			if i > 0 {
				got += ","
			}
			got += r.ID
		}
		if got != tc.want {
			t.Errorf("Records(%+v) = %q, want %q", tc.f, got, tc.want)
		}
	}
	wakes, err := s.Wakes(ctx, 10)
	if err != nil || len(wakes) != 0 {
		t.Fatalf("wakes %+v %v: none expected", wakes, err)
	}
	// A record id another patient already holds is refused, and nothing of the save stays.
	_, err = s.SaveCore(ctx, store.CoreSave{Core: "cv", Patient: "Patient/p3", State: []byte(`{}`), Wake: t0,
		Records: []store.Record{rec("critical-value", "a", "Patient/p3", "ICU", "notified", t0)}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate record id: %v, want ErrConflict", err)
	}
	if _, err := s.CoreState(ctx, "cv", "Patient/p3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed save left state: %v", err)
	}
}

func testStreamAndDeliveries(t *testing.T, s *Store) {
	ctx := t.Context()
	if err := s.PutWebhook(ctx, store.Webhook{ID: "w1", Name: "nurse station", URL: "http://x/hook", Secret: "s", Events: []string{"critical-value."}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWebhook(ctx, store.Webhook{ID: "w2", Name: "icu only", URL: "http://y/hook", Secret: "s", Departments: []string{"ICU"}}); err != nil {
		t.Fatal(err)
	}
	hooks, err := s.Webhooks(ctx)
	if err != nil || len(hooks) != 2 || hooks[0].Events[0] != "critical-value." || hooks[1].Departments[0] != "ICU" {
		t.Fatalf("webhooks %+v %v", hooks, err)
	}
	head0, _ := s.StreamHead(ctx)
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	// Concurrent saves of many patients: the stream ids must come out dense and in order.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, dept := "critical-value.notified", "ICU"
			if i%2 == 1 {
				name, dept = "pathway.enrolled", "CARDIO"
			}
			_, err := s.SaveCore(ctx, store.CoreSave{Core: "x", Patient: fmt.Sprintf("Patient/s%d", i), State: []byte(`{}`),
				Events: []store.StreamEvent{{Name: name, Record: fmt.Sprint(i), Patient: fmt.Sprintf("Patient/s%d", i), Department: dept, At: t0, Data: []byte(`{}`)}}})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	evs, err := s.Stream(ctx, head0, 100)
	if err != nil || len(evs) != 20 {
		t.Fatalf("stream: %d events, %v", len(evs), err)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Fatalf("stream out of order at %d", i)
		}
	}
	if evs[0].Name == "" || !evs[0].At.Equal(t0) {
		t.Fatalf("event %+v", evs[0])
	}
	head, _ := s.StreamHead(ctx)
	if head != evs[len(evs)-1].ID {
		t.Fatalf("head %d, last %d", head, evs[len(evs)-1].ID)
	}
	if more, _ := s.Stream(ctx, head, 10); len(more) != 0 {
		t.Fatalf("events after head: %d", len(more))
	}
	// w1 gets the 10 critical-value events, w2 the 10 ICU ones (the same 10).
	due, err := s.DueDeliveries(ctx, time.Now().Add(time.Second), 100)
	if err != nil || len(due) != 20 {
		t.Fatalf("due deliveries: %d, %v", len(due), err)
	}
	for _, d := range due {
		if d.Event.Name != "critical-value.notified" || d.Status != store.DeliveryPending {
			t.Fatalf("delivery %+v", d)
		}
	}
	d := due[0]
	d.Status, d.Attempts, d.LastError, d.LastStatus = store.DeliveryDead, 5, "HTTP 500", 500
	if err := s.SettleDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	dead, err := s.Deliveries(ctx, store.DeliveryFilter{Status: store.DeliveryDead})
	if err != nil || len(dead) != 1 || dead[0].LastStatus != 500 || dead[0].Attempts != 5 {
		t.Fatalf("dead letters %+v %v", dead, err)
	}
	again, err := s.RetryDelivery(ctx, d.ID, time.Now())
	if err != nil || again.Status != store.DeliveryPending || again.Attempts != 5 {
		t.Fatalf("retry %+v %v", again, err)
	}
	d2 := due[1]
	d2.Status = store.DeliveryDelivered
	if err := s.SettleDelivery(ctx, d2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RetryDelivery(ctx, d2.ID, time.Now()); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("retry delivered: %v, want ErrConflict", err)
	}
	if _, err := s.RetryDelivery(ctx, 1<<40, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retry unknown: %v, want ErrNotFound", err)
	}
	if err := s.DeleteWebhook(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, "w2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if due, _ := s.DueDeliveries(ctx, time.Now().Add(time.Second), 100); len(due) != 10 {
		t.Fatalf("after deleting w2: %d due, want 10 (w1's, one retried, one delivered)", len(due))
	}
}

func testCorePoke(t *testing.T, s *Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	if exists, moved, err := s.Poke(ctx, "cp", "Patient/q", t0); err != nil || exists || moved {
		t.Fatalf("poke without state: %v %v %v", exists, moved, err)
	}
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cp", Patient: "Patient/q", State: []byte(`{}`), Wake: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		at            time.Time
		exists, moved bool
		dirty         time.Time
	}{
		{t0.Add(10 * time.Minute), true, true, t0.Add(10 * time.Minute)},
		{t0.Add(20 * time.Minute), true, false, t0.Add(10 * time.Minute)}, // an earlier mark stays
		{t0.Add(5 * time.Minute), true, true, t0.Add(5 * time.Minute)},
	} {
		exists, moved, err := s.Poke(ctx, "cp", "Patient/q", c.at)
		cs, _ := s.CoreState(ctx, "cp", "Patient/q")
		if err != nil || exists != c.exists || moved != c.moved || !cs.Dirty.Equal(c.dirty) || !cs.Due().Equal(c.dirty) {
			t.Fatalf("poke %d: %v %v %v, dirty %v due %v", i, exists, moved, err, cs.Dirty, cs.Due())
		}
	}
	pc, err := s.PatientCores(ctx, "Patient/q")
	if err != nil || len(pc) != 1 || !pc[0].Dirty.Equal(t0.Add(5*time.Minute)) || !pc[0].Wake.Equal(t0.Add(time.Hour)) || pc[0].State != nil {
		t.Fatalf("patient cores %+v %v", pc, err)
	}
	// An action's save keeps the mark; a run's clears it.
	cs, _ := s.CoreState(ctx, "cp", "Patient/q")
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cp", Patient: "Patient/q", Version: cs.Version, State: []byte(`{"a":1}`), Durable: true}); err != nil {
		t.Fatal(err)
	}
	if cs, _ = s.CoreState(ctx, "cp", "Patient/q"); cs.Dirty.IsZero() {
		t.Fatal("an action's save cleared the mark")
	}
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cp", Patient: "Patient/q", Version: cs.Version, State: []byte(`{"a":2}`), Clean: true}); err != nil {
		t.Fatal(err)
	}
	if cs, _ = s.CoreState(ctx, "cp", "Patient/q"); !cs.Dirty.IsZero() || !cs.Due().IsZero() {
		t.Fatalf("a run's save left the mark: %+v", cs)
	}
	wakes, _ := s.Wakes(ctx, 100)
	for _, w := range wakes {
		if w.Patient == "Patient/q" {
			t.Fatalf("a state with neither wake nor mark among the wakes: %+v", w)
		}
	}
}

func testMarkRecent(t *testing.T, s *Store) {
	ctx := t.Context()
	res := accept(t, s, res("Observation", "mr1", "h1"))
	if _, err := s.CompleteAll(ctx, []store.Completion{{MessageID: res[0].MessageID, Status: store.StatusProcessed}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cp", Patient: "Patient/p1", State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "cp", Patient: "Patient/other", State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(time.Second).UTC().Truncate(time.Microsecond)
	n, err := s.MarkRecent(ctx, time.Now().Add(-time.Minute), at)
	if err != nil || n != 1 {
		t.Fatalf("marked %d, %v; want the one patient processed in the last minute", n, err)
	}
	if cs, _ := s.CoreState(ctx, "cp", "Patient/p1"); !cs.Dirty.Equal(at) {
		t.Fatalf("dirty %v, want %v", cs.Dirty, at)
	}
	if cs, _ := s.CoreState(ctx, "cp", "Patient/other"); !cs.Dirty.IsZero() {
		t.Fatalf("a patient with nothing recent was marked")
	}
}

func testSweepMarks(t *testing.T, s *Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "sw", Patient: "Patient/s", State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	s.Poke(ctx, "sw", "Patient/s", t0)
	due, err := s.DueMarks(ctx, t0, 10)
	if err != nil || len(due) != 1 || !due[0].Dirty.Equal(t0) {
		t.Fatalf("due marks %+v %v", due, err)
	}
	if due, _ := s.DueMarks(ctx, t0.Add(-time.Second), 10); len(due) != 0 {
		t.Fatalf("a mark due later was returned: %+v", due)
	}
	lease := t0.Add(time.Minute)
	if ok, err := s.ClaimMark(ctx, "sw", "Patient/s", t0, lease); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, _ := s.ClaimMark(ctx, "sw", "Patient/s", t0, lease); ok {
		t.Fatal("claimed twice")
	}
	cs, _ := s.CoreState(ctx, "sw", "Patient/s")
	if _, err := s.SaveCore(ctx, store.CoreSave{Core: "sw", Patient: "Patient/s", Version: cs.Version, State: []byte(`{"a":1}`), Clean: true, CleanIf: lease}); err != nil {
		t.Fatal(err)
	}
	if cs, _ = s.CoreState(ctx, "sw", "Patient/s"); !cs.Dirty.IsZero() {
		t.Fatalf("the claimed mark was not cleared: %v", cs.Dirty)
	}
}

func testEventsSince(t *testing.T, s *Store) {
	ctx := t.Context()
	var ids []int64
	for i := range 3 {
		r := accept(t, s, res("Observation", fmt.Sprintf("es%d", i), fmt.Sprintf("es-h%d", i)))
		ids = append(ids, r[0].MessageID)
	}
	// Completed out of arrival order: a parked message completes last.
	for _, i := range []int{2, 0, 1} {
		if _, err := s.CompleteAll(ctx, []store.Completion{{MessageID: ids[i], Status: store.StatusProcessed, Events: []store.Event{
			{Key: fmt.Sprintf("Observation/es%d#result", i), Version: 1, Kind: "result", Patient: "Patient/es", At: time.Now(), Resource: "x"}}}}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.EventsSince(ctx, "Patient/es", 0)
	if err != nil || len(all) != 3 || all[0].Key != "Observation/es2#result" || all[2].Key != "Observation/es1#result" {
		t.Fatalf("events since 0: %+v %v", all, err)
	}
	rest, err := s.EventsSince(ctx, "Patient/es", all[0].Position)
	if err != nil || len(rest) != 2 || rest[0].Position <= all[0].Position {
		t.Fatalf("events since %d: %+v %v", all[0].Position, rest, err)
	}
}
