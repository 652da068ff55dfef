package synth

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// obj is a JSON object that keeps its keys in insertion order, so that generated resources
// read like FHIR examples (resourceType first) and encode to the same bytes on every run
// without paying for encoding/json's reflection and re-validation on every resource.
type obj []field

type field struct {
	k string
	v any
}

// o builds an obj from alternating keys and values. A nil value, a nil obj, an empty string
// and an empty slice are left out, so optional elements can be passed unconditionally.
func o(kv ...any) obj {
	out := make(obj, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if empty(kv[i+1]) {
			continue
		}
		out = append(out, field{kv[i].(string), kv[i+1]})
	}
	return out
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case obj:
		return x == nil
	case string:
		return x == ""
	case []obj:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	}
	return false
}

// appendJSON encodes v. It knows exactly the value types this package builds; anything else
// is a programming error in the generator.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case obj:
		b = append(b, '{')
		for i, f := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.k)
			b = append(b, ':')
			b = appendJSON(b, f.v)
		}
		return append(b, '}')
	case []obj:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		return append(b, ']')
	case string:
		return appendString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case bool:
		return strconv.AppendBool(b, x)
	case json.Number: // a FHIR decimal with its precision as written
		return append(b, x...)
	case json.RawMessage:
		return append(b, x...)
	}
	panic("synth: cannot encode value of this type") // unreachable with the builders here
}

// appendString writes s as a JSON string, escaping only what JSON requires; Chinese text
// stays readable UTF-8. Runs of plain bytes are copied at once: this is the generator's
// hottest loop. s must be valid UTF-8: every string here is a literal of this package or an
// Options string that New made valid.
func appendString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		if c < 0x20 {
			b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
		} else {
			b = append(b, '\\', c)
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// uuidNamespace is the name space of every id this package derives (a fixed random UUID).
var uuidNamespace = [16]byte{0x6c, 0x75, 0x6a, 0x69, 0x6e, 0x67, 0x4f, 0x2a, 0x9d, 0x15, 0x53, 0x79, 0x6e, 0x74, 0x68, 0x21}

// nameUUID returns the RFC 9562 version-5 (SHA-1, name-based) UUID of name. Name-based ids
// make every run with the same seed produce the same ids, and a UUID is a valid FHIR id that
// can also be used as a urn:uuid fullUrl.
func nameUUID(name string) string {
	h := sha1.New()
	h.Write(uuidNamespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}
