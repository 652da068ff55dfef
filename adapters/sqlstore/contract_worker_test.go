package sqlstore

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

// Contract tests of what the worker records beside a verdict (flags, waits, unmapped codes),
// of Unpark and RequeueAll, and of configuration documents. Registered in runContract.

func complete(t *testing.T, s *Store, c store.Completion) {
	t.Helper()
	if ok, err := s.Complete(t.Context(), c); !ok || err != nil {
		t.Fatalf("Complete(%d, %s) = %v, %v, want true", c.MessageID, c.Status, ok, err)
	}
}

// waitRowCount counts message_waits rows, of one message when id is not 0.
func waitRowCount(t *testing.T, s *Store, id int64) int {
	t.Helper()
	q, args := "SELECT COUNT(*) FROM message_waits", []any{}
	if id != 0 {
		q, args = q+" WHERE message_id = ?", []any{id}
	}
	var n int
	if err := s.queryRow(t.Context(), s.r, q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func unpark(t *testing.T, s *Store, refs ...string) []string {
	t.Helper()
	keys, err := s.Unpark(t.Context(), refs)
	if err != nil {
		t.Fatalf("Unpark(%v): %v", refs, err)
	}
	return keys
}

func testFlagsAndNeeds(t *testing.T, s *Store) {
	ctx := t.Context()
	rs := accept(t, s, res("Observation", "a", "h"), res("Observation", "b", "h"), res("Observation", "c", "h"))
	complete(t, s, store.Completion{MessageID: rs[0].MessageID, Status: store.StatusProcessed,
		Flags: []string{"result-without-unit", "odd, with a comma"}, Needs: []string{"Encounter/kept-not"}})
	complete(t, s, store.Completion{MessageID: rs[1].MessageID, Status: store.StatusParked, Error: "no encounter",
		Flags: []string{"late"}, Needs: []string{"Patient/p9", "Encounter/e1", "", "Patient/p9"}})
	complete(t, s, store.Completion{MessageID: rs[2].MessageID, Status: store.StatusFailed, Error: "x"})

	a := message(t, s, rs[0].MessageID)
	if !reflect.DeepEqual(a.Flags, []string{"result-without-unit", "odd, with a comma"}) || a.Needs != nil {
		t.Fatalf("processed message flags %q needs %q", a.Flags, a.Needs)
	}
	// Needs are kept for parked messages only, distinct, without empty ones, sorted.
	wantNeeds := []string{"Encounter/e1", "Patient/p9"}
	b := message(t, s, rs[1].MessageID)
	if !reflect.DeepEqual(b.Flags, []string{"late"}) || !reflect.DeepEqual(b.Needs, wantNeeds) || b.Error != "no encounter" {
		t.Fatalf("parked message = %+v", b)
	}
	if c := message(t, s, rs[2].MessageID); c.Flags != nil || c.Needs != nil {
		t.Fatalf("failed message flags %q needs %q, want none", c.Flags, c.Needs)
	}
	if n := waitRowCount(t, s, 0); n != 2 {
		t.Fatalf("%d wait rows, want the parked message's 2", n)
	}
	ms, err := s.Messages(ctx, store.MessageFilter{})
	if err != nil || len(ms) != 3 {
		t.Fatalf("Messages = %v, %v", ms, err)
	}
	if !reflect.DeepEqual(ms[0].Flags, a.Flags) || !reflect.DeepEqual(ms[1].Needs, wantNeeds) || !reflect.DeepEqual(ms[1].Flags, b.Flags) {
		t.Fatalf("Messages flags/needs = %q %q / %q", ms[0].Flags, ms[1].Flags, ms[1].Needs)
	}
	if ms, _ := s.Messages(ctx, store.MessageFilter{Status: store.StatusParked}); len(ms) != 1 || !reflect.DeepEqual(ms[0].Needs, wantNeeds) {
		t.Fatalf("Messages(parked) = %+v", ms)
	}

	// Back to received: the flags stay (Pending shows them) until the next verdict replaces them.
	if keys := unpark(t, s, "Encounter/e1"); !reflect.DeepEqual(keys, []string{"Patient/p1"}) {
		t.Fatalf("Unpark = %v", keys)
	}
	pend, err := s.Pending(ctx, "Patient/p1", 0)
	if err != nil || len(pend) != 1 || pend[0].ID != rs[1].MessageID || !reflect.DeepEqual(pend[0].Flags, []string{"late"}) || pend[0].Needs != nil {
		t.Fatalf("Pending = %+v, %v", pend, err)
	}
	complete(t, s, store.Completion{MessageID: rs[1].MessageID, Status: store.StatusProcessed})
	if b := message(t, s, rs[1].MessageID); b.Flags != nil || b.Needs != nil {
		t.Fatalf("after a verdict without flags: flags %q needs %q", b.Flags, b.Needs)
	}
}

func testUnpark(t *testing.T, s *Store) {
	ctx := t.Context()
	in := []store.Incoming{res("Observation", "m1", "h"), res("Observation", "m2", "h"), res("Observation", "m3", "h"),
		res("Observation", "m4", "h"), res("Observation", "m5", "h"), res("Observation", "m6", "h")}
	for i := range in {
		in[i].PatientKey = fmt.Sprint("Patient/p", i+1)
	}
	rs := accept(t, s, in...)
	id := func(i int) int64 { return rs[i].MessageID }
	complete(t, s, store.Completion{MessageID: id(0), Status: store.StatusParked, Error: "wait", Needs: []string{"Encounter/e1", "Encounter/e2"}})
	complete(t, s, store.Completion{MessageID: id(1), Status: store.StatusParked, Error: "wait", Needs: []string{"Encounter/e2"}})
	complete(t, s, store.Completion{MessageID: id(2), Status: store.StatusParked, Error: "wait", Needs: []string{"Encounter/e3"}})
	complete(t, s, store.Completion{MessageID: id(3), Status: store.StatusFailed, Error: "bad", Needs: []string{"Encounter/e2"}})
	complete(t, s, store.Completion{MessageID: id(4), Status: store.StatusProcessed, Needs: []string{"Encounter/e2"}})
	// m6 is parked without waits: only RequeueAll brings it back.
	complete(t, s, store.Completion{MessageID: id(5), Status: store.StatusParked, Error: "wait"})

	if keys := unpark(t, s, "Encounter/nothing", "Patient/p1"); len(keys) != 0 {
		t.Fatalf("Unpark of refs nothing waits for = %v", keys)
	}
	if keys := unpark(t, s); len(keys) != 0 {
		t.Fatalf("Unpark() = %v", keys)
	}
	keys := unpark(t, s, "Encounter/e2", "Encounter/e2", "Encounter/nothing")
	if !reflect.DeepEqual(keys, []string{"Patient/p1", "Patient/p2"}) {
		t.Fatalf("Unpark(Encounter/e2) = %v, want [Patient/p1 Patient/p2]", keys)
	}
	for i, want := range []store.Status{store.StatusReceived, store.StatusReceived, store.StatusParked, store.StatusFailed,
		store.StatusProcessed, store.StatusParked} {
		m := message(t, s, id(i))
		if m.Status != want {
			t.Fatalf("m%d status %s, want %s", i+1, m.Status, want)
		}
		if want == store.StatusReceived && (m.Error != "" || !m.ProcessedAt.IsZero() || m.Needs != nil) {
			t.Fatalf("unparked m%d = %+v", i+1, m)
		}
	}
	// All of m1's waits went, Encounter/e1 included; m3's stays.
	if n := waitRowCount(t, s, id(0)); n != 0 {
		t.Fatalf("m1 keeps %d wait rows", n)
	}
	if n := waitRowCount(t, s, 0); n != 1 {
		t.Fatalf("%d wait rows left, want m3's", n)
	}
	if m := message(t, s, id(2)); !reflect.DeepEqual(m.Needs, []string{"Encounter/e3"}) {
		t.Fatalf("m3 needs %q", m.Needs)
	}
	for _, ref := range []string{"Encounter/e2", "Encounter/e1"} {
		if keys := unpark(t, s, ref); len(keys) != 0 {
			t.Fatalf("second Unpark(%s) = %v, want nothing", ref, keys)
		}
	}
	// An unparked message is worked again like any received one, and may park again.
	complete(t, s, store.Completion{MessageID: id(0), Status: store.StatusParked, Needs: []string{"Encounter/e1"}})
	if keys := unpark(t, s, "Encounter/e3", "Encounter/e1"); !reflect.DeepEqual(keys, []string{"Patient/p1", "Patient/p3"}) {
		t.Fatalf("Unpark(e3, e1) = %v", keys)
	}
	if n := waitRowCount(t, s, 0); n != 0 {
		t.Fatalf("%d wait rows left", n)
	}
	if m := message(t, s, id(5)); m.Status != store.StatusParked {
		t.Fatalf("m6 = %+v, want still parked", m)
	}
	if _, err := s.Messages(ctx, store.MessageFilter{}); err != nil {
		t.Fatal(err)
	}
}

func testRequeueAll(t *testing.T, s *Store) {
	ctx := t.Context()
	var in []store.Incoming
	for i := range 6 {
		e := res("Observation", fmt.Sprint("o", i), "h")
		e.PatientKey = fmt.Sprint("Patient/p", i)
		if i%2 == 1 {
			e.Source = "lis"
		}
		in = append(in, e)
	}
	rs := accept(t, s, in...)
	id := func(i int) int64 { return rs[i].MessageID }
	// o0 his failed, o1 lis failed, o2 his parked (waits), o3 lis parked (waits), o4 his processed, o5 lis received.
	complete(t, s, store.Completion{MessageID: id(0), Status: store.StatusFailed, Error: "e0"})
	complete(t, s, store.Completion{MessageID: id(1), Status: store.StatusFailed, Error: "e1"})
	complete(t, s, store.Completion{MessageID: id(2), Status: store.StatusParked, Error: "w", Needs: []string{"Encounter/x"}})
	complete(t, s, store.Completion{MessageID: id(3), Status: store.StatusParked, Error: "w", Needs: []string{"Encounter/x", "Encounter/y"}})
	complete(t, s, store.Completion{MessageID: id(4), Status: store.StatusProcessed})

	for _, st := range []store.Status{store.StatusReceived, store.StatusProcessed, store.Status("stale"), ""} {
		if keys, err := s.RequeueAll(ctx, st, ""); err == nil {
			t.Fatalf("RequeueAll(%q) = %v, want an error", st, keys)
		}
	}
	status := func() []store.Status {
		var out []store.Status
		for i := range rs {
			out = append(out, message(t, s, id(i)).Status)
		}
		return out
	}
	R, F, P, D := store.StatusReceived, store.StatusFailed, store.StatusParked, store.StatusProcessed
	if got := status(); !reflect.DeepEqual(got, []store.Status{F, F, P, P, D, R}) {
		t.Fatalf("statuses after refused RequeueAll = %v", got)
	}

	keys, err := s.RequeueAll(ctx, store.StatusFailed, "lis")
	if err != nil || !reflect.DeepEqual(keys, []string{"Patient/p1"}) {
		t.Fatalf("RequeueAll(failed, lis) = %v, %v", keys, err)
	}
	if got := status(); !reflect.DeepEqual(got, []store.Status{F, R, P, P, D, R}) {
		t.Fatalf("statuses = %v", got)
	}
	if m := message(t, s, id(1)); m.Error != "" || !m.ProcessedAt.IsZero() {
		t.Fatalf("requeued message = %+v", m)
	}
	if keys, err := s.RequeueAll(ctx, store.StatusFailed, "nobody"); err != nil || len(keys) != 0 {
		t.Fatalf("RequeueAll(failed, unknown source) = %v, %v", keys, err)
	}

	keys, err = s.RequeueAll(ctx, store.StatusParked, "")
	if err != nil || !reflect.DeepEqual(keys, []string{"Patient/p2", "Patient/p3"}) {
		t.Fatalf("RequeueAll(parked) = %v, %v", keys, err)
	}
	if got := status(); !reflect.DeepEqual(got, []store.Status{F, R, R, R, D, R}) {
		t.Fatalf("statuses = %v", got)
	}
	if n := waitRowCount(t, s, 0); n != 0 {
		t.Fatalf("%d wait rows after requeueing every parked message", n)
	}
	if keys := unpark(t, s, "Encounter/x"); len(keys) != 0 {
		t.Fatalf("Unpark after RequeueAll = %v", keys)
	}

	keys, err = s.RequeueAll(ctx, store.StatusFailed, "")
	if err != nil || !reflect.DeepEqual(keys, []string{"Patient/p0"}) {
		t.Fatalf("RequeueAll(failed) = %v, %v", keys, err)
	}
	if keys, err := s.RequeueAll(ctx, store.StatusFailed, ""); err != nil || len(keys) != 0 {
		t.Fatalf("second RequeueAll(failed) = %v, %v", keys, err)
	}

	// Requeue by id clears the waits of a parked message too.
	complete(t, s, store.Completion{MessageID: id(2), Status: store.StatusParked, Needs: []string{"Encounter/z"}})
	if keys, err := s.Requeue(ctx, []int64{id(2)}); err != nil || !reflect.DeepEqual(keys, []string{"Patient/p2"}) {
		t.Fatalf("Requeue = %v, %v", keys, err)
	}
	if n := waitRowCount(t, s, 0); n != 0 {
		t.Fatalf("%d wait rows after Requeue", n)
	}
}

func testUnmappedCodes(t *testing.T, s *Store) {
	ctx := t.Context()
	if got, err := s.UnmappedCodes(ctx, 0); err != nil || len(got) != 0 {
		t.Fatalf("UnmappedCodes of an empty store = %v, %v", got, err)
	}
	var in []store.Incoming
	for i := range 6 {
		e := res("Observation", fmt.Sprint("o", i), "h")
		if i == 3 {
			e.Source = "lis"
		}
		in = append(in, e)
	}
	rs := accept(t, s, in...)
	id := func(i int) int64 { return rs[i].MessageID }
	const loinc = "http://loinc.org"
	start := time.Now().Add(-time.Second)

	// Listed twice in one verdict: counted once. A code without a code is not counted.
	complete(t, s, store.Completion{MessageID: id(0), Status: store.StatusProcessed, Unmapped: []store.Code{
		{System: loinc, Code: "c1", Display: "First"}, {System: loinc, Code: "c1"}, {System: loinc, Code: "c2"}, {System: loinc}}})
	// An empty display keeps the one seen before; a failed verdict counts too.
	complete(t, s, store.Completion{MessageID: id(1), Status: store.StatusFailed, Error: "x", Unmapped: []store.Code{{System: loinc, Code: "c1"}}})
	// Another source is counted apart.
	complete(t, s, store.Completion{MessageID: id(3), Status: store.StatusParked, Unmapped: []store.Code{{System: loinc, Code: "c1", Display: "From LIS"}}})
	// In one batch: both verdicts count, the later display wins.
	done, err := s.CompleteAll(ctx, []store.Completion{
		{MessageID: id(2), Status: store.StatusProcessed, Unmapped: []store.Code{{System: loinc, Code: "c2", Display: "D2"}}},
		{MessageID: id(4), Status: store.StatusProcessed, Unmapped: []store.Code{{System: loinc, Code: "c2", Display: "D2b"}}},
		{MessageID: id(5), Status: store.StatusProcessed, Unmapped: []store.Code{{System: "urn:local", Code: "z", Display: "Z"}}},
	})
	if err != nil || !reflect.DeepEqual(done, []bool{true, true, true}) {
		t.Fatalf("CompleteAll = %v, %v", done, err)
	}

	got, err := s.UnmappedCodes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		system, code, display, source string
		count                         int64
	}
	var rows []row
	for _, c := range got {
		rows = append(rows, row{c.System, c.Code, c.Display, c.Source, c.Count})
		if c.FirstSeen.Before(start) || c.LastSeen.Before(c.FirstSeen) || c.LastSeen.Location() != time.UTC {
			t.Errorf("%s|%s first seen %v, last seen %v", c.System, c.Code, c.FirstSeen, c.LastSeen)
		}
	}
	want := []row{
		{loinc, "c2", "D2b", "his", 3},
		{loinc, "c1", "First", "his", 2},
		{loinc, "c1", "From LIS", "lis", 1},
		{"urn:local", "z", "Z", "his", 1},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("UnmappedCodes = %+v\nwant %+v", rows, want)
	}
	// c1 and c2 from his were first seen by the first verdict, at the same time; c2 and z
	// last by the batch, at the same time; c1 from his last by the second verdict, after c2's
	// first sighting and before the batch.
	c2, c1, z := got[0], got[1], got[3]
	if !c1.FirstSeen.Equal(c2.FirstSeen) || !c2.LastSeen.Equal(z.LastSeen) || !z.FirstSeen.Equal(z.LastSeen) ||
		c1.LastSeen.Before(c1.FirstSeen) || c2.LastSeen.Before(c1.LastSeen) {
		t.Fatalf("seen times: c1 %v..%v, c2 %v..%v, z %v..%v", c1.FirstSeen, c1.LastSeen, c2.FirstSeen, c2.LastSeen, z.FirstSeen, z.LastSeen)
	}
	if top, err := s.UnmappedCodes(ctx, 1); err != nil || len(top) != 1 || top[0].Code != "c2" {
		t.Fatalf("UnmappedCodes(1) = %+v, %v", top, err)
	}
}

// testLostRace checks that a verdict that lost the race (returned false) wrote nothing: no
// waits, no code counts, no flags, no events.
func testLostRace(t *testing.T, s *Store) {
	ctx := t.Context()
	rs := accept(t, s, res("Observation", "a", "h"), res("Observation", "b", "h"))
	a, b := rs[0].MessageID, rs[1].MessageID
	complete(t, s, store.Completion{MessageID: a, Status: store.StatusProcessed})
	late := store.Completion{MessageID: a, Status: store.StatusParked, Needs: []string{"Encounter/e1"}, Flags: []string{"late"},
		Unmapped: []store.Code{{System: "s", Code: "c"}}, Events: []store.Event{{Kind: "k", Patient: "Patient/p1", At: time.Now()}}}
	if ok, err := s.Complete(ctx, late); ok || err != nil {
		t.Fatalf("late Complete = %v, %v, want false", ok, err)
	}
	// In a batch, the repeated verdict on b loses to the first.
	winner := store.Completion{MessageID: b, Status: store.StatusProcessed}
	loser := late
	loser.MessageID = b
	done, err := s.CompleteAll(ctx, []store.Completion{winner, loser, late})
	if err != nil || !reflect.DeepEqual(done, []bool{true, false, false}) {
		t.Fatalf("CompleteAll = %v, %v", done, err)
	}
	if n := waitRowCount(t, s, 0); n != 0 {
		t.Fatalf("%d wait rows written by losing verdicts", n)
	}
	if got, err := s.UnmappedCodes(ctx, 0); err != nil || len(got) != 0 {
		t.Fatalf("UnmappedCodes = %+v, %v: losing verdicts counted", got, err)
	}
	for _, id := range []int64{a, b} {
		if m := message(t, s, id); m.Status != store.StatusProcessed || m.Flags != nil || m.Needs != nil {
			t.Fatalf("message = %+v", m)
		}
	}
	if ev, _ := s.Events(ctx, "Patient/p1"); len(ev) != 0 {
		t.Fatalf("%d events from losing verdicts", len(ev))
	}
}

func testReceivedBefore(t *testing.T, s *Store) {
	ctx := t.Context()
	r1 := accept(t, s, res("Observation", "old", "h"), res("Observation", "old2", "h"))
	time.Sleep(2 * time.Millisecond)
	r2 := accept(t, s, res("Observation", "new", "h"))[0]
	if !r2.LastUpdated.After(r1[0].LastUpdated) {
		t.Fatalf("second Accept stamped %v, not after %v", r2.LastUpdated, r1[0].LastUpdated)
	}
	complete(t, s, store.Completion{MessageID: r1[0].MessageID, Status: store.StatusParked})
	complete(t, s, store.Completion{MessageID: r2.MessageID, Status: store.StatusParked})
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
	old, old2, young := r1[0].MessageID, r1[1].MessageID, r2.MessageID
	for _, c := range []struct {
		f    store.MessageFilter
		want []int64
	}{
		{store.MessageFilter{}, []int64{old, old2, young}},
		{store.MessageFilter{ReceivedBefore: r2.LastUpdated}, []int64{old, old2}},
		{store.MessageFilter{ReceivedBefore: r2.LastUpdated, Status: store.StatusParked}, []int64{old}},
		{store.MessageFilter{ReceivedBefore: r2.LastUpdated.Add(time.Microsecond), Status: store.StatusParked}, []int64{old, young}},
		{store.MessageFilter{ReceivedBefore: r1[0].LastUpdated}, nil}, // strictly before
		{store.MessageFilter{ReceivedBefore: r2.LastUpdated, Source: "lis"}, nil},
		{store.MessageFilter{ReceivedBefore: r2.LastUpdated, After: old, Limit: 1}, []int64{old2}},
	} {
		if got := ids(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Messages(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
}

func testDocuments(t *testing.T, s *Store) {
	ctx := t.Context()
	if _, err := s.Document(ctx, "codemap", "lab"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Document of an empty store: %v, want ErrNotFound", err)
	}
	if got, err := s.Documents(ctx, "codemap"); err != nil || len(got) != 0 {
		t.Fatalf("Documents of an empty store = %v, %v", got, err)
	}
	shanghai := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 3, 1, 16, 0, 0, 123456789, shanghai)
	lab := store.Document{Kind: "codemap", ID: "lab", Version: "1", Body: []byte("codes:\n  - {from: GLU, to: 2345-7}\n"),
		UpdatedAt: at, UpdatedBy: "admin"}
	alpha := store.Document{Kind: "codemap", ID: "alpha", Version: "7", Body: []byte(`{"codes":[]}`), UpdatedAt: at, UpdatedBy: "it"}
	pathway := store.Document{Kind: "pathway", ID: "lab", Version: "1", Body: []byte("steps: []\n"), UpdatedAt: at, UpdatedBy: "qc"}
	for _, d := range []store.Document{lab, alpha, pathway} {
		if err := s.PutDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	norm := func(d store.Document) store.Document {
		d.UpdatedAt = d.UpdatedAt.Truncate(time.Microsecond).UTC()
		return d
	}
	got, err := s.Document(ctx, "codemap", "lab")
	if err != nil || !reflect.DeepEqual(got, norm(lab)) {
		t.Fatalf("Document = %+v, %v\nwant %+v", got, err, norm(lab))
	}
	// Replaced whole.
	lab2 := store.Document{Kind: "codemap", ID: "lab", Version: "2", Body: []byte("codes: []\n"), UpdatedBy: "other"}
	before := time.Now().Add(-time.Second)
	if err := s.PutDocument(ctx, lab2); err != nil {
		t.Fatal(err)
	}
	got, err = s.Document(ctx, "codemap", "lab")
	if err != nil || got.Version != "2" || !bytes.Equal(got.Body, lab2.Body) || got.UpdatedBy != "other" ||
		got.UpdatedAt.Before(before) || got.UpdatedAt.Location() != time.UTC {
		t.Fatalf("replaced Document = %+v, %v", got, err)
	}
	all, err := s.Documents(ctx, "codemap")
	if err != nil || len(all) != 2 || all[0].ID != "alpha" || all[1].ID != "lab" || all[1].Version != "2" {
		t.Fatalf("Documents(codemap) = %+v, %v, want alpha then lab v2", all, err)
	}
	if !reflect.DeepEqual(all[0], norm(alpha)) {
		t.Fatalf("Documents[0] = %+v\nwant %+v", all[0], norm(alpha))
	}
	if got, err := s.Document(ctx, "pathway", "lab"); err != nil || !reflect.DeepEqual(got, norm(pathway)) {
		t.Fatalf("Document(pathway) = %+v, %v", got, err)
	}
	if _, err := s.Document(ctx, "codemap", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Document(unknown id): %v, want ErrNotFound", err)
	}
	for _, bad := range []store.Document{{ID: "x"}, {Kind: "codemap"}} {
		if err := s.PutDocument(ctx, bad); err == nil {
			t.Fatalf("PutDocument(%+v) succeeded", bad)
		}
	}
	// A document without a body is stored empty.
	if err := s.PutDocument(ctx, store.Document{Kind: "template", ID: "empty"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Document(ctx, "template", "empty"); err != nil || got.Body == nil || len(got.Body) != 0 {
		t.Fatalf("empty Document = %+v, %v", got, err)
	}
}
