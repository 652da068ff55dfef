// Package resource checks FHIR R4 JSON resources as they arrive and reads
// them.
//
// Lujing keeps the bytes it receives as the record. golang-fhir-models, used
// for typed access, cannot guard them: it has no decoder that dispatches on
// resourceType, decodes a Patient as an Observation without complaint,
// defaults a missing status to the enum's first code, drops contained,
// "_field" extensions and unknown properties, and fails on an unknown code
// with a message that names no element. So Parse decodes the JSON once into
// a generic map, checks it against the library's own struct definitions
// (JSON types, codes, required elements) with errors that name the element,
// and the typed decode happens only when mapping asks for it.
package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bytedance/sonic"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Identifier is one top-level identifier of a resource, as used by
// conditional references ("Patient?identifier=system|value").
type Identifier struct{ System, Value string }

// Meta is the resource's meta element, as far as Lujing reads it.
type Meta struct {
	VersionID   string
	LastUpdated time.Time // zero when absent
	Source      string
	Profiles    []string
}

// Reference is one "reference" string of a resource and where it was found,
// as a FHIRPath such as "Observation.performer[0].reference".
type Reference struct {
	Path  string
	Value string
}

// Resource is a checked FHIR resource. It is read-only after Parse and safe
// for concurrent use.
type Resource struct {
	Type        string
	ID          string // empty when the resource has none (a POST)
	Raw         []byte // the caller's slice given to Parse, not a copy; for a contained resource, its canonical JSON
	Meta        Meta
	Identifiers []Identifier
	Contained   []*Resource // from "contained", each checked like a top-level resource

	m map[string]any // the decoded JSON, numbers as json.Number
}

// Limits bound what Parse accepts. A zero field takes its default.
type Limits struct {
	MaxDepth int // nesting of JSON objects and arrays; default 64
	MaxArray int // elements in any one array; default 100 000
}

// Parse checks raw as a FHIR R4 resource with the default Limits. On failure
// the error is an *Error.
func Parse(raw []byte) (*Resource, error) { return parse(raw, Limits{}, "") }

// ParseWith is Parse with explicit limits.
func ParseWith(raw []byte, lim Limits) (*Resource, error) { return parse(raw, lim, "") }

// ParseStored reads a body that Parse accepted when it arrived, without checking its elements
// again: the worker maps every stored version, and the check was a fifth of that cost. It still
// refuses what is not a resource at all.
func ParseStored(raw []byte) (*Resource, error) { return parseChecked(raw, Limits{}, "", true) }

// ParseAs is Parse for an endpoint that takes one type (PUT /fhir/Observation/1):
// a resource of another type is a 400 Error, whatever its content.
func ParseAs(raw []byte, wantType string) (*Resource, error) { return parse(raw, Limits{}, wantType) }

func parse(raw []byte, lim Limits, want string) (*Resource, error) {
	return parseChecked(raw, lim, want, false)
}

func parseChecked(raw []byte, lim Limits, want string, stored bool) (*Resource, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 64
	}
	if lim.MaxArray <= 0 {
		lim.MaxArray = 100_000
	}
	m, err := decodeObject(raw, lim)
	if err != nil {
		return nil, err
	}
	typ, ok := m["resourceType"].(string)
	switch {
	case !ok:
		return nil, NotFHIR("resourceType", "resourceType is missing or not a string: not a FHIR resource")
	case !KnownType(typ):
		return nil, notFHIR("not-supported", "resourceType", "unknown resource type "+quote(typ)+": not FHIR R4")
	case want != "" && typ != want:
		return nil, notFHIR("invalid", "resourceType", fmt.Sprintf("resourceType is %s where %s is expected", typ, want))
	}
	c := &checker{base: typ, path: make([]step, 0, 16), stored: stored}
	r := c.resource(m, typ, false)
	if len(c.issues) > 0 {
		return nil, &Error{Status: http.StatusUnprocessableEntity, Issues: c.sorted()}
	}
	r.Raw = raw
	return r, nil
}

// decodeObject decodes one JSON object, numbers kept as json.Number so that
// 7.20 stays 7.20.
func decodeObject(raw []byte, lim Limits) (map[string]any, error) {
	// Raw is stored and served as it came, so it must be JSON that every
	// reader takes: encoding/json rejects a byte-order mark, and would
	// silently read invalid UTF-8 as U+FFFD, so that a GBK-encoded body
	// would be mapped garbled.
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		return nil, NotFHIR("", "body starts with a UTF-8 byte-order mark, which JSON does not allow")
	}
	if !utf8.Valid(raw) {
		return nil, NotFHIR("", "body is not UTF-8 text")
	}
	if start := bytes.TrimLeft(raw, jsonSpace); len(start) == 0 || start[0] != '{' {
		return nil, NotFHIR("", "body is not a JSON object")
	}
	if e := checkLimits(raw, lim); e != nil {
		return nil, e
	}
	// The fast decoder takes well-formed input; anything it refuses is decoded again by
	// encoding/json, whose error names what is wrong.
	var m map[string]any
	if err := fastJSON.Unmarshal(raw, &m); err == nil && m != nil {
		return m, nil
	}
	m = nil
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, NotFHIR("", fmt.Sprintf("not valid JSON: %v (byte %d)", syn, syn.Offset))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, NotFHIR("", "not valid JSON: it ends too early")
		}
		return nil, NotFHIR("", "not valid JSON: "+err.Error())
	}
	if rest := bytes.TrimLeft(raw[dec.InputOffset():], jsonSpace); len(rest) > 0 {
		return nil, NotFHIR("", "not valid JSON: more data after the object")
	}
	return m, nil
}

