package clinicalpath

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/yamldoc"
)

// Code systems the definitions default to.
const (
	ICD10  = "http://hl7.org/fhir/sid/icd-10"
	ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"
	LOINC  = "http://loinc.org"
)

// Anchors: the events a stage's window is placed from.
const (
	AnchorAdmission = "admission" // the start of the inpatient encounter
	AnchorOnset     = "onset"     // symptom onset of the principal diagnosis (Condition.onset); the admission when not sent
	AnchorSurgery   = "surgery"   // the start of the pathway's operation (see Entry.Procedures)
	AnchorDischarge = "discharge" // the end of the encounter
)

// anchorRank orders anchors in a stay: stages are listed admission/onset first, then
// surgery, then discharge.
var anchorRank = map[string]int{AnchorAdmission: 0, AnchorOnset: 0, AnchorSurgery: 1, AnchorDischarge: 2}

// Item kinds: the rows of a national pathway form plus the core-system duties (rounds,
// handover, consultation, MDT) that Lujing can see in clinical documents.
var itemKinds = []string{"doctor-work", "order", "test", "imaging", "nursing", "procedure", "round", "handover", "consultation", "mdt"}

// Evidence resource types an item can be completed by, and the event kinds they map to.
var evidenceKinds = map[string]string{
	"Observation":       mapping.KindResult,
	"DiagnosticReport":  "", // a lab report (result) or an imaging report (imaging)
	"ImagingStudy":      mapping.KindImaging,
	"ServiceRequest":    mapping.KindOrdered,
	"MedicationRequest": mapping.KindOrdered,
	"Procedure":         mapping.KindOperated,
	"DocumentReference": mapping.KindDocumented,
	"Composition":       mapping.KindDocumented,
	"Condition":         mapping.KindDiagnosed,
}

// documentKinds are the Lujing document kinds (mapping.DocumentKindSystem) evidence can name.
var documentKinds = []string{mapping.DocRound, mapping.DocRoundResident, mapping.DocRoundAttending, mapping.DocRoundChief,
	mapping.DocHandover, mapping.DocMDT, mapping.DocConsultationRequest, mapping.DocConsultationDone}

// Variance sources and directions (the classification of domain.md §1).
var (
	varianceSources    = []string{"patient", "clinician", "hospital", "external"}
	varianceDirections = []string{"positive", "negative"}
)

// Text is a title in Chinese and English.
type Text struct {
	Zh string `json:"zh" yaml:"zh"`
	En string `json:"en" yaml:"en"`
}

// Definition is one version of a localized clinical pathway. It is read-only once parsed.
type Definition struct {
	ID, Version string
	Title       Text
	Basis       string // the national form it localizes
	Entry       Entry
	// Exclusions: any diagnosis of the encounter recorded by enrolment time that matches
	// keeps the patient out (a comorbidity that needs special handling).
	Exclusions   []CodeList
	StandardStay Stay
	Stages       []Stage
}

// Entry is who is enrolled.
type Entry struct {
	// Diagnoses match the principal (first) diagnosis of the encounter.
	Diagnoses []CodeList
	// Procedures are the pathway's operations. Enrolment does not wait for them (they come
	// days after admission), but the first one performed is the surgery anchor, and Qualifies
	// (a look back at a discharge) requires one. Empty: the first graded operation anchors.
	Procedures []CodeList
	AgeMin     int // inclusive, years at admission
	AgeMax     int // inclusive; 0: no upper limit
	// CareSetting is the encounter's mapping care setting; default inpatient.
	CareSetting string
	// Departments are the admitting department codes; empty: any.
	Departments []string
}

// Stay is the standard length of stay in days.
type Stay struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// Stage is one column of the pathway form: a window placed from an anchor.
type Stage struct {
	ID       string
	Title    Text
	Anchor   string
	From, To time.Duration // offsets from the anchor
	Items    []Item
}

