// Package codemap translates the codes hospital systems send into the standard codes Lujing's
// rules are written in: a lab's local test codes to LOINC, SNOMED CT diagnoses to ICD-10,
// SNOMED CT procedures to ICD-9-CM-3, a HIS's document types to Lujing's document kinds.
//
// A Map is a versioned YAML file with FHIR ConceptMap semantics, and can be served as an R4
// ConceptMap. Lookups are exact: prefix matching (ICD-10 "C18" for "C18.200x001") is for the
// consumers of the mapped codes, never done here.
//
// The file format:
//
//	id: lis-local-loinc              # [A-Za-z0-9-.]{1,64}, also the ConceptMap id
//	version: "2026.1"                # required; quote it, or YAML reads 2026.10 as a number
//	title: 检验科本地项目 → LOINC
//	status: active                   # draft | active | retired; default active
//	groups:
//	  - source: http://lujing.example/fhir/CodeSystem/lis-local   # code system of the codes sent
//	    target: http://loinc.org                                  # code system they map to
//	    elements:
//	      - code: K                                # the source code
//	        display: 钾
//	        target: 2823-3                         # omit only with equivalence unmatched/disjoint
//	        target_display: Potassium [Moles/volume] in Serum or Plasma
//	        equivalence: equivalent                # ConceptMap equivalence; default equivalent
//	        comment: required for narrower and inexact (FHIR rule cmd-1)
//
// An element may repeat a code to give it several targets. A code listed as unmatched is
// known to have no target: it is not reported as unmapped.
package codemap

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/lujing-health/lujing/mapping/yamldoc"
)

// Equivalence is the R4 ConceptMap equivalence of a target to its source, read from target to
// source: "wider" means the target is wider in meaning than the source.
type Equivalence string

const (
	RelatedTo   Equivalence = "relatedto"
	Equivalent  Equivalence = "equivalent"
	Equal       Equivalence = "equal"
	Wider       Equivalence = "wider"
	Subsumes    Equivalence = "subsumes"
	Narrower    Equivalence = "narrower"
	Specializes Equivalence = "specializes"
	Inexact     Equivalence = "inexact"
	Unmatched   Equivalence = "unmatched"
	Disjoint    Equivalence = "disjoint"
)

var equivalences = []Equivalence{RelatedTo, Equivalent, Equal, Wider, Subsumes, Narrower, Specializes, Inexact, Unmatched, Disjoint}

// Matches reports whether the target stands for the source at all: every equivalence but
// unmatched and disjoint.
func (e Equivalence) Matches() bool { return e != Unmatched && e != Disjoint }

// Target is one translation of a source code.
type Target struct {
	System      string // the group's target code system
	Code        string // empty for unmatched and disjoint
	Display     string
	Equivalence Equivalence
	Comment     string
}

// Element is a source code with its targets.
type Element struct {
	Code    string
	Display string
	Targets []Target
}

// Group maps codes of one source system to one target system.
type Group struct {
	Source   string
	Target   string
	Elements []Element
}

// Map is one loaded code map. It is read-only after Parse and safe for concurrent use.
type Map struct {
	ID      string
	Version string
	Title   string
	Status  string
	Groups  []Group

	index map[sourceKey][]Target
}

type sourceKey struct{ system, code string }

// Translate returns the targets of system|code, in file order, and whether the map lists the
// code at all (a code listed as unmatched gives ok with no matching target).
func (m *Map) Translate(system, code string) ([]Target, bool) {
	t, ok := m.index[sourceKey{system, code}]
	return t, ok
}

// file is the YAML form.
type file struct {
	ID      string      `yaml:"id"`
	Version string      `yaml:"version"`
	Title   string      `yaml:"title"`
	Status  string      `yaml:"status"`
	Groups  []fileGroup `yaml:"groups"`
}

type fileGroup struct {
	Source   string        `yaml:"source"`
	Target   string        `yaml:"target"`
	Elements []fileElement `yaml:"elements"`
}

type fileElement struct {
	Code          string `yaml:"code"`
	Display       string `yaml:"display"`
	Target        string `yaml:"target"`
	TargetDisplay string `yaml:"target_display"`
	Equivalence   string `yaml:"equivalence"`
	Comment       string `yaml:"comment"`
}

