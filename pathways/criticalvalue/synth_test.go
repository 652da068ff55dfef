package criticalvalue

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/grading"
	"github.com/lujing-health/lujing/pathways"
)

// The tests here drive the core from real FHIR: synth's HIS/LIS/PACS traffic, mapped by the
// mapping as Lujing ships it (default profiles, code maps, grading catalogue).

type memStore map[string][]byte

func (s memStore) Get(_ context.Context, typ, id string) ([]byte, bool, error) {
	b, ok := s[typ+"/"+id]
	return b, ok, nil
}

func newMapper(t testing.TB, store memStore) *mapping.Clinical {
	t.Helper()
	profiles, err := profile.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	maps, err := codemap.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	grades, err := grading.Example()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.New(store, mapping.Options{Profiles: profiles, CodeMaps: maps, Grades: grades})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// feed maps resources as they arrive, the way the worker does (a resource waiting for another
// is parked and mapped again when that one arrives), and calls after with the patient's
// events so far after each arrival.
type feed struct {
	t       testing.TB
	m       *mapping.Clinical
	store   memStore
	version map[string]int
	parked  []arrival
	events  []mapping.Event
	patient pathways.Patient
}

type arrival struct {
	r       synth.Resource
	version int
	needs   []string
}

func newFeed(t testing.TB, facility []synth.Resource) *feed {
	store := memStore{}
	for _, r := range facility {
		store[r.Ref()] = r.JSON
	}
	return &feed{t: t, m: newMapper(t, store), store: store, version: map[string]int{}}
}

// versions numbers a story's resource versions in the order the sources sent them.
func versions(rs []synth.Resource) []arrival {
	n := map[string]int{}
	var out []arrival
	for _, r := range rs {
		n[r.Ref()]++
		out = append(out, arrival{r: r, version: n[r.Ref()]})
	}
	return out
}

func (f *feed) arrive(a arrival) {
	f.t.Helper()
	if a.version > f.version[a.r.Ref()] {
		f.store[a.r.Ref()] = a.r.JSON
		f.version[a.r.Ref()] = a.version
	}
	if a.r.Type == "Patient" {
		var p struct{ BirthDate, Gender string }
		_ = json.Unmarshal(a.r.JSON, &p)
		f.patient.Gender = p.Gender
		if bd, err := time.Parse("2006-01-02", p.BirthDate); err == nil {
			f.patient.BirthDate = bd
		}
	}
	var again []arrival
	f.parked = slices.DeleteFunc(f.parked, func(w arrival) bool {
		if slices.Contains(w.needs, a.r.Ref()) {
			again = append(again, w)
			return true
		}
		return false
	})
	for _, w := range append(again, a) {
		f.mapOne(w)
	}
}

func (f *feed) mapOne(a arrival) {
	res, err := f.m.Map(context.Background(), mapping.Input{Type: a.r.Type, ID: a.r.ID, Version: a.version, Body: a.r.JSON, Source: string(a.r.Source)})
	var miss *mapping.MissingError
	switch {
	case errors.As(err, &miss):
		a.needs = miss.Needs
		f.parked = append(f.parked, a)
		return
	case err != nil:
		f.t.Fatalf("%s: %v", a.r.Ref(), err)
	}
	for _, e := range res.Events {
		if f.patient.Ref == "" {
			f.patient.Ref = e.Patient
		}
		f.events = append(f.events, e)
	}
}

func (f *feed) input(now time.Time) pathways.Input {
	return pathways.Input{Patient: f.patient, Facts: pathways.InForce(f.events), Now: now}
}

// flaggedCriticals are the Keys of the results and imaging reports the sources flagged HH,
// LL or AA.
func flaggedCriticals(facts []mapping.Event) []string {
	var out []string
	for _, f := range pathways.Holding(facts) {
		var d struct {
			Interpretation  []mapping.Code `json:"interpretation"`
			ConclusionCodes []mapping.Code `json:"conclusion_codes"`
		}
		if (f.Kind != mapping.KindResult && f.Kind != mapping.KindImaging) || json.Unmarshal(f.Data, &d) != nil {
			continue
		}
		for _, c := range append(d.Interpretation, d.ConclusionCodes...) {
			if c.System == InterpretationSystem && slices.Contains(criticalInterpretations, c.Code) {
				out = append(out, f.Key)
				break
			}
		}
	}
	return out
}

// TestSynthCriticals: every critical result synth's LIS and PACS send (HH/LL/AA) becomes a
// record, driven resource by resource at the time it is sent; with the flags stripped, the
// default rules alone still find every flagged lab result (their limits agree with what
// synth makes critical), and what else they find is troponin, which synth's flags do not
// call critical.
func TestSynthCriticals(t *testing.T) {
	g := synth.New(11, synth.Options{CriticalShare: 0.25})
	e := engine(t)
	total := 0
	for range 8 {
		story := g.Patient()
		f := newFeed(t, g.Facility())
		r := &run{t: t, e: e}
		for _, a := range versions(story.Events) {
			f.arrive(a)
			if f.patient.Ref != "" {
				r.apply(f.input(a.r.Time))
			}
		}
		if len(f.parked) > 0 {
			t.Fatalf("%s: %d resources still parked", story.PatientID, len(f.parked))
		}
		flagged := flaggedCriticals(f.events)
		total += len(flagged)
		inRecords := map[string]string{}
		for _, rec := range r.out.Records {
			b := decode(t, rec.Body)
			for _, m := range b.Results {
				inRecords[m.Key] = b.Status
			}
			if b.Department == "" || b.Setting != Inpatient || b.NotifiedAt == nil {
				t.Errorf("%s: record not routed: %s %s", story.PatientID, b.Department, b.Setting)
			}
		}
		for _, k := range flagged {
			if _, ok := inRecords[k]; !ok {
				t.Errorf("%s: critical %s is in no record", story.PatientID, k)
			}
		}
		// The default rules alone.
		in := f.input(story.Discharged)
		stripped := slices.Clone(in.Facts)
		for i, fact := range stripped {
			if fact.Kind != mapping.KindResult {
				continue
			}
			var d mapping.ResultData
			if json.Unmarshal(fact.Data, &d) != nil {
				continue
			}
			d.Interpretation, d.Critical = nil, false
			stripped[i].Data, _ = json.Marshal(d)
		}
		cands, _ := e.detect(pathways.Input{Patient: in.Patient, Facts: stripped})
		byRule := map[string]string{}
		for _, c := range cands {
			byRule[c.key] = c.rule + " " + c.code.Code
		}
		for _, k := range flagged {
			if strings.Contains(k, "#imaging") {
				continue
			}
			if _, ok := byRule[k]; !ok {
				t.Errorf("%s: flagged %s not found by the default rules", story.PatientID, k)
			}
		}
		for k, rule := range byRule {
			if !slices.Contains(flagged, k) && !strings.HasPrefix(rule, "rule:troponin") {
				t.Errorf("%s: %s found by %s but not flagged by synth", story.PatientID, k, rule)
			}
		}
	}
	if total < 5 {
		t.Fatalf("only %d critical results in the stories: the test tests little", total)
	}
}

// TestSynthArrivalOrder: a patient's resources arriving in any order (applying after each
// arrival) end in the same records as arriving in order.
func TestSynthArrivalOrder(t *testing.T) {
	g := synth.New(5, synth.Options{CriticalShare: 0.3})
	e := engine(t)
	tested := 0
	for range 6 {
		story := g.Patient()
		now := story.Discharged.Add(24 * time.Hour)
		replay := func(order []arrival) []pathways.Record {
			f := newFeed(t, g.Facility())
			r := &run{t: t, e: e}
			for _, a := range order {
				f.arrive(a)
				if f.patient.Ref != "" {
					r.apply(f.input(now))
				}
			}
			if len(f.parked) > 0 {
				t.Fatalf("%d still parked", len(f.parked))
			}
			return r.out.Records
		}
		arrivals := versions(story.Events)
		want := replay(arrivals)
		if len(want) == 0 {
			continue
		}
		tested++
		rnd := rand.New(rand.NewPCG(uint64(len(arrivals)), 3))
		for i := range 4 {
			order := slices.Clone(arrivals)
			rnd.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
			// A resource's versions keep their order: a version withdrawn before the core saw
			// it cannot be recalled, nor need to be.
			byRef := map[string][]arrival{}
			for _, a := range arrivals {
				byRef[a.r.Ref()] = append(byRef[a.r.Ref()], a)
			}
			next := map[string]int{}
			for j, a := range order {
				order[j] = byRef[a.r.Ref()][next[a.r.Ref()]]
				next[a.r.Ref()]++
			}
			if got := replay(order); !recordsEqual(want, got) {
				t.Errorf("%s order %d: records differ (%d vs %d)", story.PatientID, i, len(want), len(got))
				for j := range min(len(want), len(got)) {
					if string(want[j].Body) != string(got[j].Body) {
						t.Logf("in order: %s\nshuffled: %s", want[j].Body, got[j].Body)
						break
					}
				}
			}
		}
	}
	if tested < 2 {
		t.Fatalf("only %d stories with critical values", tested)
	}
}

// BenchmarkApply: one Apply of a synth patient's whole stay (every fact decoded again), as the
// adapter runs it on each change and at each Wake.
func BenchmarkApply(b *testing.B) {
	g := synth.New(11, synth.Options{CriticalShare: 0.25})
	story := g.Patient()
	f := newFeed(b, g.Facility())
	for _, a := range versions(story.Events) {
		f.arrive(a)
	}
	e := engine(b)
	in := f.input(story.Discharged)
	out, err := e.Apply(nil, in)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(in.Facts)), "facts")
	b.ReportMetric(float64(len(out.Records)), "records")
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Apply(out.State, in); err != nil {
			b.Fatal(err)
		}
	}
}
