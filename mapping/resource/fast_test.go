package resource

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestFastTypedDecodeAgrees holds the fast typed decode to what encoding/json (which
// golang-fhir-models uses) makes of the same bytes, for every fixture of a typed resource and
// for keys written in another case, which encoding/json matches and Parse accepts.
func TestFastTypedDecodeAgrees(t *testing.T) {
	t.Parallel()
	docs := [][]byte{
		[]byte(`{"resourceType":"Observation","Status":"final","CODE":{"text":"K"},"valueQuantity":{"value":7.20,"unit":"mmol/L"}}`),
		[]byte(`{"resourceType":"Observation","status":"final","code":{"text":"\u003cK\u003e"},"status":"final"}`),
	}
	for _, f := range glob(t, "testdata/fhir-r4-examples/resources/*.json") {
		docs = append(docs, readFile(t, f))
	}
	for _, f := range glob(t, "testdata/synthea-r4-bundles/*.json.gz") {
		for _, e := range withEntries(t, f, readFile(t, f)) {
			docs = append(docs, e.raw)
		}
	}
	compared := 0
	for _, raw := range docs {
		r, err := Parse(raw)
		if err != nil {
			continue
		}
		typ, ok := typedResources[r.Type]
		if !ok {
			continue
		}
		fast, std := reflect.New(typ), reflect.New(typ)
		if err := fastJSON.Unmarshal(raw, fast.Interface()); err != nil {
			continue // the accessors then fall back to encoding/json
		}
		if err := json.Unmarshal(raw, std.Interface()); err != nil {
			t.Errorf("%s: fast decode succeeded where encoding/json fails: %v", r.Type, err)
			continue
		}
		if !reflect.DeepEqual(fast.Interface(), std.Interface()) {
			t.Errorf("%s/%s: the fast decode differs from encoding/json's (%.80s)", r.Type, r.ID, strings.TrimSpace(string(raw)))
		}
		compared++
	}
	if compared < 300 {
		t.Fatalf("only %d documents compared", compared)
	}
}
