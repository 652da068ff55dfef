package synth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A small validator for the FHIR R4 JSON Schema (draft-06), enough for the keywords that file
// uses: $ref, type, properties with additionalProperties false, required, enum, const,
// pattern, items and the resource-list oneOf. It catches misspelled or misplaced elements,
// bad codes in required bindings and malformed dates, ids and decimals. No validator
// library is available to the project, and this is all the schema needs.

// schemaPath finds fhir.schema.json: LUJING_FHIR_SCHEMA, or the shared fixtures next to the
// repository.
func schemaPath() string {
	if p := os.Getenv("LUJING_FHIR_SCHEMA"); p != "" {
		return p
	}
	p, _ := filepath.Abs("../../../shared/fixtures/fhir-r4-schema/fhir.schema.json")
	return p
}

type schemaDoc struct {
	defs     map[string]map[string]any
	patterns map[string]*regexp.Regexp
}

func loadSchema(t *testing.T) *schemaDoc {
	raw, err := os.ReadFile(schemaPath())
	if err != nil {
		t.Skipf("FHIR JSON Schema not available (%v); set LUJING_FHIR_SCHEMA", err)
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("schema: %v", err)
	}
	return &schemaDoc{defs: doc.Definitions, patterns: map[string]*regexp.Regexp{}}
}

func (s *schemaDoc) validate(v any, sch map[string]any, path string) error {
	if ref, ok := sch["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		def, ok := s.defs[name]
		if !ok {
			return fmt.Errorf("%s: schema has no %s", path, ref)
		}
		return s.validate(v, def, path)
	}
	if one, ok := sch["oneOf"].([]any); ok { // ResourceList: dispatch on resourceType
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", path)
		}
		rt, _ := m["resourceType"].(string)
		for _, alt := range one {
			if alt.(map[string]any)["$ref"] == "#/definitions/"+rt {
				return s.validate(v, alt.(map[string]any), path)
			}
		}
		return fmt.Errorf("%s: unknown resourceType %q", path, rt)
	}
	if c, ok := sch["const"]; ok && v != c {
		return fmt.Errorf("%s: %v, want %v", path, v, c)
	}
	if enum, ok := sch["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || e == v
		}
		if !found {
			return fmt.Errorf("%s: %v not in %v", path, v, enum)
		}
	}
	switch sch["type"] {
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %v is not a string", path, v)
		}
		if p, ok := sch["pattern"].(string); ok {
			re, seen := s.patterns[p]
			if !seen {
				re, _ = regexp.Compile(p) // a pattern RE2 cannot compile is not checked
				s.patterns[p] = re
			}
			if re != nil && !re.MatchString(str) {
				return fmt.Errorf("%s: %q does not match %s", path, str, p)
			}
		}
	case "number":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %v is not a number", path, v)
		}
		// The schema's patterns on numbers (integer, decimal) apply to the literal as written.
		if p, ok := sch["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(string(n)) {
			return fmt.Errorf("%s: %s does not match %s", path, n, p)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %v is not a boolean", path, v)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: not an array", path)
		}
		if len(arr) == 0 {
			return fmt.Errorf("%s: empty array (FHIR forbids)", path)
		}
		items, _ := sch["items"].(map[string]any)
		for i, e := range arr {
			if err := s.validate(e, items, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	if props, ok := sch["properties"].(map[string]any); ok {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object", path)
		}
		for k, e := range m {
			p, ok := props[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s: unknown element %q", path, k)
			}
			if err := s.validate(e, p, path+"."+k); err != nil {
				return err
			}
		}
		if req, ok := sch["required"].([]any); ok {
			for _, k := range req {
				if _, ok := m[k.(string)]; !ok {
					return fmt.Errorf("%s: missing required %q", path, k)
				}
			}
		}
	}
	return nil
}

func (s *schemaDoc) check(t *testing.T, name string, body []byte) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber() // keep numbers as written, like the schema's number patterns
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	rt, _ := v.(map[string]any)["resourceType"].(string)
	def, ok := s.defs[rt]
	if !ok {
		t.Fatalf("%s: unknown resourceType %q", name, rt)
	}
	if err := s.validate(v, def, rt); err != nil {
		t.Fatalf("%s does not conform to the R4 JSON Schema: %v", name, err)
	}
}

func TestAgainstR4Schema(t *testing.T) {
	s := loadSchema(t)
	g := New(8, Options{NationalIDSystem: "urn:oid:1.2.156.10011.1.3", CriticalShare: 0.3})
	seen := map[string]int{}
	rs := take(g, 3000)
	for _, r := range rs {
		s.check(t, r.Ref(), r.JSON)
		seen[r.Type]++
	}
	t.Logf("validated %v", seen)
	s.check(t, "transaction", Transaction(rs[:200]))
	s.check(t, "batch", Batch(rs[200:400]))
	post, err := TransactionPOST(g.Patient().Events)
	if err != nil {
		t.Fatal(err)
	}
	s.check(t, "POST transaction", post)

	// The validator itself must reject what it claims to.
	for _, bad := range []string{
		`{"resourceType":"Observation","status":"final","code":{},"valueQuantity":{"value":"1"}}`,
		`{"resourceType":"Encounter","status":"done","class":{}}`,
		`{"resourceType":"Patient","birthDay":"2020-01-01"}`,
		`{"resourceType":"Observation","status":"final","code":{},"issued":"2026-01-01T08:00"}`,
	} {
		var v any
		dec := json.NewDecoder(strings.NewReader(bad))
		dec.UseNumber()
		_ = dec.Decode(&v)
		rt := v.(map[string]any)["resourceType"].(string)
		if err := s.validate(v, s.defs[rt], rt); err == nil {
			t.Errorf("validator accepted %s", bad)
		}
	}
}
