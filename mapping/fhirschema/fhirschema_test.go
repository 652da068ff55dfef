package fhirschema

import "testing"

func TestValidate(t *testing.T) {
	good := `{"resourceType":"Task","status":"requested","intent":"order","restriction":{"period":{"start":"2026-01-01","end":"2026-01-07"}}}`
	if err := Validate([]byte(good)); err != nil {
		t.Errorf("valid Task refused: %v", err)
	}
	for _, bad := range []string{
		`{"resourceType":"Observation","status":"final","code":{},"valueQuantity":{"value":"1"}}`,
		`{"resourceType":"Encounter","status":"done","class":{}}`,
		`{"resourceType":"Patient","birthDay":"2020-01-01"}`,
		`{"resourceType":"Observation","status":"final","code":{},"issued":"2026-01-01T08:00"}`,
		`{"resourceType":"CarePlan","status":"active","intent":"plan","subject":{},"activity":[]}`,
		`{"resourceType":"Nothing"}`,
		`[1]`,
	} {
		if err := Validate([]byte(bad)); err == nil {
			t.Errorf("validator accepted %s", bad)
		}
	}
}
