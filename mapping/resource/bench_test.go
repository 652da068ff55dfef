package resource

import (
	"os"
	"testing"
)

// BenchmarkParseObservation: a 0.8 KB lab result through Parse (scan,
// decode, checks) and Hash, as the HTTP intake does for each resource.
func BenchmarkParseObservation(b *testing.B) {
	raw, err := os.ReadFile("testdata/own/Observation-bench.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		_ = r.Hash()
	}
}

// BenchmarkParseObservationTyped adds the typed decode mapping does later.
func BenchmarkParseObservationTyped(b *testing.B) {
	raw, err := os.ReadFile("testdata/own/Observation-bench.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		_ = r.Hash()
		if _, err := r.Observation(); err != nil {
			b.Fatal(err)
		}
	}
}
