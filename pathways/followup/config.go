package followup

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/yamldoc"
)

// Reasons a patient is followed up: the two groups of domain.md §3.
const (
	ReasonGrade4 = "grade4-surgery"   // a grade-four operation (or a restricted technology)
	ReasonTumour = "malignant-tumour" // a diagnosis in ICD-10 C00–C97
)

// reasonOrder is the order reasons are listed and merged in.
var reasonOrder = []string{ReasonGrade4, ReasonTumour}

// Contact methods.
var methods = []string{"phone", "clinic", "online"}

// Config is a loaded follow-up configuration: the schedules and the numbers the findings use.
// It is read-only once parsed. See default.yaml for the format.
type Config struct {
	ID, Version, Title string
	// Zone is the hospital's time zone: due dates, windows and "day N" are calendar days there.
	Zone *time.Location
	// MergeWithinDays: two contacts of different groups whose due dates are closer than this
	// are one contact carrying both reasons.
	MergeWithinDays int
	// MaxAttempts failed attempts make a contact missed and the patient lost to follow-up.
	MaxAttempts int
	// ReadmissionDays: an inpatient admission on day ≤ this after discharge (discharge day is
	// day 1) is a readmission finding.
	ReadmissionDays int
	// ReturnToTheatreDays and ReturnToTheatreHours bound a return to theatre after the index
	// operation (day of the operation is day 1; hours from start to start).
	ReturnToTheatreDays, ReturnToTheatreHours int
	// PlannedAdmission codings (on Encounter.priority, type or admitSource) mark an admission
	// as planned.
	PlannedAdmission []mapping.Code
	// RestrictedTechnologies are operation codes that count as grade four.
	RestrictedTechnologies []mapping.Code
	// Templates has one schedule per reason.
	Templates []Template
}

// Template is the schedule of one reason.
type Template struct {
	ID       string `yaml:"id"`
	Reason   string `yaml:"reason"`
	Method   string `yaml:"method"`   // default method of its contacts
	Assignee string `yaml:"assignee"` // default assignee; "{department}" is replaced
	Contacts []Spec `yaml:"contacts"`
}

// Spec is one contact, or a series of them, of a template. Exactly one of Days and Months
// says when the (first) contact is due after the discharge date; EveryMonths with UntilMonths
// repeats it up to that month.
type Spec struct {
	Days        int    `yaml:"days"`
	Months      int    `yaml:"months"`
	EveryMonths int    `yaml:"every_months"`
	UntilMonths int    `yaml:"until_months"`
	WindowDays  int    `yaml:"window_days"`
	Method      string `yaml:"method"`
	Assignee    string `yaml:"assignee"`
}

// offset is one planned contact of a template: a spec expanded.
type offset struct {
	key      string // "d7", "m3": with the reason, the contact's identity across re-plans
	days     int
	months   int
	window   int
	method   string
	assignee string
}

// offsets expands the template's specs to single contacts, in order of due date.
func (t Template) offsets() []offset {
	var out []offset
	for _, s := range t.Contacts {
		method, assignee := cmpOr(s.Method, t.Method, "phone"), cmpOr(s.Assignee, t.Assignee, "team:{department}")
		if s.Days > 0 {
			out = append(out, offset{key: fmt.Sprintf("d%d", s.Days), days: s.Days, window: s.WindowDays, method: method, assignee: assignee})
			continue
		}
		last := s.Months
		if s.EveryMonths > 0 {
			last = s.UntilMonths
		}
		for m := s.Months; m <= last; m += max(s.EveryMonths, 1) {
			out = append(out, offset{key: fmt.Sprintf("m%d", m), months: m, window: s.WindowDays, method: method, assignee: assignee})
		}
	}
	// Days and months compare roughly; the schedule sorts by real dates later.
	slices.SortStableFunc(out, func(a, b offset) int { return (a.days + a.months*30) - (b.days + b.months*30) })
	return out
}

