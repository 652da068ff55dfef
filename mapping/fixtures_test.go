package mapping_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/lujing-health/lujing/mapping"
)

// fixtureDir holds the public FHIR test data mapping/resource keeps (see its README); read
// from there rather than copied twice.
const fixtureDir = "resource/testdata/"

// TestFixturesNeverPanic maps every resource of the shared fixtures — the official R4 examples
// and example Bundles' entries, the Synthea Bundles, the Synthea bulk export and Lujing's own
// examples — under the default profiles, with all of them stored. Each must give events, no
// events, a MissingError or an error naming what is wrong: never a panic, and never events
// without a patient or key.
func TestFixturesNeverPanic(t *testing.T) {
	t.Parallel()
	var all []entry
	add := func(e entry) { all = append(all, e) }
	for _, pattern := range []string{"fhir-r4-examples/resources/*.json", "own/*.json"} {
		for _, f := range glob(t, fixtureDir+pattern) {
			raw := readFixture(t, f)
			var head struct{ ResourceType, ID string }
			if err := json.Unmarshal(raw, &head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			add(entry{ref: head.ResourceType + "/" + head.ID, body: raw})
		}
	}
	for _, pattern := range []string{"fhir-r4-examples/bundles/*.json", "synthea-r4-bundles/*.json.gz"} {
		for _, f := range glob(t, fixtureDir+pattern) {
			for _, e := range bundleEntries(t, readFixture(t, f)) {
				add(e)
			}
		}
	}
	for _, f := range glob(t, fixtureDir+"synthea-bulk-ndjson/*.ndjson.gz") {
		if filepath.Base(f) == "log.ndjson.gz" {
			continue // the export log, not FHIR
		}
		sc := bufio.NewScanner(bytes.NewReader(readFixture(t, f)))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line := bytes.Clone(sc.Bytes())
			var head struct{ ResourceType, ID string }
			if err := json.Unmarshal(line, &head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			add(entry{ref: head.ResourceType + "/" + head.ID, body: line})
		}
	}
	store := newStore()
	for _, e := range all {
		store.put(e.ref, e.body)
	}
	m := newMapper(t, store)
	// Each resource under one of the profiles in turn (all four would take too long under
	// -race), on every core: the mapper is safe for concurrent use.
	sources := []string{"generic", "his", "lis", "pacs"}
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(all); i += workers {
				outcome := mapFixture(t, m, all[i], sources[i%len(sources)])
				mu.Lock()
				counts[outcome]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d resources: %v", len(all), counts)
	if counts["mapped"] == 0 || counts["parked"] == 0 {
		t.Errorf("expected some mapped and some parked: %v", counts)
	}
}

func glob(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no test data %s (%v)", pattern, err)
	}
	return files
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(path) != ".gz" {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err = io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// mapFixture maps e as a message from source and says how it went: mapped, no events, parked
// or failed. A panic or an incomplete event fails the test.
func mapFixture(t *testing.T, m mapping.Mapper, e entry, source string) (outcome string) {
	typ, id, _ := strings.Cut(e.ref, "/")
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s as %s: panic: %v", e.ref, source, p)
			outcome = "panicked"
		}
	}()
	res, err := m.Map(context.Background(), mapping.Input{Type: typ, ID: id, Version: 1, Body: e.body, Source: source, Hospital: "H"})
	for _, ev := range res.Events {
		if ev.Patient == "" || !strings.HasPrefix(ev.Key, e.ref+"#") || ev.Resource != e.ref || ev.Kind == "" {
			t.Errorf("%s as %s: incomplete event %+v", e.ref, source, ev)
		}
	}
	switch {
	case mapping.IsMissing(err):
		return "parked"
	case err != nil:
		t.Logf("%s: %v", e.ref, err)
		return "failed"
	case len(res.Events) == 0:
		return "no events"
	}
	return "mapped"
}