// Item is one checkbox of the form.
type Item struct {
	ID       string
	Title    Text
	Kind     string
	Required bool
	// From is the earliest time evidence counts (offset from the stage's anchor); Due the
	// deadline, nil when the item has none.
	From     time.Duration
	Due      *time.Duration
	Evidence []Evidence
	// VarianceSource and Controllable classify the variance raised when the item is missed.
	VarianceSource string
	Controllable   bool
}

// CodeList is a set of codes of one system: exact codes and code prefixes.
type CodeList struct {
	System   string   `yaml:"system"`
	Codes    []string `yaml:"codes"`
	Prefixes []string `yaml:"prefixes"`
}

// Evidence is one kind of fact that completes an item.
type Evidence struct {
	Resource  string   // FHIR resource type
	Codes     CodeList // matched against the standard code and the codings as received
	Documents []string // document kinds, for DocumentReference/Composition
	// BySurgeon requires an author of the document to be the operation's surgeon.
	BySurgeon bool
}

// The YAML shape of a definition file.
type file struct {
	ID         string    `yaml:"id"`
	Version    string    `yaml:"version"`
	Title      Text      `yaml:"title"`
	Basis      string    `yaml:"basis"`
	Entry      fileEntry `yaml:"entry"`
	Exclusions struct {
		Diagnoses []CodeList `yaml:"diagnoses"`
	} `yaml:"exclusions"`
	StandardStay *Stay       `yaml:"standard_stay"`
	Stages       []fileStage `yaml:"stages"`
}

type fileEntry struct {
	Diagnoses   []CodeList              `yaml:"diagnoses"`
	Procedures  []CodeList              `yaml:"procedures"`
	Age         *struct{ Min, Max int } `yaml:"age"`
	CareSetting string                  `yaml:"care_setting"`
	Departments []string                `yaml:"departments"`
}

type fileStage struct {
	ID     string     `yaml:"id"`
	Title  Text       `yaml:"title"`
	Anchor string     `yaml:"anchor"`
	From   string     `yaml:"from"`
	To     string     `yaml:"to"`
	Items  []fileItem `yaml:"items"`
}

type fileItem struct {
	ID       string         `yaml:"id"`
	Title    Text           `yaml:"title"`
	Kind     string         `yaml:"kind"`
	Required *bool          `yaml:"required"`
	From     string         `yaml:"from"`
	Due      string         `yaml:"due"`
	Evidence []fileEvidence `yaml:"evidence"`
	Variance *struct {
		Source       string `yaml:"source"`
		Controllable *bool  `yaml:"controllable"`
	} `yaml:"variance"`
}

type fileEvidence struct {
	Resource  string   `yaml:"resource"`
	System    string   `yaml:"system"`
	Codes     []string `yaml:"codes"`
	Prefixes  []string `yaml:"prefixes"`
	Documents []string `yaml:"documents"`
	Author    string   `yaml:"author"`
}

// Parse reads a definition from data, the contents of file. With errors (each a
// *yamldoc.Error naming file, line and field) the Definition is nil.
func Parse(file string, data []byte) (*Definition, []error) { return parse(file, data) }

// Check lists the problems of a definition file; none for a good one. It is what
// `lujing check` runs.
func Check(file string, data []byte) []error {
	_, errs := parse(file, data)
	return errs
}

