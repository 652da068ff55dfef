package mllp_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/mapping/bundle"
)

// downIntake is an intake that cannot store (its database is away): every Bundle fails.
type downIntake struct{ calls chan struct{} }

func (d downIntake) Bundle(context.Context, intake.Source, []byte) (*bundle.Bundle, []intake.Result, error) {
	select {
	case d.calls <- struct{}{}:
	default:
	}
	return nil, nil, errors.New("database unreachable")
}

// recordingIntake keeps the Provenance display ("HL7 v2 ORU^R01 <control id>") of each Bundle
// in the order given.
type recordingIntake struct {
	mu  sync.Mutex
	got []string
}

func (r *recordingIntake) Bundle(_ context.Context, _ intake.Source, raw []byte) (*bundle.Bundle, []intake.Result, error) {
	s := string(raw)
	i := strings.Index(s, `"display":"HL7 v2 `)
	if i < 0 {
		return nil, nil, errors.New("no provenance")
	}
	rest := s[i+len(`"display":"HL7 v2 `):]
	r.mu.Lock()
	r.got = append(r.got, rest[:strings.IndexByte(rest, '"')])
	r.mu.Unlock()
	return &bundle.Bundle{}, nil, nil
}

// labStore is an empty SQLite store, closed at cleanup, and the laboratory peer of these tests.
func labStore(t *testing.T) (*sqlstore.Store, *mllp.Peer) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, &mllp.Peer{Name: "lab", Source: "lis", Charset: "GB18030", Mapping: hl7v2.Options{MRNSystem: mrnSystem}}
}

// TestAcknowledgedBeforeApplied: a message is acknowledged AA once stored, though its FHIR
// cannot be applied yet; it stays received through a stop, and the next handler applies it
// with Resume, each patient's in the order received, and records the verdict.
func TestAcknowledgedBeforeApplied(t *testing.T) {
	ctx := t.Context()
	st, lab := labStore(t)
	peers := []*mllp.Peer{lab}

	down := downIntake{calls: make(chan struct{}, 1)}
	first := mllp.NewHandler(down, st, mllp.HandlerOptions{})
	msgs := []struct{ control, mrn, flag string }{
		{"A-1", "300", "N"}, {"B-1", "301", "N"}, {"A-2", "300", "HH"}, {"A-3", "300", "N"}, {"B-2", "301", "LL"},
	}
	for _, m := range msgs {
		code, _, errSeg := readAck(t, first.Handle(ctx, peers, potassium(m.control, m.mrn, "V", "4.2", m.flag)))
		if code != "AA" {
			t.Fatalf("%s: %s %s", m.control, code, errSeg)
		}
		rec, err := st.HL7Message(ctx, "lab|LIS|HOSP", m.control)
		if err != nil || rec.Status != mllp.StatusReceived {
			t.Fatalf("%s after its AA: %q, %v", m.control, rec.Status, err)
		}
	}
	select {
	case <-down.calls:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler did not try to apply")
	}
	// A resend of an acknowledged message is acknowledged again and not stored twice.
	if code, _, _ := readAck(t, first.Handle(ctx, peers, potassium("A-1", "300", "V", "4.2", "N"))); code != "AA" {
		t.Errorf("resend: %s", code)
	}
	first.Close()

	rec := &recordingIntake{}
	second := mllp.NewHandler(rec, st, mllp.HandlerOptions{})
	defer second.Close()
	n, err := second.Resume(ctx, map[string]*mllp.Peer{"lab": lab})
	if err != nil || n != len(msgs) {
		t.Fatalf("resumed %d, %v; want %d", n, err, len(msgs))
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := second.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	got := strings.Join(rec.got, ",")
	rec.mu.Unlock()
	var a, b []string
	for _, g := range rec.got {
		id := strings.TrimPrefix(g, "ORU^R01 ")
		if strings.HasPrefix(id, "A") {
			a = append(a, id)
		} else {
			b = append(b, id)
		}
	}
	if strings.Join(a, ",") != "A-1,A-2,A-3" || strings.Join(b, ",") != "B-1,B-2" {
		t.Errorf("applied %s: each patient's must come in the order received", got)
	}
	// The verdicts are saved without a wait: Close flushes them.
	second.Close()
	for _, m := range msgs {
		r, err := st.HL7Message(ctx, "lab|LIS|HOSP", m.control)
		if err != nil || r.Status != mllp.StatusAccepted || r.Ack != "AA" {
			t.Errorf("%s once applied: %q %q, %v", m.control, r.Status, r.Ack, err)
		}
	}
	if left, _ := st.ReceivedHL7(ctx, 0, 10); len(left) != 0 {
		t.Errorf("%d still received", len(left))
	}
}

// countingQueue counts the publishes of each key, both lanes together.
type countingQueue struct {
	mu    sync.Mutex
	calls int
	keys  map[string]int
}

func (q *countingQueue) Publish(_ context.Context, keys ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	for _, k := range keys {
		q.keys[k]++
	}
	return nil
}

func (q *countingQueue) PublishUrgent(ctx context.Context, keys ...string) error {
	return q.Publish(ctx, keys...)
}

// TestLaneIsOneDelivery: a patient's waiting messages applied together are stored one by one
// and published to the worker once, so that one delivery applies them all.
func TestLaneIsOneDelivery(t *testing.T) {
	ctx := t.Context()
	st, lab := labStore(t)
	// Received while the intake was away, as after a burst or a crash.
	down := downIntake{calls: make(chan struct{}, 1)}
	first := mllp.NewHandler(down, st, mllp.HandlerOptions{})
	for _, c := range []string{"A-1", "A-2", "A-3"} {
		if code, _, errSeg := readAck(t, first.Handle(ctx, []*mllp.Peer{lab}, potassium(c, "300", "V", "4.2", "N"))); code != "AA" {
			t.Fatalf("%s: %s %s", c, code, errSeg)
		}
	}
	first.Close()
	recs, err := st.ReceivedHL7(ctx, 0, 10)
	if err != nil || len(recs) != 3 {
		t.Fatalf("received %d, %v", len(recs), err)
	}
	q := &countingQueue{keys: map[string]int{}}
	in := intake.New(st, q, intake.Options{})
	defer in.Close()
	h := mllp.NewHandler(in, st, mllp.HandlerOptions{})
	defer h.Close()
	if n := h.ApplyLane(lab, recs); n != 3 {
		t.Fatalf("applied %d of 3", n)
	}
	if q.calls != 1 || len(q.keys) != 1 {
		t.Errorf("published %d times, keys %v: want one publish of the patient", q.calls, q.keys)
	}
	msgs, err := st.Messages(ctx, storeFilter("lis"))
	if err != nil {
		t.Fatal(err)
	}
	results := 0
	for _, m := range msgs {
		if m.Type == "Observation" {
			results++
		}
	}
	if results != 3 {
		t.Errorf("%d results stored, want 3", results)
	}
}
