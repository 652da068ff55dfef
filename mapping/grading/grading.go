// Package grading reads a hospital's surgery grading catalogue (手术分级目录): the grade, 1 to
// 4, of each operation by its ICD-9-CM-3 code. Follow-up and the grade-four MDT and handover
// rules need the grade; a source that does not send it on the Procedure gets it from here.
//
// The file format:
//
//	id: surgery-grades                # [A-Za-z0-9-.]{1,64}
//	version: "2026.1"                 # required; quoted
//	title: 手术分级目录
//	system: http://hl7.org/fhir/sid/icd-9-cm   # optional; the default shown
//	operations:
//	  - {code: "45.73", display: 右半结肠切除术, grade: 4}   # quote codes: 45.70 is a number to YAML
//
// Codes are exact; a code listed twice is an error, even with the same grade.
package grading

import (
	_ "embed"
	"errors"
	"fmt"

	"github.com/lujing-health/lujing/mapping/yamldoc"
)

// ICD9CM is the FHIR system of ICD-9-CM (its volume 3 holds the procedure codes).
const ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"

// Catalogue is a loaded grading catalogue, read-only and safe for concurrent use.
type Catalogue struct {
	ID, Version, Title string
	System             string // code system of the codes; default ICD9CM
	grades             map[string]int
}

// Grade returns the grade of the operation system|code, and whether the catalogue lists it.
func (c *Catalogue) Grade(system, code string) (int, bool) {
	if c == nil || system != c.System {
		return 0, false
	}
	g, ok := c.grades[code]
	return g, ok
}

// Len is the number of operations listed.
func (c *Catalogue) Len() int { return len(c.grades) }

type file struct {
	ID         string      `yaml:"id"`
	Version    string      `yaml:"version"`
	Title      string      `yaml:"title"`
	System     string      `yaml:"system"`
	Operations []operation `yaml:"operations"`
}

type operation struct {
	Code    string `yaml:"code"`
	Display string `yaml:"display"`
	Grade   int    `yaml:"grade"`
}

// Parse reads a catalogue from data, the contents of the file name; its error lists every
// problem (errors.Join of *yamldoc.Error).
func Parse(name string, data []byte) (*Catalogue, error) {
	c, errs := parse(name, data)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Check lists the problems of a catalogue file as "file:line: field: problem"; none for a
// good one. It is what `lujing check` runs.
func Check(name string, data []byte) []error {
	_, errs := parse(name, data)
	return errs
}

func parse(name string, data []byte) (*Catalogue, []error) {
	var f file
	doc, errs := yamldoc.Decode(name, data, &f)
	if errs != nil {
		return nil, errs
	}
	bad := func(field, format string, args ...any) { errs = append(errs, doc.Error(field, format, args...)) }
	errs = append(errs, doc.Versioned(f.ID, f.Version)...)
	if f.System == "" {
		f.System = ICD9CM
	}
	if len(f.Operations) == 0 {
		bad("operations", "at least one operation is required")
	}
	c := &Catalogue{ID: f.ID, Version: f.Version, Title: f.Title, System: f.System, grades: make(map[string]int, len(f.Operations))}
	first := map[string]int{}
	for i, op := range f.Operations {
		at := fmt.Sprintf("operations[%d]", i)
		if op.Code == "" {
			bad(at+".code", "required")
		}
		if op.Grade < 1 || op.Grade > 4 {
			bad(at+".grade", "%d is not a surgery grade: 1, 2, 3 or 4", op.Grade)
		}
		if j, ok := first[op.Code]; ok {
			bad(at+".code", "%q is listed again, first as operations[%d]", op.Code, j)
			continue
		}
		first[op.Code] = i
		c.grades[op.Code] = op.Grade
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

//go:embed example.yaml
var example []byte

// Example returns the example catalogue shipped with Lujing: the operations of the demo's
// scenarios, graded as a Chinese tertiary hospital typically grades them. It shows the format;
// a hospital loads its own.
func Example() (*Catalogue, error) { return Parse("example.yaml", example) }
