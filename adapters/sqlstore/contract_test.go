package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

// runContract checks the store.Store contract. open returns a fresh, empty store for each
// subtest (and closes it at the end of the test).
func runContract(t *testing.T, open func(t *testing.T) *Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"AcceptOutcomes", testAcceptOutcomes},
		{"AcceptSameResourceTwice", testAcceptSameResourceTwice},
		{"AcceptDelete", testAcceptDelete},
		{"AcceptAtomic", testAcceptAtomic},
		{"AcceptCancelled", testAcceptCancelled},
		{"AcceptConcurrent", testAcceptConcurrent},
		{"AcceptInvalid", testAcceptInvalid},
		{"AcceptLarge", testAcceptLarge},
		{"ResourceNotFound", testResourceNotFound},
		{"Identifiers", testIdentifiers},
		{"CompleteOnce", testCompleteOnce},
		{"CompleteConcurrent", testCompleteConcurrent},
		{"CompleteStatuses", testCompleteStatuses},
		{"CompleteAll", testCompleteAll},
		{"Pending", testPending},
		{"Backlog", testBacklog},
		{"Requeue", testRequeue},
		{"FlagsAndNeeds", testFlagsAndNeeds},
		{"Unpark", testUnpark},
		{"RequeueAll", testRequeueAll},
		{"UnmappedCodes", testUnmappedCodes},
		{"LostRace", testLostRace},
		{"ReceivedBefore", testReceivedBefore},
		{"Documents", testDocuments},
		{"Messages", testMessages},
		{"Counts", testCounts},
		{"Events", testEvents},
		{"Tokens", testTokens},
		{"Audit", testAudit},
		{"TimesUTC", testTimesUTC},
		{"CoreSave", testCoreSave},
		{"Measures", testMeasures},
		{"CorePoke", testCorePoke},
		{"MarkRecent", testMarkRecent},
		{"SweepMarks", testSweepMarks},
		{"EventsSince", testEventsSince},
		{"StreamAndDeliveries", testStreamAndDeliveries},
		{"Ping", func(t *testing.T, s *Store) {
			if err := s.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open(t))
		})
	}
}