// ParseOne is Parse with the problems joined into one error.
func ParseOne(file string, data []byte) (*Definition, error) {
	d, errs := parse(file, data)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

func parse(name string, data []byte) (*Definition, []error) {
	var f file
	doc, errs := yamldoc.Decode(name, data, &f)
	if errs != nil {
		return nil, errs
	}
	bad := func(field, format string, args ...any) { errs = append(errs, doc.Error(field, format, args...)) }
	errs = append(errs, doc.Versioned(f.ID, f.Version)...)
	d := &Definition{ID: f.ID, Version: f.Version, Title: f.Title, Basis: f.Basis}
	checkText(bad, "title", f.Title)

	// Entry and exclusions.
	if len(f.Entry.Diagnoses) == 0 {
		bad("entry.diagnoses", "at least one code list of the principal diagnosis is required")
	}
	d.Entry.Diagnoses = checkCodeLists(bad, "entry.diagnoses", f.Entry.Diagnoses, ICD10)
	d.Entry.Procedures = checkCodeLists(bad, "entry.procedures", f.Entry.Procedures, ICD9CM)
	d.Exclusions = checkCodeLists(bad, "exclusions.diagnoses", f.Exclusions.Diagnoses, ICD10)
	if a := f.Entry.Age; a != nil {
		d.Entry.AgeMin, d.Entry.AgeMax = a.Min, a.Max
		if a.Min < 0 || a.Max < 0 || a.Max > 150 || (a.Max > 0 && a.Max < a.Min) {
			bad("entry.age", "min %d and max %d are not an age range in years (max 0: no upper limit)", a.Min, a.Max)
		}
	}
	d.Entry.CareSetting = f.Entry.CareSetting
	switch f.Entry.CareSetting {
	case "":
		d.Entry.CareSetting = "inpatient"
	case "inpatient", "outpatient", "emergency":
	default:
		bad("entry.care_setting", "%q is not inpatient, outpatient or emergency", f.Entry.CareSetting)
	}
	d.Entry.Departments = f.Entry.Departments

	switch s := f.StandardStay; {
	case s == nil:
		bad("standard_stay", "required: {min: days, max: days}")
	case s.Min < 0 || s.Max < 1 || s.Max < s.Min:
		bad("standard_stay", "min %d and max %d days are not a stay (0 ≤ min ≤ max, max ≥ 1)", s.Min, s.Max)
	default:
		d.StandardStay = *s
	}

	// Stages and items.
	if len(f.Stages) == 0 {
		bad("stages", "at least one stage is required")
	}
	stageIDs, itemIDs := map[string]string{}, map[string]string{}
	lastRank := 0
	lastOfAnchor := map[string]int{} // index of the previous stage with the same anchor
	for i, fs := range f.Stages {
		at := fmt.Sprintf("stages[%d]", i)
		st := Stage{ID: fs.ID, Title: fs.Title, Anchor: fs.Anchor}
		checkID(bad, at+".id", fs.ID, stageIDs)
		checkText(bad, at+".title", fs.Title)
		rank, known := anchorRank[fs.Anchor]
		switch {
		case fs.Anchor == "":
			bad(at+".anchor", "required: one of admission, onset, surgery, discharge")
		case !known:
			bad(at+".anchor", "unknown anchor %q: one of admission, onset, surgery, discharge", fs.Anchor)
		case rank < lastRank:
			bad(at+".anchor", "a %s stage is listed after a later one: list stages admission, surgery, discharge", fs.Anchor)
		default:
			lastRank = rank
		}
		var okFrom, okTo bool
		st.From, okFrom = checkOffset(bad, at+".from", fs.From, true)
		st.To, okTo = checkOffset(bad, at+".to", fs.To, true)
		if okFrom && okTo {
			if st.To <= st.From {
				bad(at+".to", "the window ends (%s) at or before it starts (%s)", fs.To, fs.From)
			} else if j, ok := lastOfAnchor[fs.Anchor]; ok && known {
				prev := d.Stages[j]
				if st.From < prev.To {
					bad(at+".from", "the window overlaps stage %q (%s ends at %s after the %s): stages of one anchor follow each other",
						prev.ID, prev.ID, fmtOffset(prev.To), fs.Anchor)
				}
			}
			if known {
				lastOfAnchor[fs.Anchor] = len(d.Stages)
			}
		}
		if len(fs.Items) == 0 {
			bad(at+".items", "a stage needs at least one item")
		}
		for k, fi := range fs.Items {
			it := checkItem(bad, fmt.Sprintf("%s.items[%d]", at, k), fi, st, itemIDs, okFrom && okTo)
			st.Items = append(st.Items, it)
		}
		d.Stages = append(d.Stages, st)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return d, nil
}

func checkItem(bad func(string, string, ...any), at string, fi fileItem, st Stage, ids map[string]string, window bool) Item {
	it := Item{ID: fi.ID, Title: fi.Title, Kind: fi.Kind, Required: fi.Required == nil || *fi.Required,
		VarianceSource: "clinician", Controllable: true}
	checkID(bad, at+".id", fi.ID, ids)
	checkText(bad, at+".title", fi.Title)
	switch {
	case fi.Kind == "":
		bad(at+".kind", "required: one of %s", strings.Join(itemKinds, ", "))
	case !slices.Contains(itemKinds, fi.Kind):
		bad(at+".kind", "unknown item kind %q: one of %s", fi.Kind, strings.Join(itemKinds, ", "))
	}
	it.From = st.From
	if fi.From != "" {
		it.From, _ = checkOffset(bad, at+".from", fi.From, true)
	}
	if fi.Due != "" {
		due, ok := checkOffset(bad, at+".due", fi.Due, true)
		if ok {
			it.Due = &due
			if window && (due < st.From || due > st.To) {
				bad(at+".due", "the deadline %s is outside its stage's window %s…%s from the %s",
					fi.Due, fmtOffset(st.From), fmtOffset(st.To), st.Anchor)
			}
			if due < it.From {
				bad(at+".due", "the deadline %s is before the item's evidence may start (%s)", fi.Due, fmtOffset(it.From))
			}
		}
	} else if it.Required {
		bad(at+".due", "a required item needs a deadline (hours or days from the %s)", st.Anchor)
	}
	if v := fi.Variance; v != nil {
		if v.Source != "" {
			if !slices.Contains(varianceSources, v.Source) {
				bad(at+".variance.source", "%q is not one of %s", v.Source, strings.Join(varianceSources, ", "))
			}
			it.VarianceSource = v.Source
		}
		if v.Controllable != nil {
			it.Controllable = *v.Controllable
		}
	}
	if len(fi.Evidence) == 0 {
		bad(at+".evidence", "required: an item Lujing cannot see done would never be done")
	}
	for i, fe := range fi.Evidence {
		eat := fmt.Sprintf("%s.evidence[%d]", at, i)
		ev := Evidence{Resource: fe.Resource, Documents: fe.Documents,
			Codes: CodeList{System: fe.System, Codes: fe.Codes, Prefixes: fe.Prefixes}}
		if _, ok := evidenceKinds[fe.Resource]; !ok {
			bad(eat+".resource", "%q is not a resource type evidence can come from: %s", fe.Resource, strings.Join(sortedKeys(evidenceKinds), ", "))
		}
		hasCodes := len(fe.Codes) > 0 || len(fe.Prefixes) > 0
		if hasCodes && fe.System == "" {
			bad(eat+".system", "the code list names no code system")
		}
		if fe.System != "" && !hasCodes {
			bad(eat+".codes", "a code system without codes or prefixes matches nothing")
		}
		for j, c := range append(slices.Clone(fe.Codes), fe.Prefixes...) {
			if strings.TrimSpace(c) == "" {
				bad(fmt.Sprintf("%s.codes[%d]", eat, j), "empty code")
			}
		}
		if len(fe.Documents) > 0 && fe.Resource != "DocumentReference" && fe.Resource != "Composition" {
			bad(eat+".documents", "document kinds need resource DocumentReference or Composition")
		}
		for j, k := range fe.Documents {
			if !slices.Contains(documentKinds, k) {
				bad(fmt.Sprintf("%s.documents[%d]", eat, j), "unknown document kind %q: one of %s", k, strings.Join(documentKinds, ", "))
			}
		}
		if !hasCodes && len(fe.Documents) == 0 {
			bad(eat, "names neither codes nor document kinds, so it would match every %s", fe.Resource)
		}
		switch fe.Author {
		case "":
		case "surgeon":
			ev.BySurgeon = true
			if st.Anchor != AnchorSurgery {
				bad(eat+".author", "author surgeon needs a stage anchored at the surgery")
			}
			if len(fe.Documents) == 0 {
				bad(eat+".author", "author surgeon applies to documents only")
			}
		default:
			bad(eat+".author", "%q: the only author evidence can require is surgeon", fe.Author)
		}
		it.Evidence = append(it.Evidence, ev)
	}
	return it
}

func checkText(bad func(string, string, ...any), at string, t Text) {
	if strings.TrimSpace(t.Zh) == "" {
		bad(at+".zh", "required")
	}
	if strings.TrimSpace(t.En) == "" {
		bad(at+".en", "required")
	}
}

func checkID(bad func(string, string, ...any), at, id string, seen map[string]string) {
	switch {
	case id == "":
		bad(at, "required")
	case !validID(id):
		bad(at, "%q: use 1 to 64 of a-z A-Z 0-9 - _ .", id)
	case seen[id] != "":
		bad(at, "%q is used again, first at %s", id, seen[id])
	default:
		seen[id] = at
	}
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// checkCodeLists checks code lists and fills in their default system.
func checkCodeLists(bad func(string, string, ...any), at string, ls []CodeList, system string) []CodeList {
	out := make([]CodeList, 0, len(ls))
	for i, l := range ls {
		lat := fmt.Sprintf("%s[%d]", at, i)
		if len(l.Codes) == 0 && len(l.Prefixes) == 0 {
			bad(lat, "names no codes or prefixes")
		}
		if l.System == "" {
			l.System = system
		}
		for j, c := range append(slices.Clone(l.Codes), l.Prefixes...) {
			if strings.TrimSpace(c) == "" {
				bad(fmt.Sprintf("%s.codes[%d]", lat, j), "empty code")
			}
		}
		out = append(out, l)
	}
	return out
}

// checkOffset parses an offset: a whole number with unit h (hours) or d (days of 24 hours),
// optionally signed: "0", "12h", "-24h", "3d".
func checkOffset(bad func(string, string, ...any), at, s string, required bool) (time.Duration, bool) {
	if s == "" {
		if required {
			bad(at, "required: an offset such as 0, 24h, -1d")
		}
		return 0, false
	}
	d, err := parseOffset(s)
	if err != nil {
		bad(at, "%v", err)
		return 0, false
	}
	return d, true
}

func parseOffset(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	unit := time.Hour
	num := s
	switch {
	case strings.HasSuffix(s, "h"):
		num = strings.TrimSuffix(s, "h")
	case strings.HasSuffix(s, "d"):
		num, unit = strings.TrimSuffix(s, "d"), 24*time.Hour
	default:
		return 0, fmt.Errorf("%q is not an offset: a whole number of hours (24h) or days (2d), optionally negative", s)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < -3650 || n > 3650 || strings.HasPrefix(num, "+") {
		return 0, fmt.Errorf("%q is not an offset: a whole number of hours (24h) or days (2d), optionally negative", s)
	}
	return time.Duration(n) * unit, nil
}

// fmtOffset writes an offset the way definitions do.
func fmtOffset(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return strconv.Itoa(int(d/time.Hour)) + "h"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Stage returns the stage of the given id, nil when there is none.
func (d *Definition) Stage(id string) *Stage {
	for i := range d.Stages {
		if d.Stages[i].ID == id {
			return &d.Stages[i]
		}
	}
	return nil
}

// match reports whether system|code (or any of codings) is in the list.
func (l CodeList) match(c mapping.Concept) bool {
	if l.matchCode(c.System, c.Code) {
		return true
	}
	for _, x := range c.Codings {
		if l.matchCode(x.System, x.Code) {
			return true
		}
	}
	return false
}

func (l CodeList) matchCode(system, code string) bool {
	if system != l.System || code == "" {
		return false
	}
	if slices.Contains(l.Codes, code) {
		return true
	}
	for _, p := range l.Prefixes {
		if strings.HasPrefix(code, p) {
			return true
		}
	}
	return false
}

func matchAny(ls []CodeList, c mapping.Concept) bool {
	for _, l := range ls {
		if l.match(c) {
			return true
		}
	}
	return false
}

func joinErrors(errs []error) error { return errors.Join(errs...) }
