package criticalvalue

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// InterpretationSystem is HL7's v3-ObservationInterpretation; HH, LL and AA in it are critical.
const InterpretationSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

var criticalInterpretations = []string{"HH", "LL", "AA"}

// candidate is one critical result found in the facts: the unit a record is made of.
type candidate struct {
	key       string // the fact's Key; a component adds "/component/<code>"
	fact      mapping.Event
	result    string // the resource to show: "Observation/abc", or "DiagnosticReport/r" for a contained one
	kind      string // lab | imaging
	code      mapping.Code
	value     string // as reported: "6.80", "<46", "阳性", an imaging conclusion
	number    string // the number alone, "" for a value that is not one
	unit      string
	released  time.Time
	rule      string // "interpretation:HH", "source-flag", "rule:potassium", "imaging-code:<system>|<code>"
	status    string
	source    string
	encounter string
	basedOn   []string
}

// Skip is a result a local rule could not judge, and why: no unit, a unit that does not
// convert, an unknown age or sex. The adapter counts and logs them (Skipped).
type Skip struct {
	Result string    `json:"result"` // the fact's Key
	Rule   string    `json:"rule"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"` // the result's release time
}

// counts reports whether a result of this status is reported at all.
func (e *Engine) counts(status string) bool {
	switch status {
	case "final", "amended", "corrected", "appended":
		return true
	case "preliminary", "partial", "registered":
		return e.cfg.CountPreliminary
	}
	return false
}