func cmpOr(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// template returns the template of reason, nil when there is none.
func (c *Config) template(reason string) *Template {
	for i := range c.Templates {
		if c.Templates[i].Reason == reason {
			return &c.Templates[i]
		}
	}
	return nil
}

// Name is "id@version", written on every contact planned with c.
func (c *Config) Name() string { return c.ID + "@" + c.Version }

type file struct {
	ID                     string         `yaml:"id"`
	Version                string         `yaml:"version"`
	Title                  string         `yaml:"title"`
	Zone                   string         `yaml:"zone"`
	MergeWithinDays        *int           `yaml:"merge_within_days"`
	MaxAttempts            *int           `yaml:"max_attempts"`
	ReadmissionDays        *int           `yaml:"readmission_days"`
	ReturnToTheatreDays    *int           `yaml:"return_to_theatre_days"`
	ReturnToTheatreHours   *int           `yaml:"return_to_theatre_hours"`
	PlannedAdmission       []mapping.Code `yaml:"planned_admission"`
	RestrictedTechnologies []mapping.Code `yaml:"restricted_technologies"`
	Templates              []Template     `yaml:"templates"`
}

// Parse reads a configuration from data, the contents of the file name; its error lists every
// problem (errors.Join of *yamldoc.Error, each naming file, line and field).
func Parse(name string, data []byte) (*Config, error) {
	c, errs := parse(name, data)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Check lists the problems of a configuration file as "file:line: field: problem"; none for a
// good one. It is what `lujing check` runs.
func Check(name string, data []byte) []error {
	_, errs := parse(name, data)
	return errs
}

//go:embed default.yaml
var defaultYAML []byte

// Default returns the configuration shipped with Lujing (default.yaml): the schedules of
// domain.md §3.
func Default() *Config {
	c, err := Parse("default.yaml", defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("followup: the embedded default.yaml is invalid: %v", err))
	}
	return c
}

func parse(name string, data []byte) (*Config, []error) {
	var f file
	doc, errs := yamldoc.Decode(name, data, &f)
	if errs != nil {
		return nil, errs
	}
	bad := func(field, format string, args ...any) { errs = append(errs, doc.Error(field, format, args...)) }
	errs = append(errs, doc.Versioned(f.ID, f.Version)...)
	c := &Config{ID: f.ID, Version: f.Version, Title: f.Title, PlannedAdmission: f.PlannedAdmission,
		RestrictedTechnologies: f.RestrictedTechnologies, Templates: f.Templates}
	c.Zone = defaultZone()
	if f.Zone != "" {
		z, err := time.LoadLocation(f.Zone)
		if err != nil {
			bad("zone", "%q is not a time zone: %v", f.Zone, err)
		} else {
			c.Zone = z
		}
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
	c.MergeWithinDays = number("merge_within_days", f.MergeWithinDays, 14, 0)
	c.MaxAttempts = number("max_attempts", f.MaxAttempts, 3, 1)
	c.ReadmissionDays = number("readmission_days", f.ReadmissionDays, 31, 1)
	c.ReturnToTheatreDays = number("return_to_theatre_days", f.ReturnToTheatreDays, 31, 1)
	c.ReturnToTheatreHours = number("return_to_theatre_hours", f.ReturnToTheatreHours, 48, 1)
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
	codes("planned_admission", f.PlannedAdmission)
	codes("restricted_technologies", f.RestrictedTechnologies)
	seen := map[string]int{}
	for i, t := range f.Templates {
		at := fmt.Sprintf("templates[%d]", i)
		if t.ID == "" {
			bad(at+".id", "required")
		}
		switch j, dup := seen[t.Reason]; {
		case !slices.Contains(reasonOrder, t.Reason):
			bad(at+".reason", "%q is not %s", t.Reason, strings.Join(reasonOrder, " or "))
		case dup:
			bad(at+".reason", "%q has a template already, templates[%d]", t.Reason, j)
		default:
			seen[t.Reason] = i
		}
		checkMethod := func(field, m string) {
			if m != "" && !slices.Contains(methods, m) {
				bad(field, "%q is not %s", m, strings.Join(methods, ", "))
			}
		}
		checkMethod(at+".method", t.Method)
		if len(t.Contacts) == 0 {
			bad(at+".contacts", "at least one contact is required")
		}
		for k, s := range t.Contacts {
			sat := fmt.Sprintf("%s.contacts[%d]", at, k)
			checkMethod(sat+".method", s.Method)
			switch {
			case s.Days < 0 || s.Months < 0:
				bad(sat, "days and months cannot be negative")
			case (s.Days > 0) == (s.Months > 0):
				bad(sat, "give either days or months after discharge")
			case s.Days > 0 && (s.EveryMonths != 0 || s.UntilMonths != 0):
				bad(sat+".every_months", "a series repeats by months: give months, not days")
			case s.EveryMonths < 0:
				bad(sat+".every_months", "%d is negative", s.EveryMonths)
			case s.EveryMonths > 0 && s.UntilMonths < s.Months:
				bad(sat+".until_months", "%d is before the first contact, month %d", s.UntilMonths, s.Months)
			case s.EveryMonths == 0 && s.UntilMonths != 0:
				bad(sat+".until_months", "only a series (every_months) has an end")
			}
			if s.WindowDays < 0 {
				bad(sat+".window_days", "%d is negative", s.WindowDays)
			}
		}
	}
	for _, r := range reasonOrder {
		if _, ok := seen[r]; !ok && len(f.Templates) > 0 {
			bad("templates", "no template for %q", r)
		}
	}
	if len(f.Templates) == 0 {
		bad("templates", "a template for each of %s is required", strings.Join(reasonOrder, " and "))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// defaultZone is Asia/Shanghai, or UTC+8 where the zone database is missing (China has no
// daylight saving time, so the two agree).
func defaultZone() *time.Location {
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.FixedZone("CST", 8*3600)
}
