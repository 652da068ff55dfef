package clinical

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
)

// process is one run of the service's clinical half: a queue whose consumer runs the runner.
type process struct {
	q      *queue.Memory
	r      *Runner
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func start(t *testing.T, st *sqlstore.Store, cv *criticalvalue.Engine) *process {
	q := queue.NewMemory(queue.MemoryOptions{})
	r := New(st, []Named{{Name: "criticalvalue", Core: cv}}, Options{Scheduler: q})
	ctx, cancel := context.WithCancel(context.Background())
	p := &process{q: q, r: r, cancel: cancel}
	p.wg.Go(func() { _ = q.Consume(ctx, r.Run) })
	if _, err := r.Reschedule(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *process) stop() { p.cancel(); p.wg.Wait(); p.q.Close() }

// TestEscalationResumesAfterRestart: a critical value is detected, the process stops before
// the first escalation is due, a new process starts from the same store, and the chain goes
// on at its times — the timers are rows in the store, not memory.
func TestEscalationResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, err := sqlstore.OpenSQLite(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cv, err := criticalvalue.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		released := time.Now()
		data, _ := json.Marshal(mapping.ResultData{Code: mapping.Concept{System: "http://loinc.org", Code: "2823-3", Display: "钾"}, Status: "final",
			Value: &mapping.Value{Type: "quantity", Number: "6.9", Unit: "mmol/L"}, Issued: &released,
			Interpretation: []mapping.Code{{System: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", Code: "HH"}}})
		res, err := st.Accept(ctx, []store.Incoming{{Source: "lis", Type: "Observation", ID: "k1", Body: []byte(`{}`), Hash: "h", PatientKey: "Patient/p1"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CompleteAll(ctx, []store.Completion{{MessageID: res[0].MessageID, Status: store.StatusProcessed, Events: []store.Event{
			{Key: "Observation/k1#result", Version: 1, Kind: mapping.KindResult, Patient: "Patient/p1", At: released, Resource: "Observation/k1", Data: data}}}}); err != nil {
			t.Fatal(err)
		}

		p1 := start(t, st, cv)
		p1.q.Publish(ctx, "Patient/p1")
		time.Sleep(3 * time.Minute) // the value is notified; nobody acknowledges
		synctest.Wait()
		p1.stop() // the process dies before +5 min

		time.Sleep(4 * time.Minute) // down for four minutes: +7 min, the first step passed while down
		p2 := start(t, st, cv)
		defer p2.stop()
		time.Sleep(time.Second)
		synctest.Wait()
		level := func() float64 {
			rs, _ := st.Records(ctx, store.RecordFilter{Kind: criticalvalue.RecordKind})
			if len(rs) != 1 {
				t.Fatalf("%d records", len(rs))
			}
			var b map[string]any
			json.Unmarshal(rs[0].Body, &b)
			return b["escalation_level"].(float64)
		}
		if l := level(); l != 1 {
			t.Fatalf("after restart at +7 min: escalation level %v, want 1 (the +5 step fired at once)", l)
		}
		time.Sleep(3*time.Minute + time.Second) // +10 min: on-call physician, on time
		synctest.Wait()
		if l := level(); l != 2 {
			t.Fatalf("at +10 min: level %v, want 2", l)
		}
		evs, _ := st.Stream(ctx, 0, 100)
		var escalations []time.Time
		for _, e := range evs {
			if e.Name == "critical-value.escalated" {
				escalations = append(escalations, e.At)
			}
		}
		if len(escalations) != 2 || !escalations[0].Equal(released.Add(5*time.Minute).UTC()) || !escalations[1].Equal(released.Add(10*time.Minute).UTC()) {
			t.Fatalf("escalations at %v, want +5 and +10 min after %v", escalations, released)
		}
	})
}
