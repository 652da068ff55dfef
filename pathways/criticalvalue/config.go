package criticalvalue

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

// Config is a loaded critical-value configuration: the item list (local rules and imaging
// findings), the dedup window, the escalation chain and the QC time limits. It is read-only
// after Parse and safe for concurrent use. The YAML format is documented in default.yaml,
// which is also the shipped default (Default).
type Config struct {
	ID, Version, Title string
	// Zone is the hospital's time zone (calendar logic and display only); default Asia/Shanghai.
	Zone *time.Location
	// CountPreliminary makes preliminary (and registered/partial) results count; by default
	// only final, amended and corrected ones do.
	CountPreliminary bool
	// DedupWindow: critical results of one patient, code and encounter released within this
	// time of a record's first result are that record. Default 24 h.
	DedupWindow time.Duration
	// NotifyWithin is the notification time limit counted from release (QC timeliness);
	// default 15 min.
	NotifyWithin time.Duration
	// HandleWithin is the same-day handling limit counted from acknowledgement; default 24 h.
	HandleWithin time.Duration
	// BackfillAfter: a critical result first seen more than this after its release is history
	// being loaded (an interface catching up, an import), not a value someone must act on
	// now: it is recorded closed, without notification or escalation, and left out of the
	// loop's indicators. Default 24 h; 0 turns it off.
	BackfillAfter time.Duration
	// AutoClose closes a record when it is handled (default true): the API has no close
	// endpoint of its own. With false, Close does it.
	AutoClose bool
	// EmergencyRoute is "ed" (to the emergency department: EDDepartment, else the emergency
	// encounter's own department) or "ordering" (to the ordering department and clinician).
	EmergencyRoute string
	EDDepartment   string
	// Steps are the escalation chain, offsets from the anchor (the release time) ascending.
	Steps []Step
	// UnreachableAfter is the grace after the last step before an unacknowledged record is
	// marked unreachable; default 10 min.
	UnreachableAfter time.Duration
	// ImagingFlag honours a PACS's own critical flag and HH/LL/AA conclusion codes.
	ImagingFlag bool
	// ImagingCodes are conclusion codes that are critical findings.
	ImagingCodes []mapping.Code
	Rules        []Rule
}

// Escalation targets: whom a step reaches. The adapter resolves them to people and channels;
// for outpatient and emergency records "ward" and "attending" mean the ordering department
// and clinician.
const (
	TargetWard           = "ward"
	TargetAttending      = "attending"
	TargetOrderer        = "orderer"
	TargetOnCall         = "on-call"
	TargetDepartmentHead = "department-head"
	TargetMedicalAffairs = "medical-affairs"
)

var targets = []string{TargetWard, TargetAttending, TargetOrderer, TargetOnCall, TargetDepartmentHead, TargetMedicalAffairs}

// Step is one escalation step: At after the anchor, to Targets.
type Step struct {
	After   time.Duration
	Targets []string
	Note    string
}

// Rule is one local critical-value rule.
type Rule struct {
	ID    string
	Name  string
	Codes []mapping.Code // matched on the mapped code and on every coding as received
	// Unit is the unit the limits are in (UCUM); Conversions are the analyte's own factors
	// from units of another dimension (mg/dL of glucose to mmol/L).
	Unit        string
	Conversions []Conversion
	Low, High   *float64 // critical below Low or above High (strictly)
	// AgeFrom/AgeTo bound the patient's age at the result (from inclusive, to exclusive);
	// zero values leave that side open.
	AgeFrom, AgeTo Age
	Sex            string // male | female | "" (any)
	// Positive lists the values of a qualitative test that are critical (a positive blood
	// culture): texts (case-insensitive, as a prefix of the value) and codes; a boolean true
	// counts whenever Positive is set.
	PositiveTexts []string
	PositiveCodes []mapping.Code
}

// Conversion converts a value in From (or a unit of From's dimension) to the rule's unit:
// value × Factor.
type Conversion struct {
	From   string
	Factor float64
}

// Age is a calendar age: years, months, days.
type Age struct{ Y, M, D int }

func (a Age) zero() bool { return a == Age{} }

// reached reports whether someone born at birth has reached age a at t.
func (a Age) reached(birth, t time.Time) bool { return !birth.AddDate(a.Y, a.M, a.D).After(t) }

// qualitative reports whether the rule is about a positive/negative value.
func (r *Rule) qualitative() bool { return len(r.PositiveTexts) > 0 || len(r.PositiveCodes) > 0 }

