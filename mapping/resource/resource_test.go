package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

const obsOK = `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"K"},"subject":{"reference":"Patient/p1"}}`

// observation returns obsOK with its top-level properties replaced or, for
// a nil value, removed.
func observation(set map[string]any) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(obsOK), &m); err != nil {
		panic(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

type badCase struct {
	name   string
	body   string
	as     string // ParseAs type, if any
	status int
	code   string
	expr   string // of the first issue
}

var badCases = []badCase{
	{"empty", ``, "", 400, "structure", ""},
	{"not JSON", `{"resourceType": "Patient",`, "", 400, "structure", ""},
	{"syntax error", `{"resourceType": "Patient" "id": "x"}`, "", 400, "structure", ""},
	{"array", `[{"resourceType":"Patient"}]`, "", 400, "structure", ""},
	{"string", `"Patient"`, "", 400, "structure", ""},
	{"data after object", `{"resourceType":"Patient"} {}`, "", 400, "structure", ""},
	{"not UTF-8", "{\"resourceType\":\"Patient\",\"name\":[{\"text\":\"\xd5\xc5\xc8\xfd\"}]}", "", 400, "structure", ""},
	{"byte-order mark", "\xef\xbb\xbf{\"resourceType\":\"Patient\"}", "", 400, "structure", ""},
	{"no resourceType", `{"id":"x"}`, "", 400, "structure", "resourceType"},
	{"resourceType not a string", `{"resourceType":["Patient"]}`, "", 400, "structure", "resourceType"},
	{"unknown type", `{"resourceType":"Patinet"}`, "", 400, "not-supported", "resourceType"},
	{"abstract type", `{"resourceType":"DomainResource"}`, "", 400, "not-supported", "resourceType"},
	{"Patient as Observation", `{"resourceType":"Patient","id":"p1"}`, "Observation", 400, "invalid", "resourceType"},
	{"invalid Patient as Observation", `{"resourceType":"Patient","id":"no spaces"}`, "Observation", 400, "invalid", "resourceType"},
	{"missing Observation.status", observation(map[string]any{"status": nil}), "", 422, "required", "Observation.status"},
	{"null Observation.status", observation(map[string]any{"status": raw(`null`)}), "", 422, "required", "Observation.status"},
	{"status only as extension", observation(map[string]any{"status": nil, "_status": raw(`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}`)}), "", 422, "required", "Observation.status"},
	{"missing Observation.code", observation(map[string]any{"code": nil}), "", 422, "required", "Observation.code"},
	{"empty Observation.code", observation(map[string]any{"code": raw(`{}`)}), "", 422, "required", "Observation.code"},
	{"unknown status code", observation(map[string]any{"status": "finalish"}), "", 422, "code-invalid", "Observation.status"},
	{"status not a string", observation(map[string]any{"status": 1}), "", 422, "code-invalid", "Observation.status"},
	{"status in folded key", observation(map[string]any{"\u017ftatus": "finalish"}), "", 422, "code-invalid", "Observation.\u017ftatus"},
	{"status in other case key", observation(map[string]any{"Status": "finalish"}), "", 422, "code-invalid", "Observation.Status"},
	{"code is a string", observation(map[string]any{"code": "2823-3"}), "", 422, "structure", "Observation.code"},
	{"coding not an array", observation(map[string]any{"code": raw(`{"coding":{"code":"x"}}`)}), "", 422, "structure", "Observation.code.coding"},
	{"coding system a number", observation(map[string]any{"code": raw(`{"coding":[{"code":"x"},{"system":5}]}`)}), "", 422, "structure", "Observation.code.coding[1].system"},
	{"decimal as a string", observation(map[string]any{"valueQuantity": raw(`{"value":"6.2"}`)}), "", 422, "structure", "Observation.valueQuantity.value"},
	{"unknown comparator", observation(map[string]any{"valueQuantity": raw(`{"value":6.2,"comparator":"~"}`)}), "", 422, "code-invalid", "Observation.valueQuantity.comparator"},
	{"integer too large", observation(map[string]any{"valueInteger": raw(`3000000000`)}), "", 422, "value", "Observation.valueInteger"},
	{"integer with fraction", observation(map[string]any{"valueInteger": raw(`3.0`)}), "", 422, "value", "Observation.valueInteger"},
	{"component without code", observation(map[string]any{"component": raw(`[{"code":{"text":"sys"}},{"valueString":"x"}]`)}), "", 422, "required", "Observation.component[1].code"},
	{"bad id", `{"resourceType":"Patient","id":"no spaces"}`, "", 422, "value", "Patient.id"},
	{"id too long", `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`, "", 422, "value", "Patient.id"},
	{"id a number", `{"resourceType":"Patient","id":42}`, "", 422, "structure", "Patient.id"},
	{"id a number, untyped type", `{"resourceType":"Basic","id":42,"code":{}}`, "", 422, "structure", "Basic.id"},
	{"bad lastUpdated", `{"resourceType":"Basic","meta":{"lastUpdated":"2026-03-03 08:15"}}`, "", 422, "value", "Basic.meta.lastUpdated"},
	{"lastUpdated without zone", `{"resourceType":"Patient","meta":{"lastUpdated":"2026-03-03T08:15:00"}}`, "", 422, "value", "Patient.meta.lastUpdated"},
	{"meta not an object", `{"resourceType":"Bundle","meta":"v1"}`, "", 422, "structure", "Bundle.meta"},
	{"gender not a code", `{"resourceType":"Patient","gender":"M"}`, "", 422, "code-invalid", "Patient.gender"},
	{"link type null", `{"resourceType":"Patient","link":[{"other":{"reference":"Patient/2"},"type":null}]}`, "", 422, "required", "Patient.link[0].type"},
	{"Encounter class as a list", `{"resourceType":"Encounter","status":"finished","class":[{"code":"IMP"}]}`, "", 422, "structure", "Encounter.class"},
	{"Encounter without class", `{"resourceType":"Encounter","status":"finished"}`, "", 422, "required", "Encounter.class"},
	{"MedicationRequest status", `{"resourceType":"MedicationRequest","status":"bogus","intent":"order","subject":{"reference":"Patient/1"},"medicationReference":{"reference":"Medication/1"}}`, "", 422, "code-invalid", "MedicationRequest.status"},
	{"MedicationRequest without medication", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"}}`, "", 422, "required", "MedicationRequest.medication[x]"},
	{"MedicationRequest with two medications", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"},"medicationReference":{"reference":"Medication/1"},"medicationCodeableConcept":{"text":"x"}}`, "", 422, "invalid", "MedicationRequest.medication[x]"},
	{"Composition without title", `{"resourceType":"Composition","status":"final","type":{"text":"x"},"date":"2026-03-03","author":[{"reference":"Practitioner/1"}]}`, "", 422, "required", "Composition.title"},
	{"Composition with empty author", `{"resourceType":"Composition","status":"final","type":{"text":"x"},"date":"2026-03-03","author":[],"title":"t"}`, "", 422, "required", "Composition.author"},
	{"contained Observation without status", `{"resourceType":"DiagnosticReport","status":"final","code":{"text":"panel"},"result":[{"reference":"#o1"}],"contained":[{"resourceType":"Observation","id":"o1","code":{"text":"K"}}]}`, "", 422, "required", "DiagnosticReport.contained[0].status"},
	{"contained without resourceType", `{"resourceType":"Patient","contained":[{"id":"x"}]}`, "", 422, "structure", "Patient.contained[0].resourceType"},
	{"contained of unknown type", `{"resourceType":"Patient","contained":[{"resourceType":"Foo"}]}`, "", 422, "not-supported", "Patient.contained[0].resourceType"},
	{"contained not a list", `{"resourceType":"Patient","contained":{"resourceType":"Basic"}}`, "", 422, "structure", "Patient.contained"},
	{"contained a string", `{"resourceType":"Patient","contained":["Basic"]}`, "", 422, "structure", "Patient.contained[0]"},
	{"contained in contained", `{"resourceType":"Patient","contained":[{"resourceType":"Basic","contained":[{"resourceType":"Basic"}]}]}`, "", 422, "invalid", "Patient.contained[0].contained"},
	{"contained bad id", `{"resourceType":"Basic","contained":[{"resourceType":"Basic","id":"#x"}]}`, "", 422, "value", "Basic.contained[0].id"},
	{"deep nesting", `{"resourceType":"Basic","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "", 422, "too-costly", "Basic.x" + strings.Repeat("[0]", 63)},
	{"deep objects", `{"resourceType":"Basic","x":` + strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat("}", 100) + `}`, "", 422, "too-costly", "Basic.x" + strings.Repeat(".a", 63)},
	{"huge array", `{"resourceType":"Basic","x":[` + strings.Repeat("0,", 100_000) + `0]}`, "", 422, "too-costly", "Basic.x"},
	{"huge nested array", `{"resourceType":"Basic","x":[{"y":[` + strings.Repeat(`"a",`, 100_000) + `"a"]}]}`, "", 422, "too-costly", "Basic.x[0].y"},
}

func TestBadInput(t *testing.T) {
	var out strings.Builder
	for _, tc := range badCases {
		var err error
		if tc.as != "" {
			_, err = ParseAs([]byte(tc.body), tc.as)
		} else {
			_, err = Parse([]byte(tc.body))
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: got %v, want an *Error", tc.name, err)
			continue
		}
		if e.Status != tc.status || len(e.Issues) == 0 || e.Issues[0].Code != tc.code || e.Issues[0].Expression != tc.expr {
			t.Errorf("%s: got %d %+v, want %d %s at %q", tc.name, e.Status, e.Issues, tc.status, tc.code, tc.expr)
		}
		fmt.Fprintf(&out, "%s\n\t%d", tc.name, e.Status)
		for _, is := range e.Issues {
			fmt.Fprintf(&out, "\n\t%s %s %s: %s", is.Severity, is.Code, is.Expression, is.Diagnostics)
		}
		out.WriteString("\n")
	}
	golden(t, "bad.golden", []byte(out.String()))
}

func TestUnknownCodeListsAllowed(t *testing.T) {
	_, err := Parse([]byte(observation(map[string]any{"status": "finalish"})))
	want := `Observation.status: unknown code "finalish"; allowed: registered | preliminary | final | amended | corrected | cancelled | entered-in-error | unknown`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestSeveralIssues(t *testing.T) {
	_, err := Parse([]byte(`{"resourceType":"Observation","id":"a b","code":"x","valueQuantity":{"value":"1"}}`))
	var e *Error
	if !errors.As(err, &e) || e.Status != 422 {
		t.Fatalf("got %v", err)
	}
	var got []string
	for _, is := range e.Issues {
		got = append(got, is.Expression)
	}
	want := "Observation.code Observation.id Observation.status Observation.valueQuantity.value"
	if strings.Join(got, " ") != want {
		t.Errorf("issues at %v, want %s", got, want)
	}
}

// TestLargeHostileBodies: 16 MiB bodies that would cost a recursive decoder
// its stack or a long time are refused after a short scan.
func TestLargeHostileBodies(t *testing.T) {
	t.Parallel()
	const size = 16 << 20
	cases := map[string][]byte{
		"brackets":             bytes.Repeat([]byte("["), size),
		"object of brackets":   append([]byte(`{"resourceType":"Basic","a":`), bytes.Repeat([]byte("["), size)...),
		"object of objects":    append([]byte(`{"resourceType":"Basic"`), bytes.Repeat([]byte(`,"a":{"b":1}`), size/12)...),
		"long array":           append([]byte(`{"a":[`), bytes.Repeat([]byte("1,"), size/2)...),
		"long unclosed string": append([]byte(`{"a":"`), bytes.Repeat([]byte("x"), size)...),
	}
	for name, body := range cases {
		start := time.Now()
		_, err := Parse(body)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: got %v", name, err)
		}
		t.Logf("%s: %v in %v", name, err.Error()[:min(60, len(err.Error()))], time.Since(start))
	}
}

func TestLimits(t *testing.T) {
	body := []byte(`{"resourceType":"Basic","x":[[1,2,3]]}`)
	if _, err := ParseWith(body, Limits{MaxDepth: 3, MaxArray: 3}); err != nil {
		t.Errorf("at the limits: %v", err)
	}
	if _, err := ParseWith(body, Limits{MaxDepth: 2}); err == nil {
		t.Error("depth 3 passed MaxDepth 2")
	}
	if _, err := ParseWith(body, Limits{MaxArray: 2}); err == nil {
		t.Error("3 elements passed MaxArray 2")
	}
}

func TestAccepted(t *testing.T) {
	body := `{
	  "resourceType": "Observation", "id": "o.1-A",
	  "meta": {"versionId": "4", "lastUpdated": "2026-03-03T08:15:02.12+08:00", "source": "lis", "profile": ["http://example.cn/p"]},
	  "identifier": [{"system": "urn:lis", "value": "R1"}, {"system": "urn:x"}],
	  "status": "final", "_status": {"extension": [{"url": "http://example.cn/e", "valueString": "已审核"}]},
	  "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
	  "subject": {"reference": "Patient/p1"},
	  "valueQuantity": {"value": 7.20, "comparator": "\u003c", "unit": "mmol/L"},
	  "note": [{"text": "见附件"}],
	  "performer": [{"reference": "#pr"}, {"reference": "urn:uuid:5b6a"}],
	  "unknownProperty": true,
	  "contained": [{"resourceType": "Practitioner", "id": "pr", "name": [{"family": "王"}], "qualification": [{"code": {"text": "MD"}, "issuer": {"reference": "urn:uuid:org"}}]}]
	}`
	r, err := ParseAs([]byte(body), "Observation")
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "Observation" || r.ID != "o.1-A" || string(r.Raw) != body {
		t.Errorf("Type %q ID %q, Raw kept: %v", r.Type, r.ID, string(r.Raw) == body)
	}
	wantTime := time.Date(2026, 3, 3, 0, 15, 2, 120_000_000, time.UTC)
	if r.Meta.VersionID != "4" || !r.Meta.LastUpdated.Equal(wantTime) || r.Meta.Source != "lis" || len(r.Meta.Profiles) != 1 {
		t.Errorf("Meta %+v", r.Meta)
	}
	if len(r.Identifiers) != 1 || r.Identifiers[0] != (Identifier{"urn:lis", "R1"}) {
		t.Errorf("Identifiers %+v", r.Identifiers)
	}
	if len(r.Contained) != 1 || r.Contained[0].Type != "Practitioner" || r.Contained[0].ID != "pr" {
		t.Fatalf("Contained %+v", r.Contained)
	}
	if got := r.Subject(); got != "Patient/p1" {
		t.Errorf("Subject %q", got)
	}
	for path, want := range map[string]string{
		"status": "final", "code.coding.0.code": "2823-3", "valueQuantity.value": "7.20", "unknownProperty": "true",
		"code.coding.1.code": "", "code.coding.x": "", "code": "", "nothing.here": "", "status.x": "",
	} {
		if got := r.String(strings.Split(path, ".")...); got != want {
			t.Errorf("String(%s) = %q, want %q", path, got, want)
		}
	}
	// The library's decode of the raw body fails on "\u003c"; the accessor
	// falls back to the canonical encoding.
	obs, err := r.Observation()
	if err != nil {
		t.Fatal(err)
	}
	if obs.Status.Code() != "final" || obs.ValueQuantity.Comparator.Code() != "<" || obs.ValueQuantity.Value.String() != "7.20" {
		t.Errorf("typed: %v %v %v", obs.Status, obs.ValueQuantity.Comparator, obs.ValueQuantity.Value)
	}
	pr, err := r.Contained[0].Practitioner()
	if err != nil || *pr.Name[0].Family != "王" {
		t.Errorf("contained Practitioner: %v %v", pr.Name, err)
	}
	if _, err := r.Patient(); err == nil {
		t.Error("an Observation read as a Patient")
	}
}

func TestDuplicateKeysDecode(t *testing.T) {
	// encoding/json keeps the last of duplicate keys in the map Parse
	// checks, but the library's decoder sees the first too.
	r, err := Parse([]byte(`{"resourceType":"Observation","status":"bogus","status":"final","code":{"text":"K"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if obs, err := r.Observation(); err != nil || obs.Status.Code() != "final" {
		t.Errorf("got %v %v", obs.Status, err)
	}
}

func TestUntypedStoredAsIs(t *testing.T) {
	// Types Lujing does not map are checked for type, id and meta only.
	r, err := Parse([]byte(`{"resourceType":"Bundle","id":"b1","type":"no-such-type","entry":{"not":"a list"}}`))
	if err != nil || r.Type != "Bundle" {
		t.Fatalf("got %v", err)
	}
}

func TestSubject(t *testing.T) {
	for body, want := range map[string]string{
		`{"resourceType":"Patient","id":"p1"}`:                                       "Patient/p1",
		`{"resourceType":"Patient"}`:                                                 "",
		`{"resourceType":"Condition","subject":{"reference":"Patient/p2"}}`:          "Patient/p2",
		`{"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/p3"}}`: "Patient/p3",
		`{"resourceType":"Organization","id":"o"}`:                                   "",
		`{"resourceType":"Basic","subject":{"identifier":{"value":"x"}}}`:            "",
	} {
		r, err := Parse([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if got := r.Subject(); got != want {
			t.Errorf("%s: Subject %q, want %q", body, got, want)
		}
	}
}

func mustParse(t testing.TB, body string) *Resource {
	t.Helper()
	r, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHash(t *testing.T) {
	base := mustParse(t, `{"resourceType":"Observation","id":"o1","meta":{"versionId":"1","lastUpdated":"2026-03-03T08:00:00Z"},"status":"final","code":{"text":"K"},"valueQuantity":{"value":7.20}}`).Hash()
	same := []string{
		// key order, whitespace, escapes, versionId and lastUpdated
		"{\n  \"valueQuantity\": {\"value\": 7.20},\n  \"code\": {\"text\": \"\\u004b\"}, \"status\": \"final\",\n  \"resourceType\": \"Observation\", \"id\": \"o1\",\n  \"meta\": {\"lastUpdated\": \"2026-03-04T09:00:00+08:00\", \"versionId\": \"2\"}\n}",
		// meta gone altogether
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"K"},"valueQuantity":{"value":7.20}}`,
	}
	for _, body := range same {
		if got := mustParse(t, body).Hash(); got != base {
			t.Errorf("hash differs for %s", body)
		}
	}
	different := []string{
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"K"},"valueQuantity":{"value":7.2}}`,
		`{"resourceType":"Observation","id":"o1","status":"amended","code":{"text":"K"},"valueQuantity":{"value":7.20}}`,
		`{"resourceType":"Observation","id":"o1","meta":{"source":"lis"},"status":"final","code":{"text":"K"},"valueQuantity":{"value":7.20}}`,
	}
	for _, body := range different {
		if got := mustParse(t, body).Hash(); got == base {
			t.Errorf("hash equal for %s", body)
		}
	}
	if len(base) != 64 {
		t.Errorf("hash %q is not hex SHA-256", base)
	}
}

func TestReferences(t *testing.T) {
	r := mustParse(t, `{"resourceType":"DiagnosticReport","status":"final","code":{"text":"panel"},
		"subject":{"reference":"urn:uuid:p"},"result":[{"reference":"#o1"},{"reference":"Observation/2"}],
		"performer":[{"display":"lab"}],
		"contained":[{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"K"},"subject":{"reference":"urn:uuid:p"},"valueQuantity":{"value":7.20}}]}`)
	got := fmt.Sprint(r.References())
	want := "[{DiagnosticReport.result[0].reference #o1} {DiagnosticReport.result[1].reference Observation/2} {DiagnosticReport.subject.reference urn:uuid:p}]"
	if got != want {
		t.Errorf("References\n got %s\nwant %s", got, want)
	}
	if got := fmt.Sprint(r.Contained[0].References()); got != "[{Observation.subject.reference urn:uuid:p}]" {
		t.Errorf("contained References %s", got)
	}

	nr, err := r.Rewritten(map[string]string{"urn:uuid:p": "Patient/17", "#o1": "Observation/99", "Observation/2": "Observation/2"})
	if err != nil {
		t.Fatal(err)
	}
	out := nr.Raw
	for _, want := range []string{`"subject":{"reference":"Patient/17"}`, `{"reference":"#o1"}`, `"value":7.20`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("Rewritten lacks %s:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("urn:uuid:p")) || bytes.Contains(out, []byte("Observation/99")) {
		t.Errorf("Rewritten:\n%s", out)
	}
	again := mustParse(t, string(out))
	if again.String("subject", "reference") != "Patient/17" || again.Contained[0].String("subject", "reference") != "Patient/17" {
		t.Errorf("rewritten resource: %s", out)
	}
	if r.String("subject", "reference") != "urn:uuid:p" {
		t.Error("Rewritten modified the resource")
	}
}

// TestConcurrentReads: a Resource is shared between goroutines (run with -race).
func TestConcurrentReads(t *testing.T) {
	r := mustParse(t, string(readFile(t, "testdata/own/Observation-bench.json")))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_ = r.Hash()
			_ = r.References()
			if _, err := r.Rewritten(map[string]string{"Patient/example": "Patient/1"}); err != nil {
				t.Error(err)
			}
			if _, err := r.Observation(); err != nil {
				t.Error(err)
			}
			_, _ = Parse(r.Raw)
		})
	}
	wg.Wait()
}