// res builds an incoming resource of patient p1 whose content is named by hash.
func res(typ, id, hash string) store.Incoming {
	return store.Incoming{
		Source:     "his",
		Hospital:   "h1",
		Type:       typ,
		ID:         id,
		Body:       fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"note":%q}`, typ, id, hash),
		Hash:       hash,
		PatientKey: "Patient/p1",
	}
}

func accept(t *testing.T, s *Store, in ...store.Incoming) []store.Result {
	t.Helper()
	r, err := s.Accept(t.Context(), in)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if len(r) != len(in) {
		t.Fatalf("Accept returned %d results for %d entries", len(r), len(in))
	}
	return r
}

func wantResult(t *testing.T, got store.Result, outcome store.Outcome, version int, stored bool) {
	t.Helper()
	if got.Outcome != outcome || got.VersionID != version || (got.MessageID != 0) != stored {
		t.Fatalf("result = %+v, want outcome %s version %d stored %v", got, outcome, version, stored)
	}
	if got.LastUpdated.IsZero() || got.LastUpdated.Location() != time.UTC {
		t.Fatalf("LastUpdated = %v, want a UTC time", got.LastUpdated)
	}
}

func resource(t *testing.T, s *Store, typ, id string) store.Resource {
	t.Helper()
	r, err := s.Resource(t.Context(), typ, id)
	if err != nil {
		t.Fatalf("Resource(%s/%s): %v", typ, id, err)
	}
	return r
}

func message(t *testing.T, s *Store, id int64) store.Message {
	t.Helper()
	m, err := s.Message(t.Context(), id)
	if err != nil {
		t.Fatalf("Message(%d): %v", id, err)
	}
	return m
}

func allMessages(t *testing.T, s *Store) []store.Message {
	t.Helper()
	ms, err := s.Messages(t.Context(), store.MessageFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func testAcceptOutcomes(t *testing.T, s *Store) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	v1 := res("Observation", "o1", "h1")
	v1.SourceUpdated = t0
	r := accept(t, s, v1)[0]
	wantResult(t, r, store.OutcomeCreated, 1, true)
	got := resource(t, s, "Observation", "o1")
	if got.VersionID != 1 || !bytes.Equal(got.Body, v1.Body) || got.Deleted || got.Source != "his" ||
		got.PatientKey != "Patient/p1" || !got.LastUpdated.Equal(r.LastUpdated) {
		t.Fatalf("Resource = %+v, want version 1 of %s", got, v1.Body)
	}
	m := message(t, s, r.MessageID)
	want := store.Message{ID: r.MessageID, Source: "his", Hospital: "h1", Type: "Observation", ResourceID: "o1",
		VersionID: 1, Hash: "h1", Body: v1.Body, PatientKey: "Patient/p1", ReceivedAt: r.LastUpdated,
		SourceUpdated: t0, Status: store.StatusReceived}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("Message = %+v\nwant      %+v", m, want)
	}

	// Same content again, even with a newer source time: nothing stored.
	again := v1
	again.SourceUpdated = t0.Add(time.Hour)
	u := accept(t, s, again)[0]
	wantResult(t, u, store.OutcomeUnchanged, 1, false)
	if !u.LastUpdated.Equal(r.LastUpdated) {
		t.Fatalf("unchanged LastUpdated = %v, want the current version's %v", u.LastUpdated, r.LastUpdated)
	}

	v2 := res("Observation", "o1", "h2")
	v2.SourceUpdated = t0.Add(2 * time.Hour)
	r2 := accept(t, s, v2)[0]
	wantResult(t, r2, store.OutcomeUpdated, 2, true)

	// Older than the current version: stored as stale under its own number, not applied.
	old := res("Observation", "o1", "h-old")
	old.SourceUpdated = t0.Add(time.Hour)
	st := accept(t, s, old)[0]
	wantResult(t, st, store.OutcomeStale, 3, true)
	if m := message(t, s, st.MessageID); m.Status != store.StatusReceived || m.VersionID != 3 || m.Hash != "h-old" {
		t.Fatalf("stale message = %+v", m)
	}
	if cur := resource(t, s, "Observation", "o1"); cur.VersionID != 2 || !bytes.Equal(cur.Body, v2.Body) {
		t.Fatalf("after stale, Resource = version %d %s, want version 2", cur.VersionID, cur.Body)
	}
	pend, err := s.Pending(t.Context(), "Patient/p1", 0)
	if err != nil {
		t.Fatal(err)
	}
	stalePending := false
	for _, p := range pend {
		stalePending = stalePending || p.ID == st.MessageID
	}
	if !stalePending {
		t.Fatal("a stale version is mapped too (its events rank below the current ones): it must be pending")
	}

	// Without a source time a version cannot be judged stale; the next number follows the stale one.
	v4 := res("Observation", "o1", "h4")
	wantResult(t, accept(t, s, v4)[0], store.OutcomeUpdated, 4, true)
	// The current version now has no source time either, so a dated one is not stale.
	v5 := res("Observation", "o1", "h5")
	v5.SourceUpdated = t0
	wantResult(t, accept(t, s, v5)[0], store.OutcomeUpdated, 5, true)
}

func testAcceptSameResourceTwice(t *testing.T, s *Store) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	a1, a2 := res("Patient", "a", "h1"), res("Patient", "a", "h2")
	a2.SourceUpdated = t0
	old := res("Patient", "a", "h0")
	old.SourceUpdated = t0.Add(-time.Minute)
	rs := accept(t, s, a1, res("Patient", "b", "x"), a2, a2, old, res("Patient", "a", "h3"))
	wantResult(t, rs[0], store.OutcomeCreated, 1, true)
	wantResult(t, rs[1], store.OutcomeCreated, 1, true)
	wantResult(t, rs[2], store.OutcomeUpdated, 2, true)
	wantResult(t, rs[3], store.OutcomeUnchanged, 2, false)
	wantResult(t, rs[4], store.OutcomeStale, 3, true)
	wantResult(t, rs[5], store.OutcomeUpdated, 4, true)
	if cur := resource(t, s, "Patient", "a"); cur.VersionID != 4 || !bytes.Contains(cur.Body, []byte("h3")) {
		t.Fatalf("Resource = version %d %s, want version 4 h3", cur.VersionID, cur.Body)
	}
	// Message ids follow the order of the entries.
	ms := allMessages(t, s)
	if len(ms) != 5 {
		t.Fatalf("%d messages stored, want 5", len(ms))
	}
	for i, j := range []int{0, 1, 2, 4, 5} {
		if ms[i].ID != rs[j].MessageID {
			t.Fatalf("message %d has id %d, want entry %d's %d", i, ms[i].ID, j, rs[j].MessageID)
		}
	}
	// And the next call continues from there.
	wantResult(t, accept(t, s, res("Patient", "a", "h3"))[0], store.OutcomeUnchanged, 4, false)
}

func testAcceptDelete(t *testing.T, s *Store) {
	accept(t, s, res("Encounter", "e1", "h1"))
	del := store.Incoming{Source: "his", Hospital: "h1", Type: "Encounter", ID: "e1", PatientKey: "Patient/p1", Delete: true}
	r := accept(t, s, del)[0]
	wantResult(t, r, store.OutcomeDeleted, 2, true)
	cur := resource(t, s, "Encounter", "e1")
	if !cur.Deleted || cur.Body != nil || cur.VersionID != 2 {
		t.Fatalf("deleted Resource = %+v", cur)
	}
	if m := message(t, s, r.MessageID); !m.Deleted || m.Body != nil || m.Status != store.StatusReceived {
		t.Fatalf("delete message = %+v", m)
	}
	// Deleting again stores another deleted version; the same content as before the delete
	// brings the resource back rather than counting as unchanged.
	wantResult(t, accept(t, s, del)[0], store.OutcomeDeleted, 3, true)
	wantResult(t, accept(t, s, res("Encounter", "e1", "h1"))[0], store.OutcomeUpdated, 4, true)
	if cur := resource(t, s, "Encounter", "e1"); cur.Deleted {
		t.Fatal("resource still deleted after a new version")
	}

	// A delete of a resource never seen is recorded as its version 1.
	del.ID = "never"
	wantResult(t, accept(t, s, del)[0], store.OutcomeDeleted, 1, true)
	if cur := resource(t, s, "Encounter", "never"); !cur.Deleted || cur.VersionID != 1 {
		t.Fatalf("Resource = %+v, want deleted version 1", cur)
	}
}

// testAcceptAtomic makes the last statement of Accept fail (a trigger on identifiers) and checks
// that nothing of the slice was stored.
func testAcceptAtomic(t *testing.T, s *Store) {
	ctx := t.Context()
	accept(t, s, res("Patient", "p0", "h0"))
	before := allMessages(t, s)

	trigger := []string{`CREATE TRIGGER boom BEFORE INSERT ON identifiers WHEN NEW.value = 'boom'
		BEGIN SELECT RAISE(ABORT, 'boom'); END`}
	if s.d.postgres() {
		trigger = []string{
			`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.value = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER boom BEFORE INSERT ON identifiers FOR EACH ROW EXECUTE FUNCTION boom()`,
		}
	}
	for _, q := range trigger {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	ok := res("Patient", "p1", "h1")
	ok.Identifiers = []store.Identifier{{System: "mrn", Value: "1"}}
	bad := res("Patient", "p2", "h2")
	bad.Identifiers = []store.Identifier{{System: "mrn", Value: "boom"}}
	upd := res("Patient", "p0", "h0-new")
	if _, err := s.Accept(ctx, []store.Incoming{ok, upd, bad, res("Patient", "p3", "h3")}); err == nil {
		t.Fatal("Accept succeeded despite the failing trigger")
	}
	if after := allMessages(t, s); len(after) != len(before) {
		t.Fatalf("%d messages after a failed Accept, want %d", len(after), len(before))
	}
	for _, id := range []string{"p1", "p2", "p3"} {
		if _, err := s.Resource(ctx, "Patient", id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Resource(Patient/%s) after a failed Accept: %v, want ErrNotFound", id, err)
		}
	}
	if cur := resource(t, s, "Patient", "p0"); cur.VersionID != 1 {
		t.Fatalf("Patient/p0 at version %d after a failed Accept, want 1", cur.VersionID)
	}
	if _, err := s.LookupIdentifier(ctx, "Patient", store.Identifier{System: "mrn", Value: "1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("identifier of a failed Accept: %v, want ErrNotFound", err)
	}
	// The store still works, and versions carry on from what was committed.
	wantResult(t, accept(t, s, ok)[0], store.OutcomeCreated, 1, true)
	wantResult(t, accept(t, s, upd)[0], store.OutcomeUpdated, 2, true)
}

func testAcceptCancelled(t *testing.T, s *Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Accept(ctx, []store.Incoming{res("Patient", "p1", "h1")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Accept with a cancelled context: %v, want context.Canceled", err)
	}
	if n := len(allMessages(t, s)); n != 0 {
		t.Fatalf("%d messages stored by a cancelled Accept", n)
	}
}

// testAcceptConcurrent races Accepts of the same resources: every version number is handed out
// once and none is lost.
func testAcceptConcurrent(t *testing.T, s *Store) {
	const workers, calls = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Go(func() {
			for c := range calls {
				// Both resources in both orders, so lock ordering matters on PostgreSQL.
				a, b := res("Patient", "a", fmt.Sprint(w, c)), res("Patient", "b", fmt.Sprint(w, c))
				in := []store.Incoming{a, b}
				if w%2 == 1 {
					in = []store.Incoming{b, a}
				}
				if _, err := s.Accept(context.Background(), in); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if v := resource(t, s, "Patient", id).VersionID; v != workers*calls {
			t.Fatalf("Patient/%s at version %d, want %d", id, v, workers*calls)
		}
	}
}

func testAcceptInvalid(t *testing.T, s *Store) {
	for _, in := range []store.Incoming{res("", "x", "h"), res("Patient", "", "h"), res("Patient", "a/b", "h")} {
		if _, err := s.Accept(t.Context(), []store.Incoming{res("Patient", "ok", "h"), in}); err == nil {
			t.Fatalf("Accept(%s/%s) succeeded", in.Type, in.ID)
		}
	}
	if r, err := s.Accept(t.Context(), nil); err != nil || len(r) != 0 {
		t.Fatalf("Accept(nil) = %v, %v", r, err)
	}
	if n := len(allMessages(t, s)); n != 0 {
		t.Fatalf("%d messages stored by invalid calls", n)
	}
}

// testAcceptLarge stores more entries than SQLite takes bind parameters in one statement.
func testAcceptLarge(t *testing.T, s *Store) {
	in := make([]store.Incoming, 3000)
	for i := range in {
		in[i] = res("Observation", fmt.Sprint("o", i), "h")
		in[i].Identifiers = []store.Identifier{{System: "acc", Value: fmt.Sprint(i)}}
	}
	rs := accept(t, s, in...)
	for i, r := range rs {
		wantResult(t, r, store.OutcomeCreated, 1, true)
		if i > 0 && r.MessageID <= rs[i-1].MessageID {
			t.Fatalf("message ids out of entry order at %d: %d after %d", i, r.MessageID, rs[i-1].MessageID)
		}
	}
	if id, err := s.LookupIdentifier(t.Context(), "Observation", store.Identifier{System: "acc", Value: "2999"}); err != nil || id != "o2999" {
		t.Fatalf("LookupIdentifier = %q, %v", id, err)
	}
	if got := resource(t, s, "Observation", "o2999"); got.VersionID != 1 {
		t.Fatalf("Resource = %+v", got)
	}
}

func testResourceNotFound(t *testing.T, s *Store) {
	if _, err := s.Resource(t.Context(), "Patient", "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Resource of an unknown id: %v, want ErrNotFound", err)
	}
	if _, err := s.Message(t.Context(), 12345); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Message of an unknown id: %v, want ErrNotFound", err)
	}
}

func testIdentifiers(t *testing.T, s *Store) {
	ctx := t.Context()
	nhs := store.Identifier{System: "urn:oid:1.2", Value: "A1"}
	org := res("Organization", "o1", "h1")
	org.Identifiers = []store.Identifier{nhs, {System: "tax", Value: "9"}}
	accept(t, s, org)
	lookup := func(typ string, id store.Identifier) (string, error) { return s.LookupIdentifier(ctx, typ, id) }
	if got, err := lookup("Organization", nhs); err != nil || got != "o1" {
		t.Fatalf("LookupIdentifier = %q, %v, want o1", got, err)
	}
	if got, err := lookup("Organization", store.Identifier{System: "tax", Value: "9"}); err != nil || got != "o1" {
		t.Fatalf("LookupIdentifier(tax) = %q, %v, want o1", got, err)
	}
	for _, q := range []struct {
		typ string
		id  store.Identifier
	}{{"Organization", store.Identifier{System: "urn:oid:1.2", Value: "A2"}}, {"Location", nhs}} {
		if _, err := lookup(q.typ, q.id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("LookupIdentifier(%s, %v): %v, want ErrNotFound", q.typ, q.id, err)
		}
	}
	// The identifier moves to the resource that carries it last.
	org2 := res("Organization", "o2", "h2")
	org2.Identifiers = []store.Identifier{nhs}
	accept(t, s, org2)
	if got, _ := lookup("Organization", nhs); got != "o2" {
		t.Fatalf("LookupIdentifier after move = %q, want o2", got)
	}
	// A deleted resource is not found by its identifiers.
	accept(t, s, store.Incoming{Source: "his", Type: "Organization", ID: "o2", PatientKey: "Organization/o2", Delete: true})
	if _, err := lookup("Organization", nhs); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LookupIdentifier of a deleted resource: %v, want ErrNotFound", err)
	}
}

func testCompleteOnce(t *testing.T, s *Store) {
	ctx := t.Context()
	r := accept(t, s, res("Observation", "o1", "h1"))[0]
	at := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
	events := []store.Event{
		{Kind: "lab.result", Patient: "Patient/p1", Encounter: "Encounter/e1", Hospital: "h1", Source: "lis",
			At: at, Resource: "Observation/o1", Data: json.RawMessage(`{"code":"2345-7","value":5.4}`)},
		{Kind: "lab.flag", Patient: "Patient/p1", At: at, Resource: "Observation/o1"},
	}
	before := time.Now()
	ok, err := s.Complete(ctx, store.Completion{MessageID: r.MessageID, Status: store.StatusProcessed, Events: events})
	if err != nil || !ok {
		t.Fatalf("Complete = %v, %v, want true", ok, err)
	}
	m := message(t, s, r.MessageID)
	if m.Status != store.StatusProcessed || m.Applied != 1 || m.ProcessedAt.Before(before.Add(-time.Second)) ||
		m.ProcessedAt.Location() != time.UTC {
		t.Fatalf("completed message = %+v", m)
	}
	// Once only: the second call changes nothing and adds no events.
	ok, err = s.Complete(ctx, store.Completion{MessageID: r.MessageID, Status: store.StatusProcessed, Events: events})
	if err != nil || ok {
		t.Fatalf("second Complete = %v, %v, want false", ok, err)
	}
	if m2 := message(t, s, r.MessageID); m2.Applied != 1 || m2.Status != store.StatusProcessed || !m2.ProcessedAt.Equal(m.ProcessedAt) {
		t.Fatalf("after a second Complete, message = %+v", m2)
	}
	if got, _ := s.Events(ctx, "Patient/p1"); len(got) != 2 {
		t.Fatalf("%d events after two Completes, want 2", len(got))
	}
	// An unknown message is not received either.
	if ok, err := s.Complete(ctx, store.Completion{MessageID: 999999, Status: store.StatusProcessed}); ok || err != nil {
		t.Fatalf("Complete of an unknown message = %v, %v", ok, err)
	}
}

func testCompleteConcurrent(t *testing.T, s *Store) {
	r := accept(t, s, res("Observation", "o1", "h1"))[0]
	const workers = 8
	var wins sync.WaitGroup
	results := make(chan bool, workers)
	for range workers {
		wins.Go(func() {
			ok, err := s.Complete(context.Background(), store.Completion{MessageID: r.MessageID, Status: store.StatusProcessed,
				Events: []store.Event{{Kind: "k", Patient: "Patient/p1", At: time.Now()}}})
			if err != nil {
				t.Error(err)
			}
			results <- ok
		})
	}
	wins.Wait()
	close(results)
	n := 0
	for ok := range results {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d concurrent Completes returned true, want exactly 1", n)
	}
	if m := message(t, s, r.MessageID); m.Applied != 1 {
		t.Fatalf("applied = %d, want 1", m.Applied)
	}
	if ev, _ := s.Events(t.Context(), "Patient/p1"); len(ev) != 1 {
		t.Fatalf("%d events, want 1", len(ev))
	}
}

func testCompleteStatuses(t *testing.T, s *Store) {
	ctx := t.Context()
	rs := accept(t, s, res("Observation", "o1", "h1"), res("Observation", "o2", "h2"), res("Observation", "o3", "h3"))
	if ok, err := s.Complete(ctx, store.Completion{MessageID: rs[0].MessageID, Status: store.StatusFailed, Error: "no code"}); !ok || err != nil {
		t.Fatalf("Complete(failed) = %v, %v", ok, err)
	}
	if m := message(t, s, rs[0].MessageID); m.Status != store.StatusFailed || m.Error != "no code" || m.Applied != 0 {
		t.Fatalf("failed message = %+v", m)
	}
	if ok, err := s.Complete(ctx, store.Completion{MessageID: rs[1].MessageID, Status: store.StatusParked, Error: "waiting"}); !ok || err != nil {
		t.Fatalf("Complete(parked) = %v, %v", ok, err)
	}
	if m := message(t, s, rs[1].MessageID); m.Status != store.StatusParked || m.Applied != 0 {
		t.Fatalf("parked message = %+v", m)
	}
	for _, st := range []store.Status{store.StatusReceived, store.Status("stale"), "bogus"} {
		if _, err := s.Complete(ctx, store.Completion{MessageID: rs[2].MessageID, Status: st}); err == nil {
			t.Fatalf("Complete with status %q succeeded", st)
		}
	}
	bad := []store.Event{{Kind: "k", Patient: "Patient/p1", Data: json.RawMessage(`{"unclosed":`)}}
	if _, err := s.Complete(ctx, store.Completion{MessageID: rs[2].MessageID, Status: store.StatusProcessed, Events: bad}); err == nil {
		t.Fatal("Complete with invalid event data succeeded")
	}
	if m := message(t, s, rs[2].MessageID); m.Status != store.StatusReceived {
		t.Fatalf("message after refused Completes = %+v", m)
	}
}

func testCompleteAll(t *testing.T, s *Store) {
	ctx := t.Context()
	rs := accept(t, s, res("Observation", "a", "h"), res("Observation", "b", "h"), res("Observation", "c", "h"))
	ev := []store.Event{{Kind: "k", Patient: "Patient/p1", At: time.Now()}}
	a := store.Completion{MessageID: rs[0].MessageID, Status: store.StatusProcessed, Events: ev}
	b := store.Completion{MessageID: rs[1].MessageID, Status: store.StatusFailed, Error: "bad"}
	c := store.Completion{MessageID: rs[2].MessageID, Status: store.StatusProcessed, Events: ev}

	// A batch with an invalid verdict is refused whole.
	if _, err := s.CompleteAll(ctx, []store.Completion{c, {MessageID: rs[1].MessageID, Status: store.Status("stale")}}); err == nil {
		t.Fatal("CompleteAll with an invalid status succeeded")
	}
	if m := message(t, s, rs[2].MessageID); m.Status != store.StatusReceived {
		t.Fatalf("message of a refused batch = %+v", m)
	}

	done, err := s.CompleteAll(ctx, []store.Completion{a, b, a, {MessageID: 999999, Status: store.StatusProcessed}})
	if err != nil || !reflect.DeepEqual(done, []bool{true, true, false, false}) {
		t.Fatalf("CompleteAll = %v, %v, want [true true false false]", done, err)
	}
	if m := message(t, s, rs[0].MessageID); m.Applied != 1 || m.Status != store.StatusProcessed {
		t.Fatalf("message completed twice in a batch = %+v", m)
	}
	if m := message(t, s, rs[1].MessageID); m.Status != store.StatusFailed || m.Error != "bad" {
		t.Fatalf("failed message = %+v", m)
	}
	if got, _ := s.Events(ctx, "Patient/p1"); len(got) != 1 {
		t.Fatalf("%d events, want 1", len(got))
	}
	if done, err := s.CompleteAll(ctx, nil); err != nil || len(done) != 0 {
		t.Fatalf("CompleteAll(nil) = %v, %v", done, err)
	}
}

func testPending(t *testing.T, s *Store) {
	ctx := t.Context()
	var ids []int64
	for i := range 5 {
		in := res("Observation", fmt.Sprint("o", i), "h")
		other := res("Observation", fmt.Sprint("x", i), "h")
		other.PatientKey = "Patient/p2"
		r := accept(t, s, in, other)
		ids = append(ids, r[0].MessageID)
	}
	got, err := s.Pending(ctx, "Patient/p1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("%d pending, want 5", len(got))
	}
	for i, m := range got {
		if m.ID != ids[i] || m.PatientKey != "Patient/p1" {
			t.Fatalf("pending[%d] = message %d of %s, want %d", i, m.ID, m.PatientKey, ids[i])
		}
	}
	if ok, _ := s.Complete(ctx, store.Completion{MessageID: ids[0], Status: store.StatusProcessed}); !ok {
		t.Fatal("Complete failed")
	}
	got, err = s.Pending(ctx, "Patient/p1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != ids[1] || got[1].ID != ids[2] {
		t.Fatalf("pending after Complete with limit 2 = %v", got)
	}
	if got, _ := s.Pending(ctx, "Patient/nobody", 10); len(got) != 0 {
		t.Fatalf("pending for an unknown key = %v", got)
	}
}

func testBacklog(t *testing.T, s *Store) {
	ctx := t.Context()
	a := res("Observation", "a", "h")
	a.PatientKey = "Patient/a"
	b := res("Observation", "b", "h")
	b.PatientKey = "Patient/b"
	b2 := res("Observation", "b2", "h")
	b2.PatientKey = "Patient/b"
	ra := accept(t, s, a)
	accept(t, s, b, b2)
	cutoff := time.Now().Add(time.Second)
	if got, err := s.Backlog(ctx, ra[0].LastUpdated, 10); err != nil || len(got) != 0 {
		t.Fatalf("Backlog before the first message = %v, %v, want none", got, err)
	}
	got, err := s.Backlog(ctx, cutoff, 10)
	if err != nil || !reflect.DeepEqual(got, []string{"Patient/a", "Patient/b"}) {
		t.Fatalf("Backlog = %v, %v, want [Patient/a Patient/b]", got, err)
	}
	if got, _ := s.Backlog(ctx, cutoff, 1); !reflect.DeepEqual(got, []string{"Patient/a"}) {
		t.Fatalf("Backlog limit 1 = %v, want the longest waiting", got)
	}
	if ok, _ := s.Complete(ctx, store.Completion{MessageID: ra[0].MessageID, Status: store.StatusProcessed}); !ok {
		t.Fatal("Complete failed")
	}
	if got, _ := s.Backlog(ctx, cutoff, 10); !reflect.DeepEqual(got, []string{"Patient/b"}) {
		t.Fatalf("Backlog after completing a = %v", got)
	}
}

func testRequeue(t *testing.T, s *Store) {
	ctx := t.Context()
	in := []store.Incoming{res("Observation", "f", "h"), res("Observation", "p", "h"), res("Observation", "ok", "h"),
		res("Observation", "r", "h"), res("Observation", "f2", "h")}
	in[1].PatientKey = "Patient/p2"
	rs := accept(t, s, in...)
	complete := func(i int, st store.Status) {
		if ok, err := s.Complete(ctx, store.Completion{MessageID: rs[i].MessageID, Status: st, Error: "e"}); !ok || err != nil {
			t.Fatalf("Complete = %v, %v", ok, err)
		}
	}
	complete(0, store.StatusFailed)
	complete(1, store.StatusParked)
	complete(2, store.StatusProcessed)
	complete(4, store.StatusFailed)
	keys, err := s.Requeue(ctx, []int64{rs[0].MessageID, rs[1].MessageID, rs[2].MessageID, rs[3].MessageID, rs[4].MessageID, 999999})
	if err != nil || !reflect.DeepEqual(keys, []string{"Patient/p1", "Patient/p2"}) {
		t.Fatalf("Requeue = %v, %v, want [Patient/p1 Patient/p2]", keys, err)
	}
	for i, want := range []store.Status{store.StatusReceived, store.StatusReceived, store.StatusProcessed, store.StatusReceived, store.StatusReceived} {
		m := message(t, s, rs[i].MessageID)
		if m.Status != want {
			t.Fatalf("message %d status %s, want %s", i, m.Status, want)
		}
		if want == store.StatusReceived && (m.Error != "" || !m.ProcessedAt.IsZero()) {
			t.Fatalf("requeued message %d keeps error %q / processed %v", i, m.Error, m.ProcessedAt)
		}
	}
	// A requeued message can be completed again.
	if ok, _ := s.Complete(ctx, store.Completion{MessageID: rs[0].MessageID, Status: store.StatusProcessed}); !ok {
		t.Fatal("Complete after Requeue returned false")
	}
	if keys, err := s.Requeue(ctx, nil); err != nil || len(keys) != 0 {
		t.Fatalf("Requeue(nil) = %v, %v", keys, err)
	}
}

func testMessages(t *testing.T, s *Store) {
	ctx := t.Context()
	var all []int64
	for i := range 7 {
		in := res("Observation", fmt.Sprint("o", i), "h")
		if i%2 == 1 {
			in.Source = "lis"
		}
		all = append(all, accept(t, s, in)[0].MessageID)
	}
	if ok, _ := s.Complete(ctx, store.Completion{MessageID: all[1], Status: store.StatusFailed, Error: "x"}); !ok {
		t.Fatal("Complete failed")
	}
	ids := func(f store.MessageFilter) []int64 {
		t.Helper()
		ms, err := s.Messages(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	cases := []struct {
		f    store.MessageFilter
		want []int64
	}{
		{store.MessageFilter{}, all},
		{store.MessageFilter{Limit: 3}, all[:3]},
		{store.MessageFilter{Limit: 3, After: all[2]}, all[3:6]},
		{store.MessageFilter{After: all[6]}, nil},
		{store.MessageFilter{Source: "lis"}, []int64{all[1], all[3], all[5]}},
		{store.MessageFilter{Source: "lis", Status: store.StatusReceived}, []int64{all[3], all[5]}},
		{store.MessageFilter{Status: store.StatusFailed}, []int64{all[1]}},
		{store.MessageFilter{Source: "his", Limit: 2, After: all[0]}, []int64{all[2], all[4]}},
	}
	for _, c := range cases {
		if got := ids(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Messages(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	// The default limit is 100.
	var many []store.Incoming
	for i := range 120 {
		many = append(many, res("Observation", fmt.Sprint("m", i), "h"))
	}
	accept(t, s, many...)
	if got := ids(store.MessageFilter{}); len(got) != 100 {
		t.Fatalf("Messages without a limit returned %d, want 100", len(got))
	}
}

func testCounts(t *testing.T, s *Store) {
	ctx := t.Context()
	if got, err := s.Counts(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Counts of an empty store = %v, %v", got, err)
	}
	lis := res("Observation", "l1", "h")
	lis.Source = "lis"
	rs := accept(t, s, res("Observation", "a", "h"), res("Observation", "b", "h"), res("Observation", "c", "h"), lis)
	if ok, _ := s.Complete(ctx, store.Completion{MessageID: rs[0].MessageID, Status: store.StatusProcessed}); !ok {
		t.Fatal("Complete failed")
	}
	got, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Count{
		{Source: "his", Status: store.StatusProcessed, N: 1},
		{Source: "his", Status: store.StatusReceived, N: 2},
		{Source: "lis", Status: store.StatusReceived, N: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Counts = %v, want %v", got, want)
	}
}

func testEvents(t *testing.T, s *Store) {
	ctx := t.Context()
	rs := accept(t, s, res("Observation", "o1", "h"), res("Observation", "o2", "h"))
	t1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t0 := t1.Add(-time.Hour)
	e1 := []store.Event{
		{Key: "lab|Encounter/e1|2345-7", Version: 3, Kind: "b", Patient: "Patient/p1", Encounter: "Encounter/e1", Hospital: "h1",
			Source: "lis", At: t1, Resource: "Observation/o1", Data: json.RawMessage(`{"a": [1, 2], "b": "x"}`)},
		{Kind: "c", Patient: "Patient/p1", At: t1, Resource: "Observation/o1"},
		{Kind: "other", Patient: "Patient/p9", At: t0},
	}
	e2 := []store.Event{{Key: "k2", Version: 1, Kind: "a", Patient: "Patient/p1", At: t0, Resource: "Observation/o2", Data: json.RawMessage(`{}`)}}
	for i, evs := range [][]store.Event{e1, e2} {
		if ok, err := s.Complete(ctx, store.Completion{MessageID: rs[i].MessageID, Status: store.StatusProcessed, Events: evs}); !ok || err != nil {
			t.Fatalf("Complete = %v, %v", ok, err)
		}
	}
	got, err := s.Events(ctx, "Patient/p1")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Event{e2[0], e1[0], e1[1]} // by time, then message, then position
	if len(got) != len(want) {
		t.Fatalf("Events = %d events, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !jsonEqual(t, g.Data, w.Data) {
			t.Errorf("event %d data = %s, want %s", i, g.Data, w.Data)
		}
		if g.At.Location() != time.UTC {
			t.Errorf("event %d At not in UTC", i)
		}
		g.Data, w.Data = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
	}
	if got, _ := s.Events(ctx, "Patient/none"); len(got) != 0 {
		t.Fatalf("Events of an unknown patient = %v", got)
	}
}

// jsonEqual compares JSON by value: PostgreSQL keeps event data as JSONB, not as bytes.
func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func testTokens(t *testing.T, s *Store) {
	ctx := t.Context()
	created := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	lis := store.Token{ID: "t1", Name: "lis-prod", Role: store.RoleIntegration, Source: "lis", Hospital: "h1",
		Hash: "aa", CreatedAt: created}
	doc := store.Token{Name: "dr-wang", Role: store.RoleClinician, Hospital: "h1", Departments: []string{"cardio", "icu"},
		Grants: []string{store.GrantSubjects}, Hash: "bb", CreatedAt: created.Add(time.Minute)}
	for _, tok := range []store.Token{lis, doc} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for _, dup := range []store.Token{
		{Name: "lis-prod", Role: store.RoleAdmin, Hash: "cc"}, // same name
		{ID: "t1", Name: "other", Role: store.RoleAdmin, Hash: "dd"},
		{Name: "other2", Role: store.RoleAdmin, Hash: "aa"}, // same secret
	} {
		if err := s.CreateToken(ctx, dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("CreateToken(%+v): %v, want ErrConflict", dup, err)
		}
	}
	got, err := s.TokenByHash(ctx, "aa")
	if err != nil || !reflect.DeepEqual(got, lis) {
		t.Fatalf("TokenByHash = %+v, %v\nwant %+v", got, err, lis)
	}
	gotDoc, err := s.TokenByHash(ctx, "bb")
	if err != nil || gotDoc.ID == "" || !reflect.DeepEqual(gotDoc.Departments, doc.Departments) || !reflect.DeepEqual(gotDoc.Grants, doc.Grants) {
		t.Fatalf("TokenByHash(doc) = %+v, %v", gotDoc, err)
	}
	if _, err := s.TokenByHash(ctx, "zz"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TokenByHash(unknown): %v, want ErrNotFound", err)
	}

	revokedAt := created.Add(time.Hour)
	if err := s.RevokeToken(ctx, "lis-prod", revokedAt); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, gotDoc.ID, time.Time{}); err != nil { // by id
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, "nobody", revokedAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeToken(unknown): %v, want ErrNotFound", err)
	}
	// Revoking again keeps the first time.
	if err := s.RevokeToken(ctx, "t1", revokedAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"aa", "bb"} {
		if _, err := s.TokenByHash(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("TokenByHash of a revoked token: %v, want ErrNotFound", err)
		}
	}
	all, err := s.Tokens(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("Tokens = %v, %v", all, err)
	}
	lis.RevokedAt = revokedAt
	if !reflect.DeepEqual(all[0], lis) {
		t.Fatalf("Tokens[0] = %+v\nwant %+v", all[0], lis)
	}
	if all[1].Name != "dr-wang" || all[1].RevokedAt.IsZero() || all[1].RevokedAt.Location() != time.UTC {
		t.Fatalf("Tokens[1] = %+v", all[1])
	}
}

func testAudit(t *testing.T, s *Store) {
	ctx := t.Context()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var entries []store.AuditEntry
	for i := range 3 {
		e := store.AuditEntry{At: base.Add(time.Duration(i) * time.Minute), Actor: fmt.Sprint("dr", i), Role: store.RoleClinician,
			Action: "read", Resource: "Patient/p1", PatientKey: "Patient/p1", RemoteAddr: "10.0.0.1", RequestID: fmt.Sprint("r", i)}
		entries = append(entries, e)
		if err := s.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AuditLog(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []store.AuditEntry{entries[2], entries[1]}) {
		t.Fatalf("AuditLog(2) = %+v, want the two newest", got)
	}
	if err := s.Audit(ctx, store.AuditEntry{Actor: "qc", Role: store.RoleQC, Action: "search"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.AuditLog(ctx, 0)
	if err != nil || len(got) != 4 || got[0].Actor != "qc" || got[0].At.IsZero() {
		t.Fatalf("AuditLog = %+v, %v: want 4, the one stamped now first", got, err)
	}
}

// testTimesUTC passes times in another zone and with nanoseconds: they come back in UTC at
// microsecond precision, the same instants.
func testTimesUTC(t *testing.T, s *Store) {
	ctx := t.Context()
	shanghai := time.FixedZone("CST", 8*3600)
	src := time.Date(2026, 3, 1, 16, 0, 0, 123456789, shanghai)
	in := res("Observation", "o1", "h")
	in.SourceUpdated = src
	r := accept(t, s, in)[0]
	m := message(t, s, r.MessageID)
	want := src.Truncate(time.Microsecond).UTC()
	if m.SourceUpdated != want || m.ReceivedAt.Location() != time.UTC || r.LastUpdated != m.ReceivedAt {
		t.Fatalf("SourceUpdated = %v (want %v), ReceivedAt = %v, LastUpdated = %v", m.SourceUpdated, want, m.ReceivedAt, r.LastUpdated)
	}
	if got := resource(t, s, "Observation", "o1").LastUpdated; got != r.LastUpdated {
		t.Fatalf("Resource.LastUpdated = %v, want %v", got, r.LastUpdated)
	}
	// Stale is judged at the stored precision: a nanosecond earlier is the same microsecond.
	same := res("Observation", "o1", "h2")
	same.SourceUpdated = src.Add(-time.Nanosecond)
	if got := accept(t, s, same)[0]; got.Outcome != store.OutcomeUpdated {
		t.Fatalf("version a nanosecond older: %s, want updated", got.Outcome)
	}
	if err := s.Audit(ctx, store.AuditEntry{At: src, Actor: "a"}); err != nil {
		t.Fatal(err)
	}
	if log, _ := s.AuditLog(ctx, 1); len(log) != 1 || log[0].At != want {
		t.Fatalf("audit At = %v, want %v", log, want)
	}
}
