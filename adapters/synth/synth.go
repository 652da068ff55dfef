// Package synth generates deterministic synthetic hospital traffic as FHIR R4 JSON: inpatient
// stories as a HIS, a LIS and a PACS would send them over a stay, a realistic interleaving of
// many such stories, and transaction/batch Bundles of them.
//
// It serves three users: `lujing serve --demo` (a synthetic ward a newcomer sees filled within
// a minute), `lujing bench` (load, through package loadgen) and crash tests (which need to know
// exactly which resources were sent). The same seed and Options always give the same bytes.
//
// Where things live in the generated FHIR (what mapping code has to read):
//   - hospital: Organization with identifier Options.Hospital.System|Value; every Encounter
//     has it as serviceProvider and every Patient as managingOrganization.
//   - department (科室): Encounter.serviceType, coded in DepartmentSystem with the
//     Department.Code and the Chinese name as display/text.
//   - ward and bed (病区/床位): Encounter.location[0] is the ward Location (physicalType "wa"),
//     Encounter.location[1] the bed Location (physicalType "bd", partOf the ward), in
//     http://terminology.hl7.org/CodeSystem/location-physical-type.
//   - principal diagnosis: Encounter.diagnosis with rank 1 (use AD while in progress, DD on the
//     finished Encounter); other diagnoses have rank 2 and up.
//   - surgery grade (手术分级): Procedure.extension with url SurgeryGradeURL and valueInteger
//     1–4. Procedures that are not operations (thrombolysis) carry no grade.
//   - critical values (危急值): lab Observation.interpretation HH or LL; imaging
//     DiagnosticReport.conclusionCode AA; both in InterpretationSystem.
package synth

import (
	"math/rand/v2"
	"strings"
	"time"
)

// URLs and code systems that Lujing defines for itself. They are placeholders under
// lujing.example until the project publishes its own profiles.
const (
	BaseURL = "http://lujing.example/fhir"
	// SurgeryGradeURL is the extension on Procedure carrying the hospital's surgery grade
	// (valueInteger 1–4).
	SurgeryGradeURL = BaseURL + "/StructureDefinition/surgery-grade"
	// DepartmentSystem codes Encounter.serviceType with Department.Code.
	DepartmentSystem = BaseURL + "/CodeSystem/department"
	// LocalLabSystem and LocalExamSystem are the LIS's and PACS's own order/test codes, sent
	// next to LOINC so that code maps have something to map.
	LocalLabSystem  = BaseURL + "/CodeSystem/lis-local"
	LocalExamSystem = BaseURL + "/CodeSystem/pacs-local"
	// Identifier systems of things the generator invents.
	LocationSystem    = BaseURL + "/sid/location"
	StaffSystem       = BaseURL + "/sid/staff"
	VisitNumberSystem = BaseURL + "/sid/visit-number"
	OrderNumberSystem = BaseURL + "/sid/order-number"

	// DefaultMRNSystem is the identifier system of the hospital MRN (住院号) by default.
	DefaultMRNSystem = "urn:oid:2.16.840.1.113883.4.487.2.1.4"

	ICD10System          = "http://hl7.org/fhir/sid/icd-10"
	ICD9CMSystem         = "http://hl7.org/fhir/sid/icd-9-cm"
	LOINCSystem          = "http://loinc.org"
	UCUMSystem           = "http://unitsofmeasure.org"
	SNOMEDSystem         = "http://snomed.info/sct"
	InterpretationSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	ActCodeSystem        = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
)

// Source is the hospital system that sends a resource. It matches the --source of the
// integration token a real system would use.
type Source string

const (
	HIS  Source = "his"
	LIS  Source = "lis"
	PACS Source = "pacs"
)

// Scenario keys: the three pathway scenarios and the unrelated admissions.
const (
	ColonCancer  = "colon-cancer" // 结肠癌根治术, 14–21 days
	STEMI        = "stemi"        // 急性ST段抬高型心肌梗死, 7–14 days
	Appendicitis = "appendicitis" // 急性阑尾炎, ≤ 7 days
	Pneumonia    = "pneumonia"
	Stroke       = "stroke"
	Diabetes     = "diabetes"
	HipFracture  = "hip-fracture" // a grade-four operation outside any pathway
	LungCancer   = "lung-cancer"  // a malignant tumour without operation
)

