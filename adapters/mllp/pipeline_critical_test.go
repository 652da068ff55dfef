package mllp_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/mapping"
)

// TestCriticalPotassiumOverMLLP is the "done when": the HIS admits the patient over
// MLLP, the LIS sends a potassium of 6.8 flagged HH; both are acknowledged AA, and the worker
// turns the result into a critical result event with interpretation HH in the admitted visit,
// stored with the patient's events.
func TestCriticalPotassiumOverMLLP(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	his, lab := p.dial(t), p.dial(t)
	if code, control, errSeg := send(t, his, admit("ADT-1", "0001000123", "V1")); code != "AA" || control != "ADT-1" {
		t.Fatalf("A01: %s %s %s", code, control, errSeg)
	}
	if code, control, errSeg := send(t, lab, potassium("LIS-1", "0001000123", "V1", "6.8", "HH")); code != "AA" || control != "LIS-1" {
		t.Fatalf("ORU: %s %s %s", code, control, errSeg)
	}
	p.settle(t)
	patient, evs := p.patientEvents(t, "0001000123")
	var admitted, critical int
	for _, e := range evs {
		switch {
		case e.Kind == mapping.KindAdmitted:
			admitted++
			if e.Source != "his" {
				t.Errorf("admission filed under source %q", e.Source)
			}
		case e.Kind == mapping.KindResult && strings.HasPrefix(e.Resource, "Observation/"):
			d := resultData(t, e)
			if len(d.Interpretation) != 1 || d.Interpretation[0].Code != "HH" || !d.Critical {
				t.Errorf("result: interpretation %+v critical %v", d.Interpretation, d.Critical)
			}
			if d.Value == nil || d.Value.Number != "6.8" || e.Source != "lis" || e.Patient != patient || e.Encounter == "" {
				t.Errorf("result event: %+v", e)
			}
			critical++
		}
	}
	if admitted != 1 || critical != 1 {
		t.Errorf("events: %d admitted, %d critical results (of %d)", admitted, critical, len(evs))
	}
	// The raw message is in the inbox, stored with the FHIR made of it: contained in the
	// Provenance that names it as the source of the results.
	msgs, err := p.st.Messages(t.Context(), storeFilter("lis"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range msgs {
		if m.Type != "Provenance" {
			continue
		}
		var prov struct {
			Contained []struct{ ResourceType, ContentType, Data string }
			Entity    []struct{ What struct{ Reference string } }
			Target    []struct{ Reference string }
		}
		if err := json.Unmarshal(m.Body, &prov); err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(prov.Contained[0].Data)
		if !bytes.Equal(raw, potassium("LIS-1", "0001000123", "V1", "6.8", "HH")) || prov.Contained[0].ContentType != "x-application/hl7-v2+er7; charset=GB18030" ||
			prov.Entity[0].What.Reference != "#message" || len(prov.Target) != 3 {
			t.Errorf("Provenance: %s", m.Body)
		}
		found = true
	}
	if !found {
		t.Error("no Provenance stored")
	}
	// The raw message is kept as received, under its sender and control id.
	rec, err := eventually(t, func() (mllp.Record, error) { return p.st.HL7Message(t.Context(), "lab|LIS|HOSP", "LIS-1") })
	if err != nil || rec.Status != "accepted" || rec.Ack != "AA" || !strings.Contains(string(rec.Raw), "|6.8|") {
		t.Errorf("stored message: %+v, %v", rec, err)
	}
}
