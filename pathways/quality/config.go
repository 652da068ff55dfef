package quality

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/yamldoc"
)

// Config is a loaded QC settings file: targets, and what the encounter-level indicators
// count. Read-only once parsed. default.yaml documents the format and is the default.
type Config struct {
	ID, Version, Title string
	Zone               *time.Location
	// Targets override the catalogue's by indicator id; a nil target removes it.
	Targets map[string]*Target

	ReadmissionDays  int
	PlannedAdmission []mapping.Code

	ReturnHours, ReturnDays int
	OperationCategories     []mapping.Code

	PostOp []Complication

	MDTDocuments        []string
	MDTWithinDays       int
	MDTExcludeEmergency bool

	STEMI, Stroke Reperfusion

	AdverseIncludePotential bool

	AuditCodes, AuditCorrect, AuditIncorrect []mapping.Code
}

// Complication is one post-operative acquired condition: an ICD-10 prefix.
type Complication struct {
	Prefix string `yaml:"prefix"`
	Name   string `yaml:"name"`
}

// Reperfusion is the STEMI or stroke setting.
type Reperfusion struct {
	Diagnoses          []string       `yaml:"diagnoses"`
	ArrivalWithinHours float64        `yaml:"arrival_within_hours"`
	WithinHours        float64        `yaml:"reperfusion_within_hours"`
	Procedures         []string       `yaml:"procedures"`
	Medications        []mapping.Code `yaml:"medications"`
}

// Name is "id@version".
func (c *Config) Name() string { return c.ID + "@" + c.Version }

type file struct {
	ID         string `yaml:"id"`
	Version    string `yaml:"version"`
	Title      string `yaml:"title"`
	Zone       string `yaml:"zone"`
	Indicators map[string]struct {
		Target string `yaml:"target"`
	} `yaml:"indicators"`
	Readmission struct {
		Days             *int           `yaml:"days"`
		PlannedAdmission []mapping.Code `yaml:"planned_admission"`
	} `yaml:"readmission"`
	ReturnToTheatre struct {
		Hours *int `yaml:"hours"`
		Days  *int `yaml:"days"`
	} `yaml:"return_to_theatre"`
	Operations struct {
		Categories []mapping.Code `yaml:"categories"`
	} `yaml:"operations"`
	PostOp []Complication `yaml:"postop_complications"`
	MDT    struct {
		Documents        []string `yaml:"documents"`
		WithinDays       *int     `yaml:"within_days"`
		ExcludeEmergency *bool    `yaml:"exclude_emergency"`
	} `yaml:"mdt"`
	STEMI         *Reperfusion `yaml:"stemi"`
	Stroke        *Reperfusion `yaml:"stroke"`
	AdverseEvents struct {
		IncludePotential *bool `yaml:"include_potential"`
	} `yaml:"adverse_events"`
	CodingAudit struct {
		Codes     []mapping.Code `yaml:"codes"`
		Correct   []mapping.Code `yaml:"correct"`
		Incorrect []mapping.Code `yaml:"incorrect"`
	} `yaml:"coding_audit"`
}

//go:embed default.yaml
var defaultYAML []byte

// Default returns the shipped settings (default.yaml).
func Default() *Config {
	c, err := Parse("default.yaml", defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("quality: the embedded default.yaml is invalid: %v", err))
	}
	return c
}

// Parse reads settings from data, the contents of file name; the error joins every problem
// (*yamldoc.Error: file, line, field).
func Parse(name string, data []byte) (*Config, error) {
	c, errs := parse(name, data)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Check lists the problems of a settings file, none for a good one (`lujing check`).
func Check(name string, data []byte) []error {
	_, errs := parse(name, data)
	return errs
}

// ParseTarget reads ">= 80", "<= 1.8" or "none" (nil).
func ParseTarget(s string) (*Target, error) {
	s = strings.TrimSpace(s)
	if s == "none" {
		return nil, nil
	}
	for _, cmp := range []string{">=", "<=", "≥", "≤"} {
		if rest, ok := strings.CutPrefix(s, cmp); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "%")), 64)
			if err != nil {
				return nil, fmt.Errorf("%q: the value is not a number", s)
			}
			c := map[string]string{"≥": ">=", "≤": "<="}[cmp]
			if c == "" {
				c = cmp
			}
			return &Target{Comparator: c, Value: v}, nil
		}
	}
	return nil, fmt.Errorf("%q: want \">= N\", \"<= N\" or \"none\"", s)
}