// detect finds the critical results among the facts, in release order, and what the local
// rules could not judge. It is a pure function of the input.
func (e *Engine) detect(in pathways.Input) ([]candidate, []Skip) {
	var out []candidate
	var skips []Skip
	var reports []candidate // report-level flags, kept only when no member is critical
	var reportMembers [][]string
	for _, f := range pathways.Holding(in.Facts) {
		if f.Kind != mapping.KindResult && f.Kind != mapping.KindImaging {
			continue
		}
		d := e.detectFactMemo(in.Patient, f)
		out = append(out, d.cands...)
		skips = append(skips, d.skips...)
		if d.report != nil {
			reports = append(reports, *d.report)
			reportMembers = append(reportMembers, d.members)
		}
	}
	for i, r := range reports {
		if !slices.ContainsFunc(out, func(c candidate) bool {
			return slices.Contains(reportMembers[i], c.fact.Key) || slices.Contains(reportMembers[i], c.fact.Resource)
		}) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b candidate) int {
		if c := a.released.Compare(b.released); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	return out, skips
}

func skipsOf(key string, at time.Time, sk []ruleSkip) []Skip {
	var out []Skip
	for _, s := range sk {
		out = append(out, Skip{Result: key, Rule: s.rule, Reason: s.reason, At: at})
	}
	return out
}

// released is the release time: Issued, else the event's time (the mapping's issued-else-
// effective).
func released(f mapping.Event, issued *time.Time) time.Time {
	if issued != nil {
		return issued.UTC()
	}
	return f.At.UTC()
}

// flagRule is the upstream flag of a result: a critical interpretation (HH, LL, AA) first,
// then the source's own flag; "" when there is none.
func flagRule(interp, conclusion []mapping.Code, critical bool) string {
	for _, list := range [][]mapping.Code{interp, conclusion} {
		for _, x := range list {
			if x.System == InterpretationSystem && slices.Contains(criticalInterpretations, x.Code) {
				return "interpretation:" + x.Code
			}
		}
	}
	if critical {
		return "source-flag"
	}
	return ""
}

type ruleSkip struct{ rule, reason string }

// judge decides whether one value is critical: by its upstream flag, else by the local rules
// for its code. It returns the rule that decided ("" for not critical) and why rules for the
// code could not judge it.
func (e *Engine) judge(p pathways.Patient, at time.Time, code mapping.Concept, v *mapping.Value, interp []mapping.Code, flag bool) (string, []ruleSkip) {
	decided := flagRule(interp, nil, flag)
	var skips []ruleSkip
	for _, r := range e.rulesFor(code) {
		if reason := applies(r, p, at); reason != "" {
			if reason != "-" {
				skips = append(skips, ruleSkip{r.ID, reason})
			}
			continue
		}
		crit, reason := r.critical(v)
		if reason != "" {
			skips = append(skips, ruleSkip{r.ID, reason})
		}
		if crit && decided == "" {
			decided = "rule:" + r.ID
		}
	}
	return decided, skips
}

// rulesFor returns the rules whose codes match the mapped code or a coding as received.
func (e *Engine) rulesFor(c mapping.Concept) []*Rule {
	var out []*Rule
	add := func(system, code string) {
		for _, r := range e.byCode[system+"|"+code] {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	add(c.System, c.Code)
	for _, x := range c.Codings {
		add(x.System, x.Code)
	}
	return out
}

// applies says why a rule does not apply to the patient at t: "-" when the age or sex is
// outside its band (no reason to keep), a reason when it cannot be known, "" when it applies.
func applies(r *Rule, p pathways.Patient, at time.Time) string {
	if !r.AgeFrom.zero() || !r.AgeTo.zero() {
		if p.BirthDate.IsZero() {
			return "birth date not known: the rule has an age band"
		}
		if !r.AgeFrom.zero() && !r.AgeFrom.reached(p.BirthDate, at) {
			return "-"
		}
		if !r.AgeTo.zero() && r.AgeTo.reached(p.BirthDate, at) {
			return "-"
		}
	}
	if r.Sex != "" {
		switch p.Gender {
		case "male", "female":
			if p.Gender != r.Sex {
				return "-"
			}
		default:
			return "sex not known: the rule is for " + r.Sex
		}
	}
	return ""
}

// critical judges a value by the rule; reason says why it could not.
func (r *Rule) critical(v *mapping.Value) (bool, string) {
	if v == nil {
		return false, "no value"
	}
	if r.qualitative() {
		return r.positive(v), ""
	}
	if v.Type != "quantity" && v.Type != "integer" {
		return false, "the value is a " + v.Type + ", not a number"
	}
	x, err := strconv.ParseFloat(v.Number.String(), 64)
	if err != nil {
		return false, "the value " + strconv.Quote(v.Number.String()) + " is not a number"
	}
	raw := x
	x, reason := r.convert(raw, firstNonEmpty(v.UnitCode, v.Unit))
	if reason != "" && v.UnitCode != "" && v.Unit != "" {
		// The coded unit may be one the table lacks while the written one is known.
		if y, reason2 := r.convert(raw, v.Unit); reason2 == "" {
			x, reason = y, ""
		}
	}
	if reason != "" {
		return false, reason
	}
	low := r.Low != nil
	high := r.High != nil
	switch v.Comparator {
	case "<":
		return low && x <= *r.Low, ""
	case "<=":
		return low && x < *r.Low, ""
	case ">":
		return high && x >= *r.High, ""
	case ">=":
		return high && x > *r.High, ""
	}
	return low && x < *r.Low || high && x > *r.High, ""
}

// positive reports whether a qualitative value is one the rule lists.
func (r *Rule) positive(v *mapping.Value) bool {
	text := func(s string) bool {
		s = strings.ToLower(strings.TrimSpace(s))
		for _, t := range r.PositiveTexts {
			if t = strings.ToLower(strings.TrimSpace(t)); t != "" && strings.HasPrefix(s, t) {
				return true
			}
		}
		return false
	}
	switch v.Type {
	case "boolean":
		return v.Boolean != nil && *v.Boolean
	case "string":
		return text(v.Text)
	case "codeable_concept":
		if v.Code == nil {
			return false
		}
		codes := append([]mapping.Code{{System: v.Code.System, Code: v.Code.Code}}, v.Code.Codings...)
		for _, x := range codes {
			if slices.ContainsFunc(r.PositiveCodes, func(y mapping.Code) bool { return y.System == x.System && y.Code == x.Code }) {
				return true
			}
			if text(x.Display) {
				return true
			}
		}
		return text(v.Code.Text) || text(v.Code.Display)
	}
	return false
}

// show writes a value as reported: "<46", "6.80", "阳性", with its unit and bare number.
func show(v *mapping.Value) (value, number, unit string) {
	if v == nil {
		return "", "", ""
	}
	switch v.Type {
	case "quantity", "integer":
		return v.Comparator + v.Number.String(), v.Number.String(), v.Unit
	case "boolean":
		if v.Boolean != nil && *v.Boolean {
			return "true", "", ""
		}
		return "false", "", ""
	case "codeable_concept":
		if v.Code != nil {
			return firstNonEmpty(v.Code.Text, v.Code.Display, v.Code.Code), "", ""
		}
	}
	return v.Text, "", ""
}

func concept(c mapping.Concept) mapping.Code {
	return mapping.Code{System: c.System, Code: c.Code, Display: firstNonEmpty(c.Display, c.Text)}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// detected is what one fact contributes to detect.
type detected struct {
	cands   []candidate
	skips   []Skip
	report  *candidate // a report-level flag, kept only when no member is critical
	members []string
}

// detectFact judges one result or imaging fact.
func (e *Engine) detectFact(p pathways.Patient, f mapping.Event) detected {
	var out []candidate
	var skips []Skip
	var rep detected
	switch f.Kind {
	case mapping.KindResult:
		var d mapping.ResultData
		if pathways.Decode(f.Data, &d) != nil || !e.counts(d.Status) {
			return rep
		}
		base := candidate{fact: f, kind: "lab", result: f.Resource, status: d.Status, source: f.Source,
			encounter: f.Encounter, released: released(f, d.Issued), basedOn: d.BasedOn}
		if len(d.Members) > 0 && d.Value == nil {
			// A report: its own flag counts only when none of its results is critical.
			if rule := flagRule(d.Interpretation, d.ConclusionCodes, d.Critical); rule != "" {
				c := base
				c.key, c.code, c.rule, c.value = f.Key, concept(d.Code), rule, d.Conclusion
				rep.report, rep.members = &c, d.Members
			}
			return rep
		}
		c := base
		c.key, c.code = f.Key, concept(d.Code)
		// Skips are kept also for a flagged result: the rule's gap is worth fixing anyway.
		rule, sk := e.judge(p, c.released, d.Code, d.Value, d.Interpretation, d.Critical)
		skips = append(skips, skipsOf(f.Key, c.released, sk)...)
		if rule != "" {
			c.rule = rule
			c.value, c.number, c.unit = show(d.Value)
			out = append(out, c)
		}
		for _, comp := range d.Components {
			cc := base
			cc.key, cc.code = f.Key+"/component/"+comp.Code.Code, concept(comp.Code)
			rule, sk := e.judge(p, cc.released, comp.Code, comp.Value, comp.Interpretation, false)
			skips = append(skips, skipsOf(cc.key, cc.released, sk)...)
			if rule != "" {
				cc.rule = rule
				cc.value, cc.number, cc.unit = show(comp.Value)
				out = append(out, cc)
			}
		}
	case mapping.KindImaging:
		var d mapping.ImagingData
		// Only reports: an ImagingStudy has no finding to report.
		if !strings.HasPrefix(f.Resource, "DiagnosticReport/") || pathways.Decode(f.Data, &d) != nil || !e.counts(d.Status) {
			return rep
		}
		rule := ""
		if e.cfg.ImagingFlag {
			rule = flagRule(nil, d.ConclusionCodes, d.Critical)
		}
		finding := ""
		for _, x := range d.ConclusionCodes {
			if i := slices.IndexFunc(e.cfg.ImagingCodes, func(y mapping.Code) bool { return y.System == x.System && y.Code == x.Code }); i >= 0 {
				if rule == "" {
					rule = "imaging-code:" + x.System + "|" + x.Code
				}
				finding = firstNonEmpty(x.Display, e.cfg.ImagingCodes[i].Display, x.Code)
				break
			}
		}
		if rule == "" {
			return rep
		}
		out = append(out, candidate{key: f.Key, fact: f, kind: "imaging", result: f.Resource, code: concept(d.Code),
			value: firstNonEmpty(d.Conclusion, finding), rule: rule, status: d.Status, source: f.Source,
			encounter: f.Encounter, released: released(f, d.Issued), basedOn: d.BasedOn})
	}
	rep.cands, rep.skips = out, skips
	return rep
}
