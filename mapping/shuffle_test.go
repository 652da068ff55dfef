package mapping_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/mapping"
)

// arrival is one resource version as a source sends it.
type arrival struct {
	entry
	version int
}

// storyArrivals reads a synth patient story (a Bundle of the versions sources sent, in
// order); a resource's versions are numbered in that order.
func storyArrivals(t *testing.T, raw []byte) []arrival {
	var out []arrival
	n := map[string]int{}
	for _, e := range bundleEntries(t, raw) {
		n[e.ref]++
		out = append(out, arrival{e, n[e.ref]})
	}
	return out
}

// replay delivers the arrivals in order to a fresh store and mapper the way the worker does:
// a version is stored unless a newer one is, every version is mapped, a parked one is mapped
// again when one of the resources it waits for arrives, and the state keeps per Key the event
// of the highest Version (of one Version, the last mapped). It returns that state, what is
// still parked and how many times a resource was parked.
func replay(t *testing.T, arrivals []arrival) (state map[string]mapping.Event, parked []waiting, parks int) {
	store := newStore()
	m := newMapper(t, store)
	current := map[string]int{}
	state = map[string]mapping.Event{}
	// run maps a, and parks it when it waits for something.
	run := func(a arrival) {
		typ, id, _ := strings.Cut(a.ref, "/")
		res, err := m.Map(context.Background(), mapping.Input{Type: typ, ID: id, Version: a.version, Body: a.body, Source: a.source, Hospital: "H"})
		var miss *mapping.MissingError
		switch {
		case errors.As(err, &miss):
			parked = append(parked, waiting{a, miss.Needs})
			parks++
			return
		case err != nil:
			t.Fatalf("%s v%d: %v", a.ref, a.version, err)
		}
		for _, ev := range res.Events {
			if prev, ok := state[ev.Key]; !ok || ev.Version >= prev.Version {
				state[ev.Key] = ev
			}
		}
	}
	for _, a := range arrivals {
		if a.version > current[a.ref] {
			store.put(a.ref, a.body)
			current[a.ref] = a.version
		}
		var again []waiting
		parked = slices.DeleteFunc(parked, func(w waiting) bool {
			if slices.Contains(w.needs, a.ref) {
				again = append(again, w)
				return true
			}
			return false
		})
		for _, w := range again {
			run(w.arrival)
		}
		run(a)
	}
	return state, parked, parks
}

// waiting is a parked arrival and what it waits for.
type waiting struct {
	arrival
	needs []string
}

// TestReplayOrderConverges maps synth patient stories in their own order and in random orders
// (versions of one resource shuffled too): the latest event per Key must come out the same,
// with nothing left parked.
func TestReplayOrderConverges(t *testing.T) {
	stories := map[string][]byte{}
	for _, f := range glob(t, "testdata/synth/*.json") {
		stories[f] = readFixture(t, f)
	}
	golden, err := os.ReadFile("testdata/golden/synth-story-appendicitis.txt")
	if err != nil {
		t.Fatal(err)
	}
	input, _, _ := bytes.Cut(golden, []byte("\n"+separator+"\n"))
	stories["synth-story-appendicitis"] = input
	for name, raw := range stories {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			arrivals := storyArrivals(t, raw)
			want, parked, _ := replay(t, arrivals)
			if len(parked) > 0 || len(want) == 0 {
				t.Fatalf("in order: %d events, %d parked", len(want), len(parked))
			}
			r := rand.New(rand.NewPCG(1, uint64(len(arrivals))))
			total := 0
			for i := range 8 {
				order := slices.Clone(arrivals)
				r.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
				got, parked, parks := replay(t, order)
				total += parks
				if len(parked) > 0 {
					t.Errorf("order %d: %d still parked, e.g. %s waiting for %v", i, len(parked), parked[0].ref, parked[0].needs)
				}
				if a, b := stateJSON(t, want), stateJSON(t, got); a != b {
					t.Errorf("order %d: state differs from the in-order replay:\n%s", i, diffLines(a, b))
				}
			}
			if total == 0 {
				t.Error("no resource was ever parked: the orders test nothing")
			}
		})
	}
}

func stateJSON(t *testing.T, state map[string]mapping.Event) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(state)) {
		j, err := json.Marshal(state[k])
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// diffLines shows the lines of a missing from b and of b missing from a.
func diffLines(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range as {
		if !slices.Contains(bs, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bs {
		if !slices.Contains(as, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