// Hospital is the Organization every record belongs to.
type Hospital struct {
	System string // identifier system; default BaseURL + "/sid/hospital"
	Value  string // identifier value; default "LUJING-DEMO"
	Name   string // default "Lujing Demo Hospital 路径示范医院"
}

// Department is a clinical department with its one ward.
type Department struct {
	Code string // coded in DepartmentSystem, e.g. "GI-SURG"
	Name string // 胃肠外科
	Ward string // the ward Location's name, e.g. 胃肠外科病区
	Beds int    // number of bed Locations in the ward; default 40
}

// DefaultDepartments are the departments the built-in scenarios admit to, by Code:
// GI-SURG (colon cancer), CARDIO (STEMI), GEN-SURG (appendicitis), RESP (pneumonia),
// NEURO (stroke), ENDO (diabetes), ORTHO (hip fracture), ONCO (lung cancer).
func DefaultDepartments() []Department {
	return []Department{
		{"GI-SURG", "胃肠外科", "胃肠外科病区", 40},
		{"CARDIO", "心血管内科", "心内科病区", 40},
		{"GEN-SURG", "普通外科", "普外科病区", 40},
		{"RESP", "呼吸与危重症医学科", "呼吸科病区", 40},
		{"NEURO", "神经内科", "神经内科病区", 40},
		{"ENDO", "内分泌科", "内分泌科病区", 30},
		{"ORTHO", "骨科", "骨科病区", 30},
		{"ONCO", "肿瘤科", "肿瘤科病区", 30},
	}
}

// Options shape the generated hospital. The zero value is a complete, reproducible demo.
type Options struct {
	Hospital Hospital
	// MRNSystem is the identifier system of the patient's MRN (住院号); default DefaultMRNSystem.
	MRNSystem string
	// NationalIDSystem, when set, adds a synthetic 18-digit resident ID (身份证号) under this
	// system to every Patient, to exercise masking. Off by default: it is sensitive data.
	// The numbers use the non-existent region code 999999, so they can belong to no one.
	NationalIDSystem string
	// Zone is the hospital's time zone, used for working hours and for written times;
	// default Asia/Shanghai (UTC+8 if the zone database is missing).
	Zone *time.Location
	// Start is the first admission. Zero means 2026-01-05 08:00 in Zone: a fixed date, so
	// that the same seed gives the same bytes. A demo passes a recent time.
	Start time.Time
	// CriticalShare is the fraction of lab results (Observations) that are critical values, and
	// the chance that an imaging report is flagged critical. Zero means 0.05; negative, none.
	CriticalShare float64
	// AdmissionsPerDay is the mean rate of admissions (a Poisson process); default 30.
	AdmissionsPerDay float64
	// Departments replaces DefaultDepartments. A scenario whose department Code is not listed
	// is admitted to the first department given, so one ward can take every patient.
	Departments []Department
	// Mix weights the scenarios by key (ColonCancer, STEMI, …); a scenario not listed gets
	// weight 0. Nil, or a Mix giving no known scenario a positive weight, means the default
	// mix: ~65% pathway patients (20:20:25), ~35% unrelated admissions.
	Mix map[string]int
}

// Resource is one FHIR resource as a source system sends it.
type Resource struct {
	Type   string    // FHIR resource type
	ID     string    // logical id (a UUID)
	Source Source    // the system that sends it
	Time   time.Time // clinical time at which it is sent; also its meta.lastUpdated
	JSON   []byte    // the resource, compact JSON
}

// Ref is the resource's literal reference, "Type/id".
func (r Resource) Ref() string { return r.Type + "/" + r.ID }

// Story is one patient's inpatient stay (and, for a few patients, an unplanned readmission),
// as the resources the sources send over it, ordered by Time. A resource that changes (the
// Encounter on admission, coding and discharge; a Patient who dies) appears once per version,
// with the same id.
type Story struct {
	PatientID  string
	MRN        string
	Scenario   string    // scenario key of the first stay
	Admitted   time.Time // first admission
	Discharged time.Time // end of the last stay
	Events     []Resource

	arrival time.Time // when the patient arrived; no event is earlier (Stream relies on it)
}

