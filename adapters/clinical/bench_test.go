package clinical

import (
	"context"
	"testing"

	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/adapters/worker"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/grading"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
	"github.com/lujing-health/lujing/pathways/followup"
)

// storeStory stores a synthetic colon cancer stay with its mapped events, as the worker would.
func storeStory(b *testing.B, st *sqlstore.Store) string {
	ctx := context.Background()
	maps, _ := codemap.Builtin()
	profiles, _ := profile.Defaults()
	grades, _ := grading.Example()
	m, err := mapping.New(worker.Resources{Store: st}, mapping.Options{Profiles: profiles, CodeMaps: maps, Grades: grades})
	if err != nil {
		b.Fatal(err)
	}
	s := synth.New(3, synth.Options{Mix: map[string]int{synth.ColonCancer: 1}, CriticalShare: 0.1}).Patient()
	for i, r := range s.Events {
		res, err := st.Accept(ctx, []store.Incoming{{Source: string(r.Source), Type: r.Type, ID: r.ID, Body: r.JSON, Hash: r.Ref() + string(rune(i)),
			PatientKey: "Patient/" + s.PatientID}})
		if err != nil {
			b.Fatal(err)
		}
		out, err := m.Map(ctx, mapping.Input{Type: r.Type, ID: r.ID, Version: res[0].VersionID, Body: r.JSON, Source: string(r.Source)})
		if err != nil {
			b.Fatalf("map %s: %v", r.Ref(), err)
		}
		var evs []store.Event
		for _, e := range out.Events {
			evs = append(evs, store.Event{Key: e.Key, Version: int64(i + 1), Kind: e.Kind, Patient: e.Patient, Encounter: e.Encounter, At: e.At, Resource: e.Resource, Data: e.Data})
		}
		if _, err := st.CompleteAll(ctx, []store.Completion{{MessageID: res[0].MessageID, Status: store.StatusProcessed, Events: evs}}); err != nil {
			b.Fatal(err)
		}
	}
	return "Patient/" + s.PatientID
}

// BenchmarkRun is one run of the three shipped cores for a patient with a whole colon cancer
// stay (≈ 150 events), on SQLite: what every delivery of a patient's work costs after mapping.
func BenchmarkRun(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	patient := storeStory(b, st)
	cv, _ := criticalvalue.New(nil)
	paths, _ := clinicalpath.New(clinicalpath.Library(), clinicalpath.Config{})
	r := New(st, []Named{{Name: "criticalvalue", Core: cv}, {Name: "clinicalpath", Core: paths}, {Name: "followup", Core: followup.New(nil)}}, Options{})
	if err := r.Run(ctx, patient); err != nil {
		b.Fatal(err)
	}
	evs, _ := st.Events(ctx, patient)
	b.ReportMetric(float64(len(evs)), "events")
	b.ResetTimer()
	for b.Loop() {
		if err := r.Run(ctx, patient); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunCriticalValues is the run after a new lab result: the critical-value core only
// (the others are coalesced), for a patient with a whole colon cancer stay.
func BenchmarkRunCriticalValues(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	patient := storeStory(b, st)
	cv, _ := criticalvalue.New(nil)
	r := New(st, []Named{{Name: "criticalvalue", Core: cv, Urgent: criticalvalue.Triggers}}, Options{})
	if err := r.Run(ctx, patient); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := r.Run(ctx, patient); err != nil {
			b.Fatal(err)
		}
	}
}
