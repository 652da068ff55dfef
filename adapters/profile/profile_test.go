package profile_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/codemap"
)

func TestDefaults(t *testing.T) {
	ps, err := profile.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range ps {
		names = append(names, name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"generic", "his", "lis", "pacs"}) {
		t.Fatalf("profiles %v", names)
	}
	if ps["lis"].Reports != mapping.KindResult || ps["pacs"].Reports != mapping.KindImaging ||
		ps["his"].Department.ServiceTypeSystem != "http://lujing.example/fhir/CodeSystem/department" {
		t.Errorf("unexpected defaults: %+v", ps)
	}
	// They name only maps that ship, so the mapper builds with them.
	maps, err := codemap.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mapping.New(nopResources{}, mapping.Options{Profiles: ps, CodeMaps: maps}); err != nil {
		t.Error(err)
	}
}

type nopResources struct{ mapping.Resources }

// The format shown in the package documentation parses.
func TestDocumentedExample(t *testing.T) {
	const doc = `name: lis
description: 检验科 LIS
mrn_system: urn:oid:2.16.840.1.113883.4.487.2.1.4
department:
  service_type_system: http://lujing.example/fhir/CodeSystem/department
  location_physical_type: wa
locations:
  ward: wa
  bed: bd
procedure:
  grade_extension: http://lujing.example/fhir/StructureDefinition/surgery-grade
  grade_category_system: ""
  planned_extension: http://lujing.example/fhir/StructureDefinition/planned-surgery
  urgency_extension: http://lujing.example/fhir/StructureDefinition/surgery-urgency
critical:
  interpretations:
    - {system: http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation, code: HH}
  extension: http://example.org/lis/critical
discharge:
  death:
    - {system: http://terminology.hl7.org/CodeSystem/discharge-disposition, code: exp}
reports: result
code_maps: [lis-local-loinc]
`
	p, err := profile.Parse("lis.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if p.Critical.Interpretations[0].Code != "HH" || p.Locations.Bed != "bd" || p.CodeMaps[0] != "lis-local-loinc" {
		t.Errorf("%+v", p)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"good", "name: x\n", nil},
		{"problems", `description: no name
reports: maybe
critical:
  interpretations:
    - {system: http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation}
code_maps: [a, a]
`, []string{
			"p.yaml:1: name: required",
			`p.yaml:2: reports: "maybe" is not result, imaging or empty`,
			"p.yaml:5: critical.interpretations[0].code: required",
			`p.yaml:6: code_maps[1]: "a" is listed twice`,
		}},
		{"unknown field", "name: x\ncritcal: {}\n", []string{"p.yaml:2: critcal: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range profile.Check("p.yaml", []byte(tt.yaml)) {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadAndMerge(t *testing.T) {
	own, err := profile.Load(fstest.MapFS{
		"lis.yaml":   {Data: []byte("name: lis\nreports: result\n")},
		"notes.txt":  {Data: []byte("not a profile")},
		"roche.yaml": {Data: []byte("name: roche\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := profile.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	all := profile.Merge(defaults, own)
	if len(all) != 5 || len(all["lis"].CodeMaps) != 0 || all["his"].Name != "his" {
		t.Errorf("merged: %+v", all)
	}
	_, err = profile.Load(fstest.MapFS{"a.yaml": {Data: []byte("name: x\n")}, "b.yaml": {Data: []byte("name: x\n")}})
	if err == nil || !strings.Contains(err.Error(), `b.yaml: name: profile "x" is also defined in a.yaml`) {
		t.Errorf("duplicate names: %v", err)
	}
}