// Generator produces stories. It is deterministic given its seed and Options and is not safe
// for concurrent use: stories draw on shared state (arrival clock, bed occupancy) in order.
type Generator struct {
	seed     int64
	opt      Options
	depts    []Department
	scen     []scenario // with dept resolved
	weights  []int
	total    int
	arrivals *rand.Rand
	next     time.Time // arrival of the next patient
	n        int       // patients generated so far
	mrnTag   int       // seed-derived MRN prefix, so runs with different seeds do not collide
	bedFree  [][]time.Time
	facility *facility
}

// New returns a Generator for seed and opts (defaults filled in as documented on Options).
func New(seed int64, opts Options) *Generator {
	if opts.Hospital.System == "" {
		opts.Hospital.System = BaseURL + "/sid/hospital"
	}
	if opts.Hospital.Value == "" {
		opts.Hospital.Value = "LUJING-DEMO"
	}
	if opts.Hospital.Name == "" {
		opts.Hospital.Name = "Lujing Demo Hospital 路径示范医院"
	}
	// Strings from outside go into JSON unescaped beyond what JSON needs; make them valid UTF-8.
	for _, s := range []*string{&opts.Hospital.System, &opts.Hospital.Value, &opts.Hospital.Name, &opts.MRNSystem, &opts.NationalIDSystem} {
		*s = strings.ToValidUTF8(*s, "\uFFFD")
	}
	if opts.MRNSystem == "" {
		opts.MRNSystem = DefaultMRNSystem
	}
	if opts.Zone == nil {
		z, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			z = time.FixedZone("CST", 8*3600) // China has no daylight saving time
		}
		opts.Zone = z
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 1, 5, 8, 0, 0, 0, opts.Zone)
	}
	switch {
	case opts.CriticalShare == 0:
		opts.CriticalShare = 0.05
	case opts.CriticalShare < 0:
		opts.CriticalShare = 0
	case opts.CriticalShare > 1:
		opts.CriticalShare = 1
	}
	if opts.AdmissionsPerDay <= 0 {
		opts.AdmissionsPerDay = 30
	}
	depts := opts.Departments
	if len(depts) == 0 {
		depts = DefaultDepartments()
	}
	depts = append([]Department(nil), depts...)
	for i := range depts {
		depts[i].Code = strings.ToValidUTF8(depts[i].Code, "\uFFFD")
		depts[i].Name = strings.ToValidUTF8(depts[i].Name, "\uFFFD")
		depts[i].Ward = strings.ToValidUTF8(depts[i].Ward, "\uFFFD")
		if depts[i].Beds <= 0 {
			depts[i].Beds = 40
		}
		if depts[i].Ward == "" {
			depts[i].Ward = depts[i].Name + "病区"
		}
	}
	g := &Generator{
		seed:     seed,
		opt:      opts,
		depts:    depts,
		arrivals: rand.New(rand.NewPCG(uint64(seed), 0x61727269)), // "arri": a stream apart from the stories'
		next:     opts.Start,
		mrnTag:   int(uint64(seed)*0x9e3779b97f4a7c15>>40) % 10000,
	}
	g.bedFree = make([][]time.Time, len(depts))
	for i, d := range depts {
		g.bedFree[i] = make([]time.Time, d.Beds)
	}
	for _, s := range scenarios {
		w := s.weight
		if opts.Mix != nil {
			w = opts.Mix[s.key]
		}
		if w <= 0 {
			continue
		}
		s.dept = 0
		for i, d := range depts {
			if d.Code == s.deptCode {
				s.dept = i
			}
		}
		g.scen = append(g.scen, s)
		g.weights = append(g.weights, w)
		g.total += w
	}
	if g.total == 0 { // a Mix that names nothing known: fall back to the default mix
		g.opt.Mix = nil
		return New(seed, g.opt)
	}
	g.facility = newFacility(g)
	return g
}

// Options returns the options in effect, defaults filled in.
func (g *Generator) Options() Options { return g.opt }

// Departments returns the departments in effect.
func (g *Generator) Departments() []Department { return append([]Department(nil), g.depts...) }

// Facility returns the resources every story refers to and that a HIS would have sent before:
// the hospital Organization, per department a ward Location, its bed Locations and a few
// Practitioners. Send them first. Their ids depend on the hospital identifier only, not on
// the seed, so runs with different seeds share them.
func (g *Generator) Facility() []Resource { return append([]Resource(nil), g.facility.resources...) }
