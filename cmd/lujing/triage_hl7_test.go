package main

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/mapping/bundle"
	"github.com/lujing-health/lujing/mapping/resource"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
)

// TestTriageHL7: the Observation the HL7 listener makes of an ORU^R01 flagged HH is urgent for
// the intake's triage, for the source its peer files it under.
func TestTriageHL7(t *testing.T) {
	_, m := testMapper(t)
	cv, err := criticalvalue.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	triage := m.triage(cv)
	msg, _, err := probeORU(1, 1, "local")
	if err != nil {
		t.Fatal(err)
	}
	obs := hl7Observations(t, msg)
	if len(obs) == 0 {
		t.Fatal("no Observation")
	}
	for _, r := range obs {
		if !triage(intake.Source{System: "generic"}, "Observation", r.ID, 1, r) {
			t.Errorf("an HL7 potassium flagged HH is not urgent:\n%s", r.Raw)
		}
	}
}

// TestBenchTrafficIsCriticalWhereFlagged: of bench --mllp's results, only the potassium it
// flags HH is a possible critical value for the triage; the rest is normal traffic. Its
// sodium and haemoglobin were once a twentieth of their range, critical by the local rules,
// and half the load took the urgent lane.
func TestBenchTrafficIsCriticalWhereFlagged(t *testing.T) {
	_, m := testMapper(t)
	cv, err := criticalvalue.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	triage := m.triage(cv)
	r := rand.New(rand.NewPCG(3, 4))
	flagged, urgent := 0, 0
	for i := range 400 {
		msg := benchORU(r, 9, 0, i, 100, 0.2)
		hh := strings.Contains(string(msg), "|HH|")
		if hh {
			flagged++
		}
		for _, o := range hl7Observations(t, msg) {
			u := triage(intake.Source{System: "generic"}, "Observation", o.ID, 1, o)
			if u {
				urgent++
			}
			if u != hh {
				t.Errorf("flagged HH %v, urgent %v:\n%s", hh, u, o.Raw)
			}
		}
	}
	if flagged == 0 || urgent != flagged {
		t.Errorf("%d flagged, %d urgent", flagged, urgent)
	}
}

// hl7Observations are the Observations the HL7 listener makes of a message, as the intake
// stores them: the Bundle's references resolved to the server's ids.
func hl7Observations(t *testing.T, msg []byte) []*resource.Resource {
	t.Helper()
	hm, err := hl7v2.Parse(msg, hl7v2.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := hl7v2.ToFHIR(hm, hl7v2.Options{Sender: "local|LIS|HOSP"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Parse(res.Bundle, bundle.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*resource.Resource
	for _, e := range b.Entries {
		if e.Type != "Observation" {
			continue
		}
		body := regexp.MustCompile(`"reference":"(urn:uuid:[^"]*|Encounter\?[^"]*)"`).ReplaceAllStringFunc(string(e.Resource.Raw), func(s string) string {
			if strings.Contains(s, "Encounter") {
				return `"reference":"Encounter/e1"`
			}
			return `"reference":"Patient/p1"`
		})
		r, err := resource.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}
