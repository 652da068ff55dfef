package main

import (
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
	found := false
	for _, e := range b.Entries {
		if e.Type != "Observation" {
			continue
		}
		found = true
		// As the intake stores it: the Bundle's references resolved to the server's ids.
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
		if !triage(intake.Source{System: "generic"}, "Observation", r.ID, 1, r) {
			t.Errorf("an HL7 potassium flagged HH is not urgent:\n%s", body)
		}
	}
	if !found {
		t.Fatal("no Observation")
	}
}
