// Package fhirschema validates FHIR R4 JSON against the official R4 JSON Schema (draft-06),
// embedded. It is enough for the keywords that file uses: $ref, type, properties with
// additionalProperties false, required, enum, const, pattern, items and the resource-list
// oneOf. It catches misspelled or misplaced elements, bad codes in required bindings and
// malformed dates, ids and decimals. Tests of every FHIR view use it; no validator library is
// available to the project, and this is all the schema needs.
package fhirschema

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
)

//go:embed fhir.schema.json.gz
var schemaGz []byte

var (
	loadOnce sync.Once
	loaded   *schemaDoc
	loadErr  error
)

func load() (*schemaDoc, error) {
	loadOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(schemaGz))
		if err != nil {
			loadErr = fmt.Errorf("schema: %w", err)
			return
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			loadErr = fmt.Errorf("schema: %w", err)
			return
		}
		var doc struct {
			Definitions map[string]map[string]any `json:"definitions"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			loadErr = fmt.Errorf("schema: %w", err)
			return
		}
		loaded = &schemaDoc{defs: doc.Definitions, patterns: map[string]*regexp.Regexp{}}
	})
	return loaded, loadErr
}

// Validate checks one resource (any type, a Bundle included) against the R4 JSON Schema and
// returns the first violation, naming its path.
func Validate(body []byte) error {
	s, err := load()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep numbers as written, like the schema's number patterns
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("not a JSON object")
	}
	rt, _ := m["resourceType"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	def, ok := s.defs[rt]
	if !ok {
		return fmt.Errorf("unknown resourceType %q", rt)
	}
	if err := s.validate(v, def, rt); err != nil {
		return fmt.Errorf("does not conform to the R4 JSON Schema: %w", err)
	}
	return nil
}

type schemaDoc struct {
	mu       sync.Mutex // guards patterns
	defs     map[string]map[string]any
	patterns map[string]*regexp.Regexp
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
