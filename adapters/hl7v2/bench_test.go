package hl7v2_test

import (
	"testing"

	"github.com/lujing-health/lujing/adapters/hl7v2"
)

// BenchmarkParseToFHIR: what the HL7 layer costs per ORU^R01 (parse, map, write the Bundle
// with the raw message in its Provenance), before the intake.
func BenchmarkParseToFHIR(b *testing.B) {
	raw := criticalPotassium("B-1")
	b.ReportAllocs()
	for b.Loop() {
		m, err := hl7v2.Parse(raw, hl7v2.ParseOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := hl7v2.ToFHIR(m, hl7v2.Options{Sender: "bench", Raw: raw}); err != nil {
			b.Fatal(err)
		}
	}
}