func parse(name string, data []byte) (*Config, []error) {
	var f file
	doc, errs := yamldoc.Decode(name, data, &f)
	if errs != nil {
		return nil, errs
	}
	bad := func(field, format string, args ...any) { errs = append(errs, doc.Error(field, format, args...)) }
	errs = append(errs, doc.Versioned(f.ID, f.Version)...)
	c := &Config{ID: f.ID, Version: f.Version, Title: f.Title, Zone: defaultZone(), Targets: map[string]*Target{}}
	if f.Zone != "" {
		if z, err := time.LoadLocation(f.Zone); err != nil {
			bad("zone", "%q is not a time zone: %v", f.Zone, err)
		} else {
			c.Zone = z
		}
	}
	ids := IDs()
	for _, id := range sortedKeys(f.Indicators) {
		if !slices.Contains(ids, id) {
			bad("indicators."+id, "no indicator %q in the catalogue (%s)", id, strings.Join(ids, ", "))
			continue
		}
		t, err := ParseTarget(f.Indicators[id].Target)
		if err != nil {
			bad("indicators."+id+".target", "%v", err)
			continue
		}
		c.Targets[id] = t
	}
	number := func(field string, v *int, def, low int) int {
		if v == nil {
			return def
		}
		if *v < low {
			bad(field, "%d is less than %d", *v, low)
		}
		return *v
	}
	c.ReadmissionDays = number("readmission.days", f.Readmission.Days, 31, 1)
	c.PlannedAdmission = f.Readmission.PlannedAdmission
	c.ReturnHours = number("return_to_theatre.hours", f.ReturnToTheatre.Hours, 48, 1)
	c.ReturnDays = number("return_to_theatre.days", f.ReturnToTheatre.Days, 31, 1)
	c.OperationCategories = f.Operations.Categories
	c.MDTWithinDays = number("mdt.within_days", f.MDT.WithinDays, 30, 1)
	c.MDTDocuments = f.MDT.Documents
	if len(c.MDTDocuments) == 0 {
		c.MDTDocuments = []string{mapping.DocMDT}
	}
	c.MDTExcludeEmergency = f.MDT.ExcludeEmergency == nil || *f.MDT.ExcludeEmergency
	c.AdverseIncludePotential = f.AdverseEvents.IncludePotential == nil || *f.AdverseEvents.IncludePotential
	codes := func(path string, list []mapping.Code) {
		for i, x := range list {
			if x.System == "" {
				bad(fmt.Sprintf("%s[%d].system", path, i), "required")
			}
			if x.Code == "" {
				bad(fmt.Sprintf("%s[%d].code", path, i), "required")
			}
		}
	}
	codes("readmission.planned_admission", c.PlannedAdmission)
	codes("operations.categories", c.OperationCategories)
	if len(f.PostOp) == 0 {
		bad("postop_complications", "at least one ICD-10 prefix is required")
	}
	for i, x := range f.PostOp {
		if !icd10Prefix(x.Prefix) {
			bad(fmt.Sprintf("postop_complications[%d].prefix", i), "%q is not an ICD-10 code or prefix (I26, I80.2)", x.Prefix)
		}
	}
	c.PostOp = f.PostOp
	reperfusion := func(path string, r *Reperfusion, def Reperfusion) Reperfusion {
		if r == nil {
			return def
		}
		if len(r.Diagnoses) == 0 {
			bad(path+".diagnoses", "at least one ICD-10 prefix is required")
		}
		for i, d := range r.Diagnoses {
			if !icd10Prefix(d) {
				bad(fmt.Sprintf("%s.diagnoses[%d]", path, i), "%q is not an ICD-10 code or prefix", d)
			}
		}
		if r.ArrivalWithinHours <= 0 {
			bad(path+".arrival_within_hours", "required, more than 0")
		}
		if r.WithinHours <= 0 {
			bad(path+".reperfusion_within_hours", "required, more than 0")
		}
		if len(r.Procedures) == 0 && len(r.Medications) == 0 {
			bad(path, "name the reperfusion procedures or medications")
		}
		for i, p := range r.Procedures {
			if strings.TrimSpace(p) == "" {
				bad(fmt.Sprintf("%s.procedures[%d]", path, i), "empty")
			}
		}
		codes(path+".medications", r.Medications)
		return *r
	}
	c.STEMI = reperfusion("stemi", f.STEMI, Reperfusion{Diagnoses: []string{"I21.0", "I21.1", "I21.2", "I21.3"}, ArrivalWithinHours: 12, WithinHours: 12,
		Procedures: []string{"00.66", "36.0", "99.10"}})
	c.Stroke = reperfusion("stroke", f.Stroke, Reperfusion{Diagnoses: []string{"I63"}, ArrivalWithinHours: 24, WithinHours: 24,
		Procedures: []string{"99.10", "39.74"}})
	c.AuditCodes, c.AuditCorrect, c.AuditIncorrect = f.CodingAudit.Codes, f.CodingAudit.Correct, f.CodingAudit.Incorrect
	codes("coding_audit.codes", c.AuditCodes)
	codes("coding_audit.correct", c.AuditCorrect)
	codes("coding_audit.incorrect", c.AuditIncorrect)
	if len(c.AuditCodes) == 0 {
		bad("coding_audit.codes", "at least one code of the coders' verdict Observation is required")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// icd10Prefix: a letter, two characters, optionally a dot and more (C18, I80.2, C18.200x001).
func icd10Prefix(s string) bool {
	if len(s) < 3 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, r := range s[1:] {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r == '.' || r == 'x') {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// defaultZone is Asia/Shanghai, or UTC+8 without a zone database (no daylight saving).
func defaultZone() *time.Location {
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.FixedZone("CST", 8*3600)
}
