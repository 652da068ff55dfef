package quality_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/grading"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
	"github.com/lujing-health/lujing/pathways/quality"
)

// The synth tests drive the core with FHIR resources the way the service does: a synthetic
// HIS/LIS/PACS story, mapped by the shipped mapper (test only: the core imports no adapter).

type memStore map[string][]byte

func (s memStore) Get(_ context.Context, typ, id string) ([]byte, bool, error) {
	b, ok := s[typ+"/"+id]
	return b, ok, nil
}

func storyFacts(t *testing.T, sc string, index int) (pathways.Patient, []mapping.Event) {
	t.Helper()
	g := synth.New(3, synth.Options{Mix: map[string]int{sc: 1}})
	var s *synth.Story
	for range index + 1 {
		s = g.Patient()
	}
	st := memStore{}
	for _, r := range s.Events {
		st[r.Ref()] = r.JSON // the latest version of each: references resolve whatever the order
	}
	profiles, _ := profile.Defaults()
	maps, _ := codemap.Builtin()
	grades, _ := grading.Example()
	m, err := mapping.New(st, mapping.Options{Profiles: profiles, CodeMaps: maps, Grades: grades})
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]int{}
	var events []mapping.Event
	p := pathways.Patient{Ref: "Patient/" + s.PatientID, Hospital: "LUJING-DEMO"}
	for _, r := range s.Events {
		versions[r.Ref()]++
		res, err := m.Map(context.Background(), mapping.Input{Type: r.Type, ID: r.ID, Version: versions[r.Ref()], Body: r.JSON, Source: string(r.Source), Hospital: "LUJING-DEMO"})
		var miss *mapping.MissingError
		if errors.As(err, &miss) {
			t.Fatalf("%s parked: %v", r.Ref(), miss.Needs)
		}
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, res.Events...)
		if r.Type == "Patient" {
			var b struct {
				BirthDate string `json:"birthDate"`
			}
			json.Unmarshal(r.JSON, &b)
			if bd, err := parseDate(b.BirthDate); err == nil {
				p.BirthDate = bd
			}
		}
	}
	return p, pathways.InForce(events)
}

// rows applies the quality core to a story and returns its rows by indicator as
// numerator/denominator/excluded sums.
func rows(t *testing.T, sc string, index int) map[string][3]int {
	t.Helper()
	paths, err := clinicalpath.New(clinicalpath.Library(), clinicalpath.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, facts := storyFacts(t, sc, index)
	out, err := quality.New(nil, func() *clinicalpath.Engine { return paths }).Apply(nil, pathways.Input{Patient: p, Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][3]int{}
	for _, r := range out.Records {
		for _, m := range r.Measures {
			x := got[m.Indicator]
			x[0] += m.Numerator
			x[1] += m.Denominator
			if m.Excluded {
				x[2]++
			}
			got[m.Indicator] = x
		}
		if testing.Verbose() {
			t.Logf("%s", r.Body)
		}
	}
	return got
}

// TestSynthStories: whole stays from FHIR. An appendicitis stay by the book qualifies for
// and is enrolled in its pathway, is a surgical discharge without a listed post-operative
// condition and one operation with no return; a colon cancer not operated does not qualify
// (the pathway names its operation); a STEMI reperfused in time and one reperfused late.
func TestSynthStories(t *testing.T) {
	app := rows(t, synth.Appendicitis, 0)
	for id, w := range map[string][3]int{
		"pathway-enrollment": {1, 1, 0}, "postop-acquired": {0, 1, 0}, "return-to-theatre": {0, 1, 0}, "readmission-31d": {0, 1, 0},
		"adverse-events-per-100": {0, 1, 0},
	} {
		if app[id] != w {
			t.Errorf("appendicitis %s = %v, want %v", id, app[id], w)
		}
	}
	colon := rows(t, synth.ColonCancer, 11)
	if _, ok := colon["pathway-enrollment"]; ok || colon["adverse-events-per-100"] != [3]int{0, 1, 0} {
		t.Errorf("colon cancer not operated: %v", colon)
	}
	stemiOK := rows(t, synth.STEMI, 0)
	stemiLate := rows(t, synth.STEMI, 1)
	if stemiOK["stemi-reperfusion"] != [3]int{1, 1, 0} || stemiLate["stemi-reperfusion"] != [3]int{0, 1, 0} {
		t.Errorf("STEMI in time %v, late %v", stemiOK["stemi-reperfusion"], stemiLate["stemi-reperfusion"])
	}
}

func parseDate(s string) (t time.Time, err error) { return time.Parse("2006-01-02", s) }
