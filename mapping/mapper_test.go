package mapping_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/mapping"
)

func TestNewRejectsBadConfiguration(t *testing.T) {
	profiles := defaultProfiles(t)
	withoutGeneric := map[string]mapping.Profile{"his": profiles["his"]}
	bad := map[string]mapping.Profile{"generic": {Name: "generic", Reports: "maybe"}}
	tests := []struct {
		name string
		opts mapping.Options
		want string
	}{
		{"no generic profile", mapping.Options{Profiles: withoutGeneric}, `no "generic" profile`},
		{"code map not loaded", mapping.Options{Profiles: profiles}, `names code map "snomed-icd10", which is not loaded`},
		{"invalid profile", mapping.Options{Profiles: bad}, `profile "generic": reports: "maybe" is not result, imaging or empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mapping.New(newStore(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// patientObservation is a stored Patient and a lab result about them in the LIS's local code.
func patientObservation(t *testing.T) (*memStore, mapping.Input) {
	store := newStore()
	store.put("Patient/p1", []byte(`{"resourceType":"Patient","id":"p1"}`))
	body := `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/p1"},
		"code":{"coding":[{"system":"http://lujing.example/fhir/CodeSystem/lis-local","code":"K"}]},
		"issued":"2026-03-02T11:31:00+08:00","valueQuantity":{"value":4.1,"unit":"mmol/L"}}`
	return store, mapping.Input{Type: "Observation", ID: "o1", Version: 1, Body: []byte(body), Source: "lis", Hospital: "H"}
}

func TestProfileChoice(t *testing.T) {
	store, in := patientObservation(t)
	m := newMapper(t, store)
	code := func(in mapping.Input) string {
		t.Helper()
		res, err := m.Map(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		var d mapping.ResultData
		if err := json.Unmarshal(res.Events[0].Data, &d); err != nil {
			t.Fatal(err)
		}
		return d.Code.System + "|" + d.Code.Code
	}
	// The lis profile maps the local code; a source without a profile gets generic, which has
	// no lab map; the token's profile wins over the source.
	if got := code(in); got != "http://loinc.org|2823-3" {
		t.Errorf("as lis: %s", got)
	}
	in.Source = "roche-lis"
	if got := code(in); got != "http://lujing.example/fhir/CodeSystem/lis-local|K" {
		t.Errorf("as an unknown source: %s", got)
	}
	in.Profile = "lis"
	if got := code(in); got != "http://loinc.org|2823-3" {
		t.Errorf("with profile lis: %s", got)
	}
	in.Profile = "nope"
	if _, err := m.Map(context.Background(), in); err == nil || !strings.Contains(err.Error(), `no source profile "nope"`) {
		t.Errorf("unknown profile: %v", err)
	}
}

func TestMapFailures(t *testing.T) {
	store, in := patientObservation(t)
	m := newMapper(t, store)
	tests := []struct {
		name string
		in   func(mapping.Input) mapping.Input
		want string
	}{
		{"not JSON", func(in mapping.Input) mapping.Input { in.Body = []byte("<xml/>"); return in }, "mapping Observation/o1: body is not a JSON object"},
		{"type differs", func(in mapping.Input) mapping.Input { in.Type = "Condition"; return in }, "mapping Condition/o1: the body is a Observation"},
		{"identifier-only subject", func(in mapping.Input) mapping.Input {
			in.Body = []byte(strings.Replace(string(in.Body), `{"reference":"Patient/p1"}`, `{"identifier":{"system":"urn:oid:1","value":"123"}}`, 1))
			return in
		}, "Observation.subject: a reference by identifier only cannot be followed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Map(context.Background(), tt.in(in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || mapping.IsMissing(err) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

type failingStore struct{}

func (failingStore) Get(context.Context, string, string) ([]byte, bool, error) {
	return nil, false, errors.New("database is locked")
}

func TestStoreErrorIsNotParking(t *testing.T) {
	_, in := patientObservation(t)
	_, err := newMapper(t, failingStore{}).Map(context.Background(), in)
	if err == nil || mapping.IsMissing(err) || !strings.Contains(err.Error(), "read Patient/p1: database is locked") {
		t.Errorf("got %v", err)
	}
}

func TestDelete(t *testing.T) {
	store, in := patientObservation(t)
	m := newMapper(t, store)
	in.Deleted, in.Version = true, 2
	res, err := m.Map(context.Background(), in)
	if err != nil || len(res.Events) != 1 || res.Events[0].Kind != mapping.KindCancelled || res.Events[0].Key != "Observation/o1#result" {
		t.Fatalf("a delete with the last body: %+v, %v", res, err)
	}
	if !strings.Contains(string(res.Events[0].Data), `"reason":"deleted"`) {
		t.Errorf("data %s", res.Events[0].Data)
	}
	in.Body = nil
	if res, err := m.Map(context.Background(), in); err != nil || len(res.Events) != 0 {
		t.Errorf("a delete without a body: %+v, %v", res, err)
	}
}