// Parse reads a code map from data, the contents of the file name. Its error lists every
// problem found (errors.Join of *yamldoc.Error).
func Parse(name string, data []byte) (*Map, error) {
	m, errs := parse(name, data)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// Check lists the problems of a code map file, formatted "file:line: field: problem"; none
// for a good one. It is what `lujing check` runs.
func Check(name string, data []byte) []error {
	_, errs := parse(name, data)
	return errs
}

var (
	uriRE  = regexp.MustCompile(`^\S+$`)
	codeRE = regexp.MustCompile(`^[^\s]+( [^\s]+)*$`) // FHIR code: no leading, trailing or double spaces
)

func parse(name string, data []byte) (*Map, []error) {
	var f file
	doc, errs := yamldoc.Decode(name, data, &f)
	if errs != nil {
		return nil, errs
	}
	bad := func(field, format string, args ...any) { errs = append(errs, doc.Error(field, format, args...)) }
	errs = append(errs, doc.Versioned(f.ID, f.Version)...)
	switch f.Status {
	case "":
		f.Status = "active"
	case "draft", "active", "retired":
	default:
		bad("status", "%q is not draft, active or retired", f.Status)
	}
	if len(f.Groups) == 0 {
		bad("groups", "at least one group is required")
	}
	m := &Map{ID: f.ID, Version: f.Version, Title: f.Title, Status: f.Status, index: map[sourceKey][]Target{}}
	seenGroup := map[[2]string]int{}
	for gi, g := range f.Groups {
		at := fmt.Sprintf("groups[%d]", gi)
		for _, s := range []struct{ field, v string }{{"source", g.Source}, {"target", g.Target}} {
			if s.v == "" {
				bad(at+"."+s.field, "required: the code system URI")
			} else if !uriRE.MatchString(s.v) {
				bad(at+"."+s.field, "%q is not a URI (it contains white space)", s.v)
			}
		}
		if prev, ok := seenGroup[[2]string{g.Source, g.Target}]; ok {
			bad(at, "same source and target as groups[%d]: merge them", prev)
		}
		seenGroup[[2]string{g.Source, g.Target}] = gi
		if len(g.Elements) == 0 {
			bad(at+".elements", "at least one element is required")
		}
		group := Group{Source: g.Source, Target: g.Target}
		pairs := map[[2]string]int{}
		for ei, e := range g.Elements {
			at := fmt.Sprintf("%s.elements[%d]", at, ei)
			eq := Equivalence(e.Equivalence)
			if eq == "" {
				eq = Equivalent
			}
			switch {
			case e.Code == "":
				bad(at+".code", "required")
			case !codeRE.MatchString(e.Code):
				bad(at+".code", "%q is not a FHIR code (leading, trailing or repeated spaces)", e.Code)
			}
			switch {
			case !slices.Contains(equivalences, eq):
				bad(at+".equivalence", "%q is not a ConceptMap equivalence (%s)", e.Equivalence, joinEq())
			case eq.Matches() && e.Target == "":
				bad(at+".target", "required unless the equivalence is unmatched or disjoint")
			case !eq.Matches() && e.Target != "":
				bad(at+".target", "a %s element has no target code", eq)
			case e.Target != "" && !codeRE.MatchString(e.Target):
				bad(at+".target", "%q is not a FHIR code (leading, trailing or repeated spaces)", e.Target)
			case (eq == Narrower || eq == Inexact) && strings.TrimSpace(e.Comment) == "":
				bad(at+".comment", "required for a %s mapping: say what is lost (FHIR rule cmd-1)", eq)
			}
			if prev, ok := pairs[[2]string{e.Code, e.Target}]; ok {
				bad(at, "maps %q to %q again, as elements[%d] does", e.Code, e.Target, prev)
			}
			pairs[[2]string{e.Code, e.Target}] = ei
			t := Target{System: g.Target, Code: e.Target, Display: e.TargetDisplay, Equivalence: eq, Comment: e.Comment}
			if n := len(group.Elements); n > 0 && group.Elements[n-1].Code == e.Code {
				group.Elements[n-1].Targets = append(group.Elements[n-1].Targets, t)
			} else {
				group.Elements = append(group.Elements, Element{Code: e.Code, Display: e.Display, Targets: []Target{t}})
			}
			k := sourceKey{g.Source, e.Code}
			m.index[k] = append(m.index[k], t)
		}
		m.Groups = append(m.Groups, group)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return m, nil
}

func joinEq() string {
	s := make([]string, len(equivalences))
	for i, e := range equivalences {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

//go:embed maps/*.yaml
var builtin embed.FS

// Builtin returns the example maps shipped with Lujing, sorted by id. They show the format and
// cover the demo's data; a hospital replaces them with its own.
func Builtin() ([]*Map, error) { return Load(builtin) }

// Load parses every *.yaml file of fsys (recursively), sorted by id. Two maps with one id are
// an error.
func Load(fsys fs.FS) ([]*Map, error) {
	var maps []*Map
	var errs []error
	byID := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		m, err := Parse(p, data)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if prev, ok := byID[m.ID]; ok {
			errs = append(errs, &yamldoc.Error{File: p, Field: "id", Problem: fmt.Sprintf("%q is also the id of %s", m.ID, prev)})
			return nil
		}
		byID[m.ID] = p
		maps = append(maps, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("codemap: read maps: %w", err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(maps, func(a, b *Map) int { return strings.Compare(a.ID, b.ID) })
	return maps, nil
}
