package resource

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s", path, got)
	}
}

// reachable lists every object of the typed resources (and the base checked
// on the others) by Go type name.
func reachable() map[string]*object {
	out := map[string]*object{}
	var visit func(o *object)
	visit = func(o *object) {
		if out[o.goName] != nil {
			return
		}
		out[o.goName] = o
		for _, e := range o.byName {
			if e.object != nil {
				visit(e.object)
			}
		}
	}
	for _, o := range schemas() {
		visit(o)
	}
	visit(baseObject())
	return out
}

func requiredNames(o *object) []string {
	var names []string
	for _, e := range o.required {
		names = append(names, e.name)
	}
	for _, c := range o.choices {
		names = append(names, c.base+"[x]("+strings.Join(c.names, "|")+")")
	}
	slices.Sort(names)
	return names
}

// TestRequiredGolden lists what Parse treats as required, per library
// struct, as derived from the json tags: a reviewer reads the list, a
// library upgrade that changes it shows up here.
func TestRequiredGolden(t *testing.T) {
	objs := reachable()
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(objs)) {
		if req := requiredNames(objs[name]); len(req) > 0 {
			fmt.Fprintf(&b, "%s: %s\n", name, strings.Join(req, ", "))
		}
	}
	golden(t, "required.golden", []byte(b.String()))
}

// TestRequiredBrief pins the required elements of the mapped types that
// Lujing relies on (R4 StructureDefinitions, cardinality 1..1 or 1..*).
func TestRequiredBrief(t *testing.T) {
	want := map[string][]string{
		"Observation":       {"status", "code"},
		"DiagnosticReport":  {"status", "code"},
		"Encounter":         {"status", "class"},
		"Condition":         {"subject"},
		"Procedure":         {"status", "subject"},
		"ServiceRequest":    {"status", "intent", "subject"},
		"MedicationRequest": {"status", "intent", "subject", "medication[x](medicationCodeableConcept|medicationReference)"},
		"ImagingStudy":      {"status", "subject"},
		"DocumentReference": {"status", "content"},
		"Composition":       {"status", "type", "date", "author", "title"},
		"AdverseEvent":      {"actuality", "subject"},
		"Patient":           nil,
	}
	for typ, names := range want {
		got := requiredNames(schemas()[typ])
		slices.Sort(names)
		if !slices.Equal(got, names) {
			t.Errorf("%s requires %v, want %v", typ, got, names)
		}
	}
}

type jsonSchema struct {
	Discriminator struct{ Mapping map[string]string }
	Definitions   map[string]struct {
		Required   []string
		Properties map[string]json.RawMessage
	}
}

func loadSchema(t *testing.T) jsonSchema {
	var s jsonSchema
	if err := json.Unmarshal(readFile(t, "testdata/fhir-r4-schema/fhir.schema.json.gz"), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKnownTypesMatchSchema(t *testing.T) {
	s := loadSchema(t)
	for name := range s.Discriminator.Mapping {
		if !KnownType(name) {
			t.Errorf("%s is an R4 resource type but not KnownType", name)
		}
	}
	if got := len(knownTypes()); got != len(s.Discriminator.Mapping) {
		t.Errorf("KnownType knows %d types, the R4 schema %d", got, len(s.Discriminator.Mapping))
	}
	for _, bad := range []string{"", "Resource", "DomainResource", "observation", "Foo", "MedicationStatement2"} {
		if KnownType(bad) {
			t.Errorf("KnownType(%q) = true", bad)
		}
	}
}

// TestSchemaRequiredCovered holds the derived rules to the R4 JSON schema,
// the reference for cardinality: every element the schema requires is
// required here, and every complex element required here is required
// there. (Primitives and choices are required here and not there: the
// schema cannot require them, a "_status" extension may stand in.)
func TestSchemaRequiredCovered(t *testing.T) {
	s := loadSchema(t)
	defs := map[string]string{} // Go type name → schema definition name
	for name := range s.Definitions {
		defs[strings.ReplaceAll(name, "_", "")] = name
	}
	checked := 0
	for goName, o := range reachable() {
		def, ok := s.Definitions[defs[goName]]
		if !ok {
			continue
		}
		checked++
		ours := map[string]bool{}
		for _, e := range o.required {
			ours[e.name] = true
			if e.kind == kindObject && !slices.Contains(def.Required, e.name) {
				t.Errorf("%s.%s is required here, not in the R4 schema", defs[goName], e.name)
			}
		}
		for _, req := range def.Required {
			if req != "resourceType" && !ours[req] {
				t.Errorf("%s.%s is required by the R4 schema, not here", defs[goName], req)
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d library structs matched a schema definition", checked)
	}
}