const jsonSpace = " \t\r\n"

// baseResource holds what Parse checks on a resource type it does not
// decode: the two elements every resource has that Lujing reads.
type baseResource struct {
	ID   *string    `json:"id,omitempty"`
	Meta *fhir.Meta `json:"meta,omitempty"`
}

var baseObject = sync.OnceValue(func() *object {
	return buildObject(reflect.TypeFor[baseResource](), map[reflect.Type]*object{})
})

// resource checks m, already known to be of the known type typ, and its
// contained resources. c.base names it in expressions.
func (c *checker) resource(m map[string]any, typ string, inContained bool) *Resource {
	o := schemas()[typ]
	if o == nil {
		o = baseObject()
	}
	if !c.stored {
		c.object(o, m)
	}
	r := &Resource{Type: typ, m: m, Identifiers: identifiers(m["identifier"])}
	if id, ok := m["id"].(string); ok {
		if !ValidID(id) {
			c.add("value", "id must be 1 to 64 characters of A-Z a-z 0-9 - .", "id")
		}
		r.ID = id
	}
	r.Meta = c.meta(m["meta"])
	v, ok := m["contained"]
	if !ok || v == nil {
		return r
	}
	arr, ok := v.([]any)
	switch {
	case inContained:
		c.add("invalid", "a contained resource must not contain resources (dom-2)", "contained")
	case !ok:
		c.add("structure", "expected an array, got "+jsonType(v), "contained")
	default:
		base := c.base
		for i, x := range arr {
			c.base = base + ".contained[" + strconv.Itoa(i) + "]"
			r.Contained = append(r.Contained, c.contained(x))
		}
		c.base = base
	}
	return r
}

// contained checks one element of "contained". Problems that make a
// top-level body "not FHIR" (400) are content errors here: the resource
// around it is FHIR.
func (c *checker) contained(v any) *Resource {
	m, ok := v.(map[string]any)
	if !ok {
		c.add("structure", "expected a resource (a JSON object), got "+jsonType(v))
		return nil
	}
	typ, ok := m["resourceType"].(string)
	switch {
	case !ok:
		c.add("structure", "resourceType is missing or not a string", "resourceType")
		return nil
	case !KnownType(typ):
		c.add("not-supported", "unknown resource type "+quote(typ), "resourceType")
		return nil
	}
	r := c.resource(m, typ, true)
	r.Raw = canonical(m)
	return r
}

// meta reads meta; its JSON types were checked with the rest of the resource.
func (c *checker) meta(v any) Meta {
	m, _ := v.(map[string]any)
	var meta Meta
	meta.VersionID, _ = m["versionId"].(string)
	meta.Source, _ = m["source"].(string)
	if s, ok := m["lastUpdated"].(string); ok {
		t, ok := parseInstant(s)
		if !ok {
			c.add("value", "lastUpdated must be a FHIR instant: YYYY-MM-DDThh:mm:ss[.sss] and Z or ±hh:mm", "meta", "lastUpdated")
		}
		meta.LastUpdated = t
	}
	profiles, _ := m["profile"].([]any)
	for _, p := range profiles {
		if s, ok := p.(string); ok {
			meta.Profiles = append(meta.Profiles, s)
		}
	}
	return meta
}

// identifiers reads the top-level identifier element: a list in most
// resources, a single object in a few (Bundle, QuestionnaireResponse).
func identifiers(v any) []Identifier {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []Identifier
	for _, x := range list {
		m, _ := x.(map[string]any)
		value, _ := m["value"].(string)
		if value == "" {
			continue
		}
		system, _ := m["system"].(string)
		out = append(out, Identifier{System: system, Value: value})
	}
	return out
}

// fastJSON decodes generic JSON about twice as fast as encoding/json (a profile of ingest under
// load spent 30% of the server's CPU in that decode), numbers kept as json.Number, invalid
// UTF-8 refused (checked before anyway), duplicate keys as encoding/json does: the last wins.
var fastJSON = sonic.Config{UseNumber: true, ValidateString: true}.Froze()
