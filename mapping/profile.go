package mapping

import (
	"fmt"
	"slices"
)

// Profile says where one source system puts what the mapping reads, where that is not fixed
// by FHIR: which identifier is the medical-record number, where the department is, how it
// marks a critical result, which code maps apply to its codes. It is plain data; package
// adapters/profile loads it from YAML (the yaml tags are that format).
type Profile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// MRNSystem is the Patient.identifier system of the medical-record number (住院号).
	MRNSystem  string         `yaml:"mrn_system"`
	Department DepartmentRule `yaml:"department"`
	Locations  LocationRule   `yaml:"locations"`
	Procedure  ProcedureRule  `yaml:"procedure"`
	Critical   CriticalRule   `yaml:"critical"`
	Discharge  DischargeRule  `yaml:"discharge"`
	// Reports says what a DiagnosticReport whose category is neither a laboratory nor an
	// imaging section is: "result" (a LIS), "imaging" (a PACS/RIS), or "" (not mapped).
	Reports string `yaml:"reports"`
	// CodeMaps are the ids of the code maps that translate this source's codes, tried in order.
	CodeMaps []string `yaml:"code_maps"`
}

// DepartmentRule says where an Encounter's department (科室) is.
type DepartmentRule struct {
	// ServiceTypeSystem: the Encounter.serviceType coding in this system is the department.
	// "*" takes the first coding whatever its system.
	ServiceTypeSystem string `yaml:"service_type_system"`
	// LocationPhysicalType: otherwise, the Encounter.location of this physical type (e.g. "wa",
	// a ward) names the department by the reference's identifier and display.
	LocationPhysicalType string `yaml:"location_physical_type"`
}

// LocationRule gives the physical-type codes (http://terminology.hl7.org/CodeSystem/location-physical-type
// or the source's own, matched by code) of the Encounter.location entries that are the ward
// and the bed.
type LocationRule struct {
	Ward string `yaml:"ward"`
	Bed  string `yaml:"bed"`
}

// ProcedureRule says where a Procedure's surgery grade, planned flag and urgency are.
type ProcedureRule struct {
	// GradeExtension is the URL of the extension whose value (valueInteger 1–4, or a valueCode
	// or valueString "1"–"4") is the surgery grade.
	GradeExtension string `yaml:"grade_extension"`
	// GradeCategorySystem: else, a Procedure.category coding in this system whose code is
	// "1"–"4" is the grade.
	GradeCategorySystem string `yaml:"grade_category_system"`
	// PlannedExtension: a valueBoolean extension saying whether the operation was planned.
	PlannedExtension string `yaml:"planned_extension"`
	// UrgencyExtension: a valueCode extension, "emergency" or "elective".
	UrgencyExtension string `yaml:"urgency_extension"`
}

// CriticalRule says how the source marks a critical result (危急值).
type CriticalRule struct {
	// Interpretations are the codings of Observation.interpretation or
	// DiagnosticReport.conclusionCode that mark one, e.g. v3-ObservationInterpretation HH.
	Interpretations []Code `yaml:"interpretations"`
	// Extension is the URL of a valueBoolean extension on the Observation or DiagnosticReport
	// that is true for a critical result.
	Extension string `yaml:"extension"`
}

// DischargeRule says how a discharge by death is coded.
type DischargeRule struct {
	// Death are the Encounter.hospitalization.dischargeDisposition codings meaning the patient died.
	Death []Code `yaml:"death"`
}

// Problem is one thing wrong in a Profile, at a path such as "critical.interpretations[1].code".
type Problem struct {
	Path    string
	Message string
}

// Problems checks p for what the mapping would trip on; adapters/profile reports them with the
// file's line numbers. Whether CodeMaps exist is checked by New, which knows the maps.
func (p Profile) Problems() []Problem {
	var out []Problem
	bad := func(path, format string, args ...any) {
		out = append(out, Problem{path, fmt.Sprintf(format, args...)})
	}
	if p.Name == "" {
		bad("name", "required")
	}
	if !slices.Contains([]string{"", KindResult, KindImaging}, p.Reports) {
		bad("reports", "%q is not result, imaging or empty", p.Reports)
	}
	codes := func(path string, list []Code) {
		for i, c := range list {
			if c.System == "" {
				bad(fmt.Sprintf("%s[%d].system", path, i), "required")
			}
			if c.Code == "" {
				bad(fmt.Sprintf("%s[%d].code", path, i), "required")
			}
		}
	}
	codes("critical.interpretations", p.Critical.Interpretations)
	codes("discharge.death", p.Discharge.Death)
	seen := map[string]bool{}
	for i, id := range p.CodeMaps {
		if seen[id] {
			bad(fmt.Sprintf("code_maps[%d]", i), "%q is listed twice", id)
		}
		seen[id] = true
	}
	return out
}
