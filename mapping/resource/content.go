package resource

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Map is the decoded JSON, numbers as json.Number. It is shared: do not
// modify it.
func (r *Resource) Map() map[string]any { return r.m }

// String is the scalar at path as text, or "" when there is none: a string
// as is, a number as written, a boolean as "true" or "false". Array elements
// are addressed by their decimal index: r.String("code", "coding", "0", "code").
func (r *Resource) String(path ...string) string {
	var v any = r.m
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// Subject is the patient reference as written: subject.reference, else
// patient.reference, else "". For a Patient it is "Patient/<id>" ("" without
// an id).
func (r *Resource) Subject() string {
	if r.Type == "Patient" {
		if r.ID == "" {
			return ""
		}
		return "Patient/" + r.ID
	}
	if s := r.String("subject", "reference"); s != "" {
		return s
	}
	return r.String("patient", "reference")
}

// Hash is the hex SHA-256 of the canonical content: the JSON re-encoded
// with sorted keys and no insignificant whitespace, without meta.versionId
// and meta.lastUpdated (and without meta if nothing else is in it). A
// redelivery that only reformats the JSON or bumps the server-assigned
// version therefore hashes equal; numbers keep their text, so 7.2 and 7.20
// differ, as FHIR says their precision does.
func (r *Resource) Hash() string {
	m := maps.Clone(r.m)
	if meta, ok := m["meta"].(map[string]any); ok {
		meta = maps.Clone(meta)
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(m, "meta")
		} else {
			m["meta"] = meta
		}
	}
	sum := sha256.Sum256(canonical(m))
	return hex.EncodeToString(sum[:])
}

// References lists every "reference" string in the resource, in key order,
// with its path. References inside contained resources are not listed; they
// are in r.Contained[i].References().
func (r *Resource) References() []Reference {
	var out []Reference
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if k == "contained" {
					continue
				}
				if s, ok := x[k].(string); ok && k == "reference" {
					out = append(out, Reference{Path: path + ".reference", Value: s})
					continue
				}
				walk(x[k], path+"."+k)
			}
		case []any:
			for i, e := range x {
				walk(e, path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(r.m, r.Type)
	return out
}

// Rewritten returns the resource with each "reference" value that is a key of rewrite replaced
// by its value, as when a transaction's urn:uuid references become server ids. Key order and
// whitespace of its Raw may change; numbers keep their exact text. References inside contained
// resources are rewritten too in Raw (a contained Medication may point at another entry of the
// same transaction), but a local reference ("#x", to a contained resource) never is. What is
// read of it (Subject, Hash…) is read from the rewritten body, without parsing it again; its
// Contained are kept as they were. r is not modified.
func (r *Resource) Rewritten(rewrite map[string]string) (*Resource, error) {
	m, _ := rewriteRefs(r.m, rewrite).(map[string]any)
	b, err := encode(m)
	if err != nil {
		return nil, fmt.Errorf("resource: encode %s/%s with rewritten references: %w", r.Type, r.ID, err)
	}
	nr := *r
	nr.m, nr.Raw = m, b
	return &nr, nil
}

// rewriteRefs copies v with references rewritten; r.m is never modified.
func rewriteRefs(v any, rewrite map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				if to, ok := rewrite[s]; ok && !strings.HasPrefix(s, "#") {
					e = to
				}
			} else {
				e = rewriteRefs(e, rewrite)
			}
			out[k] = e
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rewriteRefs(e, rewrite)
		}
		return out
	}
	return v
}

// encode writes v, a tree of decoded JSON, as compact JSON with object keys
// sorted bytewise and strings escaped only where JSON requires it (so a
// Quantity comparator "<" stays "<" for the library's enum decoder). It is
// the canonical form Hash digests. encoding/json's Encoder would do the same
// at twice the cost.
func encode(v any) ([]byte, error) {
	return appendJSON(make([]byte, 0, 1024), v)
}

func appendJSON(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		b = append(b, "null"...)
	case bool:
		b = strconv.AppendBool(b, x)
	case json.Number:
		b = append(b, x...) // as written: 7.20 stays 7.20
	case string:
		b = appendString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	case map[string]any:
		var buf [32]string // FHIR objects are small: sort keys without allocating
		keys := buf[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			if b, err = appendJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		b = append(b, '}')
	default:
		return nil, fmt.Errorf("resource: %T is not decoded JSON", v)
	}
	return b, nil
}

// appendString quotes s, which is valid UTF-8 (the decoder saw to that).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	return append(append(b, s[start:]...), '"')
}

// canonical is encode for a decoded map, which cannot fail: the map holds
// only what encoding/json decoded.
func canonical(m map[string]any) []byte {
	b, err := encode(m)
	if err != nil {
		panic(err)
	}
	return b
}

// ReferenceValues returns every "reference" string in the resource, those inside contained
// resources included, in no particular order. It is the cheap form of References for
// resolving a Bundle, where paths are not needed.
func (r *Resource) ReferenceValues() []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "reference" {
					out = append(out, s)
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(r.m)
	return out
}
