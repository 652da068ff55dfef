package codemap_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/lujing-health/lujing/mapping/codemap"
)

const good = `id: lab
version: "1"
title: Lab
groups:
  - source: http://lab/local
    target: http://loinc.org
    elements:
      - {code: K, target: 2823-3, target_display: Potassium}
      - {code: K, target: 6298-4, equivalence: wider}
      - {code: OLD, equivalence: unmatched}
      - {code: NA, target: 2951-2, equivalence: inexact, comment: serum only}
`

func TestTranslate(t *testing.T) {
	m, err := codemap.Parse("lab.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		system, code string
		want         string // targets as code/equivalence
		ok           bool
	}{
		{"http://lab/local", "K", "2823-3/equivalent 6298-4/wider", true},
		{"http://lab/local", "OLD", "/unmatched", true},
		{"http://lab/local", "NA", "2951-2/inexact", true},
		{"http://lab/local", "k", "", false}, // codes are exact
		{"http://other", "K", "", false},
	}
	for _, tt := range tests {
		targets, ok := m.Translate(tt.system, tt.code)
		var got []string
		for _, x := range targets {
			if x.System != "http://loinc.org" {
				t.Errorf("%s: target system %q", tt.code, x.System)
			}
			got = append(got, x.Code+"/"+string(x.Equivalence))
		}
		if strings.Join(got, " ") != tt.want || ok != tt.ok {
			t.Errorf("Translate(%s, %s) = %v, %v; want %s, %v", tt.system, tt.code, got, ok, tt.want, tt.ok)
		}
	}
}