// The YAML form.
type file struct {
	ID               string       `yaml:"id"`
	Version          string       `yaml:"version"`
	Title            string       `yaml:"title"`
	Zone             string       `yaml:"zone"`
	CountPreliminary bool         `yaml:"count_preliminary"`
	DedupWindow      string       `yaml:"dedup_window"`
	NotifyWithin     string       `yaml:"notify_within"`
	HandleWithin     string       `yaml:"handle_within"`
	BackfillAfter    *string      `yaml:"backfill_after"`
	AutoClose        *bool        `yaml:"auto_close"`
	Routing          fileRouting  `yaml:"routing"`
	Escalation       fileEscalate `yaml:"escalation"`
	Imaging          fileImaging  `yaml:"imaging"`
	Rules            []fileRule   `yaml:"rules"`
}

type fileRouting struct {
	Emergency    string `yaml:"emergency"`
	EDDepartment string `yaml:"ed_department"`
}

type fileEscalate struct {
	Anchor           string     `yaml:"anchor"`
	Steps            []fileStep `yaml:"steps"`
	UnreachableAfter string     `yaml:"unreachable_after"`
}

type fileStep struct {
	After   string   `yaml:"after"`
	Targets []string `yaml:"targets"`
	Note    string   `yaml:"note"`
}

type fileImaging struct {
	Flag  *bool          `yaml:"flag"`
	Codes []mapping.Code `yaml:"codes"`
}

type fileRule struct {
	ID          string           `yaml:"id"`
	Name        string           `yaml:"name"`
	Codes       []mapping.Code   `yaml:"codes"`
	Unit        string           `yaml:"unit"`
	Conversions []fileConversion `yaml:"conversions"`
	Low         *float64         `yaml:"low"`
	High        *float64         `yaml:"high"`
	Age         *fileAge         `yaml:"age"`
	Sex         string           `yaml:"sex"`
	Positive    *filePositive    `yaml:"positive"`
}

type fileConversion struct {
	From     string   `yaml:"from"`
	Factor   *float64 `yaml:"factor"`
	DivideBy *float64 `yaml:"divide_by"`
}

type fileAge struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

type filePositive struct {
	Texts []string       `yaml:"texts"`
	Codes []mapping.Code `yaml:"codes"`
}

//go:embed default.yaml
var defaultYAML []byte

// Default returns the shipped configuration (default.yaml).
func Default() (*Config, error) { return Parse("default.yaml", defaultYAML) }

