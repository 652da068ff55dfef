package main

import (
	"math/rand/v2"
	"testing"

	"github.com/lujing-health/lujing/adapters/hl7v2"
)

// TestBenchORU: the benchmark's messages are well-formed results: they parse, carry the visit
// and the release time where the standard puts them, and map to FHIR with nothing left out.
func TestBenchORU(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		m, err := hl7v2.Parse(benchORU(r, 7, 0, i, 100, 0.5), hl7v2.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pv1, _ := m.Segment("PV1")
		obr, _ := m.Segment("OBR")
		obx, _ := m.Segment("OBX")
		if pv1.Field(19).String() == "" || obr.Field(22).String() == "" || obr.Field(25).String() != "F" || obx.Field(11).String() != "F" {
			t.Fatalf("fields out of place: PV1-19 %q OBR-22 %q OBR-25 %q", pv1.Field(19).Raw(), obr.Field(22).Raw(), obr.Field(25).Raw())
		}
		res, err := hl7v2.ToFHIR(m, hl7v2.Options{Sender: "bench"})
		if err != nil || len(res.Warnings) > 0 {
			t.Fatalf("to FHIR: %v %v", err, res.Warnings)
		}
	}
	if ackCode([]byte("MSH|^~\\&|A\rMSA|AE|X\r")) != "AE" {
		t.Error("ackCode")
	}
}