// TestCheck: each problem is reported as "file:line: field: problem", all of them at once.
func TestCheck(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"good", good, nil},
		{"not YAML", "id: [unclosed\n", []string{"m.yaml:1: not valid YAML: did not find expected ',' or ']'"}},
		{"empty", "", []string{"m.yaml: empty document"}},
		{"a list", "- a\n", []string{"m.yaml:1: expected a mapping of fields at the top level"}},
		{"unknown field", "id: x\nversion: \"1\"\nversoin: 2\n", []string{"m.yaml:3: versoin: unknown field"}},
		{"wrong type", "id: x\nversion: \"1\"\ngroups:\n  - source: s\n    elements: {code: a}\n", []string{"m.yaml:5: groups[0].elements: expected a list, got a mapping"}},
		{"required", "title: t\n", []string{
			"m.yaml:1: id: required",
			"m.yaml:1: version: required",
			"m.yaml:1: groups: at least one group is required",
		}},
		{"elements", `id: bad id
version: "1"
status: final
groups:
  - source: http://a
    target: http://b c
    elements:
      - {code: " K", target: x}
      - {code: K2}
      - {code: K3, target: y, equivalence: unmatched}
      - {code: K4, target: y, equivalence: narrower}
      - {code: K5, target: y, equivalence: same}
      - {code: K6, target: y}
      - {code: K6, target: y}
  - source: http://a
    target: http://b c
    elements: []
`, []string{
			`m.yaml:1: id: "bad id" is not a FHIR id: 1 to 64 of A-Z a-z 0-9 - .`,
			`m.yaml:3: status: "final" is not draft, active or retired`,
			`m.yaml:6: groups[0].target: "http://b c" is not a URI (it contains white space)`,
			`m.yaml:8: groups[0].elements[0].code: " K" is not a FHIR code (leading, trailing or repeated spaces)`,
			`m.yaml:9: groups[0].elements[1].target: required unless the equivalence is unmatched or disjoint`,
			`m.yaml:10: groups[0].elements[2].target: a unmatched element has no target code`,
			`m.yaml:11: groups[0].elements[3].comment: required for a narrower mapping: say what is lost (FHIR rule cmd-1)`,
			`m.yaml:12: groups[0].elements[4].equivalence: "same" is not a ConceptMap equivalence (relatedto, equivalent, equal, wider, subsumes, narrower, specializes, inexact, unmatched, disjoint)`,
			`m.yaml:14: groups[0].elements[6]: maps "K6" to "y" again, as elements[5] does`,
			`m.yaml:16: groups[1].target: "http://b c" is not a URI (it contains white space)`,
			`m.yaml:15: groups[1]: same source and target as groups[0]: merge them`,
			`m.yaml:17: groups[1].elements: at least one element is required`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range codemap.Check("m.yaml", []byte(tt.yaml)) {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestBuiltin(t *testing.T) {
	maps, err := codemap.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range maps {
		ids = append(ids, m.ID)
	}
	want := []string{"document-kinds", "lis-local-loinc", "pacs-local-loinc", "snomed-icd10", "snomed-icd9cm3"}
	if !slices.Equal(ids, want) {
		t.Errorf("ids %v, want %v", ids, want)
	}
	// The codes the issue names, and every local lab code the synthetic LIS sends.
	for _, tt := range []struct{ id, system, code, target string }{
		{"snomed-icd10", "http://snomed.info/sct", "363406005", "C18.9"},
		{"snomed-icd10", "http://snomed.info/sct", "401303003", "I21.3"},
		{"snomed-icd10", "http://snomed.info/sct", "22298006", "I21.9"},
		{"snomed-icd10", "http://snomed.info/sct", "74400008", "K37"},
		{"snomed-icd10", "http://snomed.info/sct", "85189001", "K35.8"},
		{"snomed-icd9cm3", "http://snomed.info/sct", "80146002", "47.09"},
		{"snomed-icd9cm3", "http://snomed.info/sct", "415070008", "00.66"},
		{"lis-local-loinc", "http://lujing.example/fhir/CodeSystem/lis-local", "K", "2823-3"},
	} {
		i := slices.IndexFunc(maps, func(m *codemap.Map) bool { return m.ID == tt.id })
		targets, ok := maps[i].Translate(tt.system, tt.code)
		if !ok || targets[0].Code != tt.target {
			t.Errorf("%s %s: %v", tt.id, tt.code, targets)
		}
	}
	lis := maps[slices.IndexFunc(maps, func(m *codemap.Map) bool { return m.ID == "lis-local-loinc" })]
	for _, code := range []string{"ELEC", "CBC", "GLU", "CEA", "CTNI", "INR", "K", "NA", "CL", "HGB", "PLT", "WBC"} {
		if _, ok := lis.Translate("http://lujing.example/fhir/CodeSystem/lis-local", code); !ok {
			t.Errorf("the synthetic LIS's code %s is not in lis-local-loinc", code)
		}
	}
}

func TestLoadRefusesDuplicateIDs(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(good)}, "sub/b.yaml": {Data: []byte(good)}}
	_, err := codemap.Load(fsys)
	if err == nil || !strings.Contains(err.Error(), `sub/b.yaml: id: "lab" is also the id of a.yaml`) {
		t.Errorf("got %v", err)
	}
}

// TestConceptMapValid exports every shipped map and checks it against the FHIR R4 JSON schema
// and golang-fhir-models' ConceptMap (which refuses unknown codes).
func TestConceptMapValid(t *testing.T) {
	schema := loadSchema(t)
	// The checker has teeth: an unknown element and a bad equivalence fail. (The R4 schema
	// leaves cardinality out: status is checked below.)
	var bad any
	_ = json.Unmarshal([]byte(`{"resourceType":"ConceptMap","colour":1,"group":[{"element":[{"code":"a","target":[{"equivalence":"same"}]}]}]}`), &bad)
	if got := schema.validate(schema.ref("#/definitions/ConceptMap"), bad, "ConceptMap"); len(got) != 2 {
		t.Errorf("a bad ConceptMap: %v", got)
	}
	maps, err := codemap.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range maps {
		b, err := m.ConceptMap()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		for _, problem := range schema.validate(schema.ref("#/definitions/ConceptMap"), v, "ConceptMap") {
			t.Errorf("%s: %s", m.ID, problem)
		}
		if _, err := fhir.UnmarshalConceptMap(b); err != nil {
			t.Errorf("%s: golang-fhir-models: %v", m.ID, err)
		}
		var cm struct {
			ResourceType, Status, Name string
			Group                      []struct {
				Source, Target string
				Element        []struct {
					Code   string
					Target []struct{ Code, Equivalence string }
				}
			}
		}
		if err := json.Unmarshal(b, &cm); err != nil {
			t.Fatal(err)
		}
		if cm.ResourceType != "ConceptMap" || cm.Status != "active" || !regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`).MatchString(cm.Name) ||
			len(cm.Group) == 0 || cm.Group[0].Source == "" || len(cm.Group[0].Element) == 0 || cm.Group[0].Element[0].Target[0].Equivalence == "" {
			t.Errorf("%s: %s", m.ID, b)
		}
	}
}

// schema is the part of JSON Schema (draft 6) the FHIR R4 schema uses for ConceptMap.
type schema struct{ defs map[string]any }

func loadSchema(t *testing.T) schema {
	raw, err := os.ReadFile("../resource/testdata/fhir-r4-schema/fhir.schema.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	raw, err = io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Definitions map[string]any }
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return schema{s.Definitions}
}

func (s schema) ref(r string) map[string]any {
	def, _ := s.defs[strings.TrimPrefix(r, "#/definitions/")].(map[string]any)
	return def
}

func (s schema) validate(def map[string]any, v any, path string) []string {
	if r, ok := def["$ref"].(string); ok {
		return s.validate(s.ref(r), v, path)
	}
	var out []string
	if c, ok := def["const"]; ok && c != v {
		out = append(out, fmt.Sprintf("%s: %v is not %v", path, v, c))
	}
	if e, ok := def["enum"].([]any); ok && !slices.Contains(e, v) {
		out = append(out, fmt.Sprintf("%s: %v is not one of %v", path, v, e))
	}
	switch typ, _ := def["type"].(string); typ {
	case "string":
		str, ok := v.(string)
		if !ok {
			return append(out, path+": not a string")
		}
		if p, ok := def["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			out = append(out, fmt.Sprintf("%s: %q does not match %s", path, str, p))
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return append(out, path+": not an array")
		}
		items, _ := def["items"].(map[string]any)
		for i, x := range arr {
			out = append(out, s.validate(items, x, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	props, isObject := def["properties"].(map[string]any)
	if !isObject {
		return out
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return append(out, path+": not an object")
	}
	for k, x := range obj {
		p, ok := props[k].(map[string]any)
		if !ok {
			out = append(out, path+"."+k+": not allowed (additionalProperties)")
			continue
		}
		out = append(out, s.validate(p, x, path+"."+k)...)
	}
	req, _ := def["required"].([]any)
	for _, r := range req {
		if _, ok := obj[r.(string)]; !ok {
			out = append(out, path+"."+r.(string)+": required")
		}
	}
	return out
}
