package clinicalpath_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/grading"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
)

// The tests drive the engine with FHIR resources, as the adapter does: synth stories (test
// only: the core itself imports no adapter) or hand-written JSON, stored, mapped with the
// mapper Lujing ships (default profiles, built-in code maps, example grading catalogue),
// reduced to the facts in force and applied after each arrival.

var shanghai = func() *time.Location {
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return z
}()

type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStore) Get(_ context.Context, typ, id string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[typ+"/"+id]
	return b, ok, nil
}

func newMapper(t testing.TB, st *memStore) *mapping.Clinical {
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
	m, err := mapping.New(st, mapping.Options{Profiles: profiles, CodeMaps: maps, Grades: grades})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// arrival is one resource version as a source sends it.
type arrival struct {
	typ, id string
	version int
	source  string
	body    []byte
	at      time.Time
}

func (a arrival) ref() string { return a.typ + "/" + a.id }

// storyArrivals numbers the versions of each resource of a synth story in the order sent.
func storyArrivals(s *synth.Story) []arrival {
	n := map[string]int{}
	var out []arrival
	for _, r := range s.Events {
		n[r.Ref()]++
		out = append(out, arrival{r.Type, r.ID, n[r.Ref()], string(r.Source), r.JSON, r.Time})
	}
	return out
}

// run is a replay's result.
type run struct {
	out     pathways.Outcome // of the last Apply
	notices []pathways.Notice
	state   json.RawMessage
	facts   []mapping.Event
}

// replay delivers arrivals in the order given: each version is stored unless a newer one
// is, mapped (a parked one again when what it waits for arrives), and after each arrival the
// engine runs on the facts in force at the latest time seen so far (back-filled data arrives
// "now"). A last Apply runs at end.
func replay(t testing.TB, eng *clinicalpath.Engine, patient pathways.Patient, arrivals []arrival, end time.Time) run {
	t.Helper()
	return replayFrom(t, eng, nil, patient, arrivals, end)
}

// replayFrom is replay starting from an engine state.
func replayFrom(t testing.TB, eng *clinicalpath.Engine, state json.RawMessage, patient pathways.Patient, arrivals []arrival, end time.Time) run {
	t.Helper()
	store := &memStore{m: map[string][]byte{}}
	m := newMapper(t, store)
	current := map[string]int{}
	var events []mapping.Event
	type parked struct {
		a     arrival
		needs []string
	}
	var waiting []parked
	var mapOne func(a arrival)
	mapOne = func(a arrival) {
		res, err := m.Map(context.Background(), mapping.Input{Type: a.typ, ID: a.id, Version: a.version, Body: a.body, Source: a.source, Hospital: "LUJING-DEMO"})
		var miss *mapping.MissingError
		switch {
		case errors.As(err, &miss):
			waiting = append(waiting, parked{a, miss.Needs})
			return
		case err != nil:
			t.Fatalf("mapping %s v%d: %v", a.ref(), a.version, err)
		}
		events = append(events, res.Events...)
	}
	r := run{state: state}
	var now time.Time
	apply := func(at time.Time) {
		r.facts = pathways.InForce(events)
		var err error
		r.out, err = eng.Apply(r.state, pathways.Input{Patient: patient, Facts: r.facts, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		r.state = r.out.State
		r.notices = append(r.notices, r.out.Notices...)
	}
	for _, a := range arrivals {
		if a.version > current[a.ref()] {
			store.mu.Lock()
			store.m[a.ref()] = a.body
			store.mu.Unlock()
			current[a.ref()] = a.version
		}
		var again []parked
		waiting = slices.DeleteFunc(waiting, func(p parked) bool {
			if slices.Contains(p.needs, a.ref()) {
				again = append(again, p)
				return true
			}
			return false
		})
		for _, p := range again {
			mapOne(p.a)
		}
		mapOne(a)
		if a.at.After(now) {
			now = a.at
		}
		apply(now)
	}
	if len(waiting) > 0 {
		t.Fatalf("%d resources still parked, e.g. %s waiting for %v", len(waiting), waiting[0].a.ref(), waiting[0].needs)
	}
	apply(end)
	return r
}

// storyPatient is the Patient a story is about, with the birth date the adapter would pass.
func storyPatient(t testing.TB, s *synth.Story) pathways.Patient {
	p := pathways.Patient{Ref: "Patient/" + s.PatientID, Hospital: "LUJING-DEMO"}
	for _, r := range s.Events {
		if r.Type != "Patient" {
			continue
		}
		var body struct {
			BirthDate string `json:"birthDate"`
			Gender    string `json:"gender"`
		}
		if err := json.Unmarshal(r.JSON, &body); err != nil {
			t.Fatal(err)
		}
		b, err := time.ParseInLocation("2006-01-02", body.BirthDate, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		p.BirthDate, p.Gender = b, body.Gender
	}
	return p
}

func newEngine(t testing.TB, defs ...*clinicalpath.Definition) *clinicalpath.Engine {
	t.Helper()
	if defs == nil {
		defs = clinicalpath.Library()
	}
	e, err := clinicalpath.New(defs, clinicalpath.Config{Zone: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func instances(t testing.TB, recs []pathways.Record) []clinicalpath.Instance {
	t.Helper()
	var out []clinicalpath.Instance
	for _, r := range recs {
		var x clinicalpath.Instance
		if err := json.Unmarshal(r.Body, &x); err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

// bundleArrivals reads a collection Bundle of test data: its entries in order, each
// resource's versions numbered by meta.versionId or else by rank.
func bundleArrivals(t testing.TB, path string) []arrival {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	var out []arrival
	for _, e := range b.Entry {
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Meta         struct {
				VersionID string `json:"versionId"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			t.Fatal(err)
		}
		a := arrival{typ: head.ResourceType, id: head.ID, source: "his", body: e.Resource}
		n[a.ref()]++
		a.version = n[a.ref()]
		if v, err := strconv.Atoi(head.Meta.VersionID); err == nil {
			a.version = v
		}
		out = append(out, a)
	}
	return out
}

// story returns the index-th patient of a synth hospital that admits only scenario sc.
func story(sc string, index int) *synth.Story {
	g := synth.New(3, synth.Options{Mix: map[string]int{sc: 1}})
	var s *synth.Story
	for range index + 1 {
		s = g.Patient()
	}
	return s
}

// until keeps the arrivals sent by t.
func until(as []arrival, t time.Time) []arrival {
	return slices.DeleteFunc(slices.Clone(as), func(a arrival) bool { return a.at.After(t) })
}

func noticeNames(ns []pathways.Notice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// libraryFS reads the shipped files the way a hospital starts: from a copy of them.
var libraryFS = os.DirFS(".").(interface {
	ReadFile(name string) ([]byte, error)
})
