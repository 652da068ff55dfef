// Package profile loads source profiles: YAML files that tell the mapping where one hospital
// system (a HIS, a LIS, a PACS) puts what FHIR leaves open. Defaults for his, lis, pacs and
// generic are embedded; a hospital's own files replace them by name.
//
// A profile, with every field (all but name are optional):
//
//	name: lis                    # the profile a token's --source or profile selects
//	description: 检验科 LIS
//	mrn_system: urn:oid:2.16.840.1.113883.4.487.2.1.4   # Patient.identifier system of the MRN (住院号)
//	department:                  # where an Encounter's department (科室) is
//	  service_type_system: http://lujing.example/fhir/CodeSystem/department  # Encounter.serviceType coding; "*" any
//	  location_physical_type: wa # else the Encounter.location of this physical type, by its identifier and display
//	locations:                   # physical-type codes of the ward and bed Encounter.location entries
//	  ward: wa
//	  bed: bd
//	procedure:
//	  grade_extension: http://lujing.example/fhir/StructureDefinition/surgery-grade   # valueInteger 1–4
//	  grade_category_system: ""  # or: a Procedure.category coding in this system with code 1–4
//	  planned_extension: http://lujing.example/fhir/StructureDefinition/planned-surgery   # valueBoolean
//	  urgency_extension: http://lujing.example/fhir/StructureDefinition/surgery-urgency   # valueCode emergency|elective
//	critical:                    # how a critical result (危急值) is marked
//	  interpretations:           # Observation.interpretation / DiagnosticReport.conclusionCode codings
//	    - {system: http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation, code: HH}
//	  extension: http://example.org/lis/critical   # or a valueBoolean extension
//	discharge:
//	  death:                     # Encounter.hospitalization.dischargeDisposition codings meaning death
//	    - {system: http://terminology.hl7.org/CodeSystem/discharge-disposition, code: exp}
//	reports: result              # a DiagnosticReport with no lab/imaging category: result | imaging | "" (not mapped)
//	code_maps: [lis-local-loinc] # ids of the code maps for this source's codes, tried in order
package profile

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/yamldoc"
)

//go:embed defaults/*.yaml
var defaults embed.FS

// Defaults returns the embedded profiles his, lis, pacs and generic, by name.
func Defaults() (map[string]mapping.Profile, error) {
	sub, err := fs.Sub(defaults, "defaults")
	if err != nil {
		return nil, fmt.Errorf("profile: embedded defaults: %w", err)
	}
	return Load(sub)
}

// Load parses every *.yaml file at the top of fsys into profiles by name. Two files naming
// the same profile are an error.
func Load(fsys fs.FS) (map[string]mapping.Profile, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("profile: list files: %w", err)
	}
	slices.Sort(names)
	out := map[string]mapping.Profile{}
	from := map[string]string{}
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
		p, err := Parse(name, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := from[p.Name]; ok {
			errs = append(errs, &yamldoc.Error{File: name, Field: "name", Problem: fmt.Sprintf("profile %q is also defined in %s", p.Name, prev)})
			continue
		}
		from[p.Name] = name
		out[p.Name] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Merge returns base with the profiles of over replacing those of the same name: a
// hospital's files over the defaults.
func Merge(base, over map[string]mapping.Profile) map[string]mapping.Profile {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]mapping.Profile{}
	}
	maps.Copy(out, over)
	return out
}

// Parse reads one profile file; its error lists every problem (errors.Join of *yamldoc.Error).
func Parse(name string, data []byte) (mapping.Profile, error) {
	p, errs := parse(name, data)
	if len(errs) > 0 {
		return mapping.Profile{}, errors.Join(errs...)
	}
	return p, nil
}

// Check lists the problems of a profile file as "file:line: field: problem"; none for a good
// one. It is what `lujing check` runs. Whether the code maps it names exist is checked when the
// mapper is built, which knows the maps.
func Check(name string, data []byte) []error {
	_, errs := parse(name, data)
	return errs
}

func parse(name string, data []byte) (mapping.Profile, []error) {
	var p mapping.Profile
	doc, errs := yamldoc.Decode(name, data, &p)
	if errs != nil {
		return mapping.Profile{}, errs
	}
	for _, pr := range p.Problems() {
		errs = append(errs, doc.Error(pr.Path, "%s", pr.Message))
	}
	return p, errs
}
