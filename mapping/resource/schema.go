package resource

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// typedResources are the types Lujing decodes with golang-fhir-models (the
// types it maps, plus Organization, Practitioner and Location, which mapping
// reads for names and departments). Parse checks these against the library's
// own structs, so that a resource Parse accepts always decodes.
var typedResources = map[string]reflect.Type{
	"AdverseEvent":      reflect.TypeFor[fhir.AdverseEvent](),
	"Composition":       reflect.TypeFor[fhir.Composition](),
	"Condition":         reflect.TypeFor[fhir.Condition](),
	"DiagnosticReport":  reflect.TypeFor[fhir.DiagnosticReport](),
	"DocumentReference": reflect.TypeFor[fhir.DocumentReference](),
	"Encounter":         reflect.TypeFor[fhir.Encounter](),
	"ImagingStudy":      reflect.TypeFor[fhir.ImagingStudy](),
	"Location":          reflect.TypeFor[fhir.Location](),
	"MedicationRequest": reflect.TypeFor[fhir.MedicationRequest](),
	"Observation":       reflect.TypeFor[fhir.Observation](),
	"Organization":      reflect.TypeFor[fhir.Organization](),
	"Patient":           reflect.TypeFor[fhir.Patient](),
	"Practitioner":      reflect.TypeFor[fhir.Practitioner](),
	"Procedure":         reflect.TypeFor[fhir.Procedure](),
	"ServiceRequest":    reflect.TypeFor[fhir.ServiceRequest](),
}

// extraCodes are required bindings that golang-fhir-models decodes as plain
// strings (it has no enum for these value sets), so that the library would
// let "status":"bogus" through to mapping. Codes from R4 4.0.1
// medicationrequest-status and medicationrequest-intent.
var extraCodes = map[reflect.Type]map[string][]string{
	reflect.TypeFor[fhir.MedicationRequest](): {
		"status": {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"},
		"intent": {"proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option"},
	},
}

// kind is how one JSON property must look for encoding/json to decode it
// into the library's Go field.
type kind uint8

const (
	kindString  kind = iota // Go string: FHIR string, uri, date, dateTime, code without enum, …
	kindBool                // Go bool
	kindInt                 // Go int: FHIR integer, positiveInt, unsignedInt (32-bit)
	kindDecimal             // json.Number: FHIR decimal, any JSON number
	kindCode                // a library enum: a string from a fixed list
	kindObject              // a library struct
)

// element is one JSON property of a FHIR element as golang-fhir-models
// decodes it.
type element struct {
	name     string
	kind     kind
	list     bool     // a Go slice: FHIR max cardinality *
	codes    []string // kindCode
	object   *object  // kindObject
	required bool     // no omitempty: FHIR min cardinality 1
}

// object describes a FHIR resource, datatype or backbone element: the
// properties of one library struct.
type object struct {
	goName   string
	byName   map[string]*element
	byFold   map[string]*element // encoding/json also matches names case-insensitively
	required []*element
	choices  []choice // required choice elements, e.g. MedicationRequest.medication[x]
}

// choice is a required choice element: one of names must be present.
type choice struct {
	base  string
	names []string
}

// lookup finds the element a JSON key decodes into, the way encoding/json
// does: the exact name, else a case-insensitive match.
func (o *object) lookup(key string) *element {
	if e := o.byName[key]; e != nil {
		return e
	}
	return o.byFold[foldName(key)]
}

// schemas holds the object of each typed resource. Derived once, on first use, from the
// library's struct fields and json tags, which the library generates from
// the R4 StructureDefinitions: a pointer or omitempty field is optional, a
// field without omitempty is required (min 1). The JSON schema
// (fhir.schema.json) cannot serve here: its "required" arrays omit every
// primitive (status, intent, date, title, actuality) and every choice
// element (medication[x]) because those may be given as "_status"
// extensions. schema_test.go checks that every element the JSON schema
// requires is required here too, and required.golden lists the outcome.
var schemas = sync.OnceValue(func() map[string]*object {
	built := map[reflect.Type]*object{}
	out := map[string]*object{}
	for name, t := range typedResources {
		out[name] = buildObject(t, built)
	}
	return out
})

var (
	numberType  = reflect.TypeFor[json.Number]()
	unmarshaler = reflect.TypeFor[json.Unmarshaler]()
	coder       = reflect.TypeFor[interface{ Code() string }]()
)

func buildObject(t reflect.Type, built map[reflect.Type]*object) *object {
	if o := built[t]; o != nil {
		return o // recursive types: Extension holds Extension
	}
	o := &object{goName: t.Name(), byName: map[string]*element{}, byFold: map[string]*element{}}
	built[t] = o
	var required []*element
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		e := &element{name: name, required: !strings.Contains(opts, "omitempty")}
		ft := sf.Type
		if ft.Kind() == reflect.Slice {
			e.list, ft = true, ft.Elem()
		}
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft == numberType:
			e.kind = kindDecimal
		case ft.Kind() == reflect.Int && reflect.PointerTo(ft).Implements(unmarshaler) && ft.Implements(coder):
			e.kind, e.codes = kindCode, enumCodes(ft)
		case ft.Kind() == reflect.String:
			e.kind = kindString
			if codes := extraCodes[t][name]; codes != nil {
				e.kind, e.codes = kindCode, codes
			}
		case ft.Kind() == reflect.Bool:
			e.kind = kindBool
		case ft.Kind() == reflect.Int:
			e.kind = kindInt
		case ft.Kind() == reflect.Struct:
			e.kind, e.object = kindObject, buildObject(ft, built)
		default:
			// Only reachable if the library's generator changes; the
			// schema tests build every object and would fail first.
			panic(fmt.Sprintf("resource: no rule for %s.%s of Go type %s", t.Name(), sf.Name, sf.Type))
		}
		o.byName[name] = e
		o.byFold[foldName(name)] = e
		if e.required {
			required = append(required, e)
		}
	}
	o.required, o.choices = splitChoices(required)
	return o
}

