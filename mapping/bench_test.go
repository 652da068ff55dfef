package mapping_test

import (
	"context"
	"testing"

	"github.com/lujing-health/lujing/mapping"
)

// BenchmarkMapObservation maps a 0.8 KB lab result with its Patient and Encounter stored: the
// work per resource of a LIS feed. The budget is about 50 µs.
func BenchmarkMapObservation(b *testing.B) {
	store := newStore()
	store.put("Patient/example", []byte(`{"resourceType":"Patient","id":"example"}`))
	store.put("Encounter/example", []byte(`{"resourceType":"Encounter","id":"example","status":"in-progress","class":{"code":"IMP"}}`))
	m := newMapper(b, store)
	in := mapping.Input{Type: "Observation", ID: "k-lujing-1", Version: 3, Body: readFixture(b, fixtureDir+"own/Observation-bench.json"), Source: "lis", Hospital: "H"}
	b.SetBytes(int64(len(in.Body)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := m.Map(context.Background(), in)
		if err != nil || len(res.Events) != 1 {
			b.Fatal(res, err)
		}
	}
}