// Parse reads a configuration from data, the contents of the file name. Its error lists every
// problem (errors.Join of *yamldoc.Error, each naming file, line and field).
func Parse(name string, data []byte) (*Config, error) {
	c, errs := parse(name, data)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Check lists the problems of a configuration file; none for a good one. `lujing check` runs it.
func Check(name string, data []byte) []error {
	_, errs := parse(name, data)
	return errs
}

func parse(name string, data []byte) (*Config, []error) {
	var f file
	doc, errs := yamldoc.Decode(name, data, &f)
	if errs != nil {
		return nil, errs
	}
	bad := func(field, format string, args ...any) { errs = append(errs, doc.Error(field, format, args...)) }
	errs = append(errs, doc.Versioned(f.ID, f.Version)...)
	c := &Config{ID: f.ID, Version: f.Version, Title: f.Title, CountPreliminary: f.CountPreliminary,
		AutoClose: f.AutoClose == nil || *f.AutoClose, ImagingFlag: f.Imaging.Flag == nil || *f.Imaging.Flag,
		EDDepartment: f.Routing.EDDepartment}

	c.Zone = defaultZone()
	if f.Zone != "" {
		z, err := time.LoadLocation(f.Zone)
		if err != nil {
			bad("zone", "%q is not a known time zone", f.Zone)
		} else {
			c.Zone = z
		}
	}
	dur := func(field, s string, def time.Duration, positive bool) time.Duration {
		if s == "" {
			return def
		}
		d, err := parseDuration(s)
		switch {
		case err != nil:
			bad(field, "%v", err)
		case positive && d <= 0:
			bad(field, "%q must be more than zero", s)
		case d < 0:
			bad(field, "%q is negative", s)
		}
		return d
	}
	c.DedupWindow = dur("dedup_window", f.DedupWindow, 24*time.Hour, false)
	c.NotifyWithin = dur("notify_within", f.NotifyWithin, 15*time.Minute, true)
	c.HandleWithin = dur("handle_within", f.HandleWithin, 24*time.Hour, true)
	c.BackfillAfter = 24 * time.Hour
	if f.BackfillAfter != nil {
		c.BackfillAfter = dur("backfill_after", *f.BackfillAfter, 0, false)
	}

	switch c.EmergencyRoute = f.Routing.Emergency; c.EmergencyRoute {
	case "":
		c.EmergencyRoute = "ed"
	case "ed", "ordering":
	default:
		bad("routing.emergency", "%q is not ed or ordering", f.Routing.Emergency)
	}

	switch f.Escalation.Anchor {
	case "", "released":
	default:
		// The chain runs from the release time, so that a late result fires its passed steps
		// at once; another anchor would make a back-filled result escalate hours late.
		bad("escalation.anchor", "%q is not supported; the chain is anchored at the release time (released)", f.Escalation.Anchor)
	}
	c.UnreachableAfter = dur("escalation.unreachable_after", f.Escalation.UnreachableAfter, 10*time.Minute, false)
	var prev time.Duration
	for i, s := range f.Escalation.Steps {
		at := fmt.Sprintf("escalation.steps[%d]", i)
		d := dur(at+".after", s.After, 0, true)
		if s.After == "" {
			bad(at+".after", "required")
		} else if i > 0 && d <= prev {
			bad(at+".after", "%s is not after the previous step's %s", d, prev)
		}
		prev = d
		if len(s.Targets) == 0 {
			bad(at+".targets", "a step needs at least one target")
		}
		for j, t := range s.Targets {
			if !slices.Contains(targets, t) {
				bad(fmt.Sprintf("%s.targets[%d]", at, j), "%q is not a target: %s", t, strings.Join(targets, ", "))
			}
		}
		c.Steps = append(c.Steps, Step{After: d, Targets: s.Targets, Note: s.Note})
	}

	codes := func(field string, list []mapping.Code) {
		for i, x := range list {
			if x.System == "" {
				bad(fmt.Sprintf("%s[%d].system", field, i), "required")
			}
			if x.Code == "" {
				bad(fmt.Sprintf("%s[%d].code", field, i), "required")
			}
		}
	}
	codes("imaging.codes", f.Imaging.Codes)
	c.ImagingCodes = f.Imaging.Codes

	ids := map[string]int{}
	for i, fr := range f.Rules {
		r, rerrs := parseRule(doc, fmt.Sprintf("rules[%d]", i), fr)
		errs = append(errs, rerrs...)
		if j, ok := ids[fr.ID]; ok && fr.ID != "" {
			bad(fmt.Sprintf("rules[%d].id", i), "%q is used again, first by rules[%d]", fr.ID, j)
		}
		ids[fr.ID] = i
		c.Rules = append(c.Rules, r)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

func parseRule(doc *yamldoc.Doc, at string, fr fileRule) (Rule, []error) {
	var errs []error
	bad := func(field, format string, args ...any) { errs = append(errs, doc.Error(at+field, format, args...)) }
	r := Rule{ID: fr.ID, Name: fr.Name, Codes: fr.Codes, Unit: fr.Unit, Low: fr.Low, High: fr.High, Sex: fr.Sex}
	if r.ID == "" {
		bad(".id", "required")
	} else if strings.ContainsAny(r.ID, " \t|") {
		bad(".id", "%q: no spaces or |", r.ID)
	}
	if len(fr.Codes) == 0 {
		bad(".codes", "at least one code is required")
	}
	for i, x := range fr.Codes {
		if x.System == "" {
			bad(fmt.Sprintf(".codes[%d].system", i), "required")
		}
		if x.Code == "" {
			bad(fmt.Sprintf(".codes[%d].code", i), "required")
		}
	}
	switch r.Sex {
	case "", "male", "female":
	default:
		bad(".sex", "%q is not male or female", r.Sex)
	}
	if fr.Age != nil {
		var err error
		if fr.Age.From != "" {
			if r.AgeFrom, err = parseAge(fr.Age.From); err != nil {
				bad(".age.from", "%v", err)
			}
		}
		if fr.Age.To != "" {
			if r.AgeTo, err = parseAge(fr.Age.To); err != nil {
				bad(".age.to", "%v", err)
			}
		}
		if fr.Age.From == "" && fr.Age.To == "" {
			bad(".age", "give from, to or both")
		}
		if !r.AgeFrom.zero() && !r.AgeTo.zero() && !r.AgeFrom.before(r.AgeTo) {
			bad(".age.to", "%s is not above from %s", fr.Age.To, fr.Age.From)
		}
	}
	if fr.Positive != nil {
		r.PositiveTexts, r.PositiveCodes = fr.Positive.Texts, fr.Positive.Codes
		for i, t := range r.PositiveTexts {
			if strings.TrimSpace(t) == "" {
				bad(fmt.Sprintf(".positive.texts[%d]", i), "empty")
			}
		}
		for i, x := range r.PositiveCodes {
			if x.System == "" || x.Code == "" {
				bad(fmt.Sprintf(".positive.codes[%d]", i), "system and code are required")
			}
		}
		if !r.qualitative() {
			bad(".positive", "give texts, codes or both")
		}
		if fr.Low != nil || fr.High != nil || fr.Unit != "" {
			bad(".positive", "a qualitative rule has no unit, low or high")
		}
		return r, errs
	}
	if fr.Low == nil && fr.High == nil {
		bad("", "a rule needs low, high or both (or positive for a qualitative test)")
	}
	if fr.Low != nil && fr.High != nil && *fr.Low > *fr.High {
		bad(".low", "%v is above high %v", *fr.Low, *fr.High)
	}
	if fr.Unit == "" {
		bad(".unit", "required: the unit the limits are in")
	} else if _, ok := lookupUnit(fr.Unit); !ok {
		bad(".unit", "unknown unit %q (known: %s)", fr.Unit, knownUnits())
	}
	for i, fc := range fr.Conversions {
		cat := fmt.Sprintf(".conversions[%d]", i)
		u, ok := lookupUnit(fc.From)
		switch {
		case fc.From == "":
			bad(cat+".from", "required")
		case !ok:
			bad(cat+".from", "unknown unit %q (known: %s)", fc.From, knownUnits())
		}
		to, _ := lookupUnit(fr.Unit)
		if ok && to.dim == u.dim && to.dim != "" {
			bad(cat+".from", "%s converts to %s by the unit table; no conversion is needed", fc.From, fr.Unit)
		}
		switch {
		case (fc.Factor == nil) == (fc.DivideBy == nil):
			bad(cat, "give factor or divide_by, not both")
		case fc.Factor != nil && *fc.Factor <= 0:
			bad(cat+".factor", "must be more than zero")
		case fc.DivideBy != nil && *fc.DivideBy <= 0:
			bad(cat+".divide_by", "must be more than zero")
		case fc.Factor != nil:
			r.Conversions = append(r.Conversions, Conversion{From: fc.From, Factor: *fc.Factor})
		default:
			r.Conversions = append(r.Conversions, Conversion{From: fc.From, Factor: 1 / *fc.DivideBy})
		}
	}
	return r, errs
}

// before compares ages as (years, months, days), which is their calendar order whenever
// each field is within its usual range; the config check only needs that.
func (a Age) before(b Age) bool {
	return a.Y*400+a.M*31+a.D < b.Y*400+b.M*31+b.D
}

// parseAge reads "28d", "6m" (months), "2w", "18y" or a combination such as "1y6m".
func parseAge(s string) (Age, error) {
	var a Age
	rest := strings.TrimSpace(s)
	if rest == "" {
		return a, fmt.Errorf("empty age")
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return Age{}, fmt.Errorf("%q is not an age such as 28d, 6m, 2w, 18y", s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 200*366 {
			return Age{}, fmt.Errorf("%q is not an age such as 28d, 6m, 2w, 18y", s)
		}
		switch rest[i] {
		case 'y':
			a.Y += n
		case 'm':
			a.M += n
		case 'w':
			a.D += 7 * n
		case 'd':
			a.D += n
		default:
			return Age{}, fmt.Errorf("%q is not an age such as 28d, 6m, 2w, 18y", s)
		}
		rest = rest[i+1:]
	}
	return a, nil
}

// parseDuration is time.ParseDuration with days ("1d", "2d12h").
func parseDuration(s string) (time.Duration, error) {
	var days int64
	rest := s
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 15m, 24h, 1d", s)
		}
		days, rest = n, s[i+1:]
		if rest == "" {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 15m, 24h, 1d", s)
	}
	return time.Duration(days)*24*time.Hour + d, nil
}

// defaultZone is Asia/Shanghai, or UTC+8 where the zone database is missing.
func defaultZone() *time.Location {
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.FixedZone("CST", 8*3600)
}