// enumCodes lists an enum's codes by asking the library for Code() of
// 0, 1, 2, … until it answers "<unknown>": exactly what its UnmarshalJSON
// accepts.
func enumCodes(t reflect.Type) []string {
	var codes []string
	v := reflect.New(t).Elem()
	for i := int64(0); ; i++ {
		v.SetInt(i)
		c := v.Interface().(interface{ Code() string }).Code()
		if c == "<unknown>" {
			return codes
		}
		codes = append(codes, c)
	}
}

// splitChoices separates required choice elements from plain required ones.
// The library marks every type of a required choice as required
// (medicationCodeableConcept and medicationReference both lack omitempty)
// although only one may be given. Such siblings share a base name that ends
// where a type name begins (an upper-case letter); the longest base shared
// with another required sibling is the choice.
func splitChoices(required []*element) (plain []*element, choices []choice) {
	count := map[string]int{}
	for _, e := range required {
		for _, b := range choiceBases(e.name) {
			count[b]++
		}
	}
	index := map[string]int{}
	for _, e := range required {
		base := ""
		for _, b := range choiceBases(e.name) {
			if count[b] > 1 && len(b) > len(base) {
				base = b
			}
		}
		if base == "" {
			plain = append(plain, e)
			continue
		}
		i, ok := index[base]
		if !ok {
			i = len(choices)
			index[base] = i
			choices = append(choices, choice{base: base})
		}
		choices[i].names = append(choices[i].names, e.name)
	}
	return plain, choices
}

// choiceBases are the prefixes of name that end before an upper-case
// letter: "medicationCodeableConcept" → "medication", "medicationCodeable".
func choiceBases(name string) []string {
	var bases []string
	for i := 1; i < len(name); i++ {
		if 'A' <= name[i] && name[i] <= 'Z' {
			bases = append(bases, name[:i])
		}
	}
	return bases
}

// foldName is encoding/json's key folding (fold.go): ASCII upper case, and
// for other runes the smallest rune of their simple-fold orbit, so that
// lookup matches the same keys the typed decode will.
func foldName(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return string(out)
}

func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}
