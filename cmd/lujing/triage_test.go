package main

import (
	"context"
	"testing"

	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/mapping/resource"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
)

// testMapper is the mapper serve builds, over an empty SQLite store closed at cleanup.
func testMapper(t *testing.T) (*sqlstore.Store, *liveMapper) {
	t.Helper()
	st := testStore(t)
	m, err := newLiveMapper(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return st, m
}

// TestTriage: the intake's triage as serve builds it, on FHIR as a LIS sends it — a flagged or
// rule-critical result goes urgent, a normal one, an order or a preliminary result does not.
func TestTriage(t *testing.T) {
	_, m := testMapper(t)
	cv, err := criticalvalue.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	triage := m.triage(cv)
	obs := func(status, value, interp string) []byte {
		return []byte(`{"resourceType":"Observation","id":"o1","status":"` + status + `",
"code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}]},"subject":{"reference":"Patient/p1"},
"encounter":{"reference":"Encounter/e1"},"issued":"2026-03-02T10:00:00Z",
"valueQuantity":{"value":` + value + `,"unit":"mmol/L"}` + interp + `}`)
	}
	hh := `,"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"HH"}]}]`
	cases := []struct {
		name    string
		typ     string
		body    []byte
		deleted bool
		want    bool
	}{
		{"normal potassium", "Observation", obs("final", "4.2", ""), false, false},
		{"potassium over the rule's limit", "Observation", obs("final", "6.9", ""), false, true},
		{"flagged HH", "Observation", obs("final", "5.0", hh), false, true},
		{"preliminary", "Observation", obs("preliminary", "6.9", ""), false, false},
		{"a result deleted", "Observation", nil, true, true},
		{"an order", "ServiceRequest", []byte(`{"resourceType":"ServiceRequest","id":"s1","status":"active","intent":"order","subject":{"reference":"Patient/p1"}}`), false, false},
		{"an Observation the mapper refuses", "Observation", []byte(`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"K"},"subject":{"reference":"#p"}}`), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r *resource.Resource
			if !tc.deleted {
				var err error
				if r, err = resource.Parse(tc.body); err != nil {
					t.Fatal(err)
				}
			}
			if got := triage(intake.Source{System: "lis"}, tc.typ, "o1", 2, r); got != tc.want {
				t.Errorf("triage = %v, want %v", got, tc.want)
			}
		})
	}
}
