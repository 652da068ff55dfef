package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/adapters/worker"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/grading"
)

// pipeline is the real path: intake → store → queue → worker → clinical mapping.
type pipeline struct {
	st *sqlstore.Store
	in *intake.Service
	q  *queue.Memory
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	maps, err := codemap.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := profile.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	grades, err := grading.Example()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.New(worker.Resources{Store: st}, mapping.Options{Profiles: profiles, CodeMaps: maps, Grades: grades})
	if err != nil {
		t.Fatal(err)
	}
	q := queue.NewMemory(queue.MemoryOptions{})
	w := worker.New(st, m, worker.Options{Queue: q})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Consume(cctx, w.Handle) }()
	t.Cleanup(func() { cancel(); <-done; q.Close() })
	return &pipeline{st: st, in: intake.New(st, q, intake.Options{}), q: q}
}

// settle waits until nothing is left to process: no received message and no delivery waiting
// or in a handler (a handler may be between recording a park and unparking it), twice in a row.
func (p *pipeline) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	quiet := 0
	for quiet < 2 {
		keys, err := p.st.Backlog(context.Background(), time.Now().Add(time.Hour), 1)
		if err != nil {
			t.Fatal(err)
		}
		depth, err := p.q.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 && depth == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not drain the inbox")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// latest is the latest event per key, as consumers read events.
func latest(t *testing.T, st *sqlstore.Store, patient string) map[string]string {
	t.Helper()
	events, err := st.Events(context.Background(), patient)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	version := map[string]int64{}
	for _, e := range events {
		if v, seen := version[e.Key]; seen && e.Version < v {
			continue
		}
		version[e.Key] = e.Version
		b, _ := json.Marshal(struct {
			Kind, Encounter string
			At              time.Time
			Data            json.RawMessage
		}{e.Kind, e.Encounter, e.At, e.Data})
		out[e.Key] = string(b)
	}
	return out
}

// TestShuffledOrderConverges sends one patient's whole story — as HIS, LIS and PACS send it —
// in several random orders through the real pipeline. Whatever arrives early is parked and
// applied when its dependency arrives; the latest event per key must be the same every time.
func TestShuffledOrderConverges(t *testing.T) {
	g := synth.New(3, synth.Options{Mix: map[string]int{synth.ColonCancer: 1}})
	facility := g.Facility()
	story := g.Patient()
	patient := "Patient/" + story.PatientID

	send := func(p *pipeline, rs []synth.Resource) {
		for _, r := range rs {
			if _, err := p.in.Resource(context.Background(), intake.Source{System: string(r.Source)}, r.Type, r.ID, r.JSON); err != nil {
				t.Fatalf("send %s: %v", r.Type, err)
			}
		}
	}
	var want map[string]string
	for round := range 4 {
		p := newPipeline(t)
		send(p, facility)
		events := append([]synth.Resource(nil), story.Events...)
		if round > 0 {
			rand.New(rand.NewPCG(uint64(round), 9)).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
		}
		send(p, events)
		p.settle(t)
		parked, err := p.st.Messages(context.Background(), store.MessageFilter{Status: store.StatusParked})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range parked {
			t.Errorf("round %d: %s/%s still parked: %s", round, m.Type, m.ResourceID, m.Error)
		}
		got := latest(t, p.st, patient)
		if round == 0 {
			want = got
			if len(want) < 5 {
				t.Fatalf("only %d events from a whole stay", len(want))
			}
			continue
		}
		if diff := compare(want, got); diff != "" {
			t.Errorf("round %d (shuffled) differs from the ordered run:\n%s", round, diff)
		}
	}
}

func compare(want, got map[string]string) string {
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := ""
	for _, k := range keys {
		if want[k] != got[k] {
			out += fmt.Sprintf("  %s\n    want %s\n    got  %s\n", k, want[k], got[k])
		}
	}
	return out
}

// TestDeleteWithdrawsEvents deletes an admission through a transaction: the worker gives the
// mapper the deleted content, and the latest event of the admission is a cancellation.
func TestDeleteWithdrawsEvents(t *testing.T) {
	p := newPipeline(t)
	ctx := context.Background()
	send := func(raw string) {
		t.Helper()
		if _, _, err := p.in.Bundle(ctx, intake.Source{System: "his"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Patient","id":"pd"},"request":{"method":"PUT","url":"Patient/pd"}},
	 {"resource":{"resourceType":"Encounter","id":"ed","status":"in-progress",
	   "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
	   "subject":{"reference":"Patient/pd"},"period":{"start":"2026-11-01T08:00:00+08:00"}},
	  "request":{"method":"PUT","url":"Encounter/ed"}}]}`)
	p.settle(t)
	before := latest(t, p.st, "Patient/pd")
	if !strings.Contains(before["Encounter/ed#admitted"], `"Kind":"admitted"`) {
		t.Fatalf("no admission before the delete: %v", before)
	}
	send(`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Encounter/ed"}}]}`)
	p.settle(t)
	after := latest(t, p.st, "Patient/pd")
	if got := after["Encounter/ed#admitted"]; !strings.Contains(got, `"Kind":"cancelled"`) {
		t.Errorf("after the delete the admission is %s, want cancelled", got)
	}
	msgs, err := p.st.Messages(ctx, store.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if del := msgs[len(msgs)-1]; !del.Deleted || del.PatientKey != "Patient/pd" {
		t.Errorf("the delete is filed under %q (deleted %v), want the patient's key", del.PatientKey, del.Deleted)
	}
}
