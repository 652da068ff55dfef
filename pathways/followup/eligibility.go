package followup

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// surgicalCategory is SNOMED "Surgical procedure" (Procedure.category): a procedure so
// categorised is an operation even when no grade is known.
const surgicalCategory = "387713003"

// facts is one patient's facts in force, decoded by kind.
type facts struct {
	admitted   map[string]admission // by encounter
	discharged []discharge          // inpatient discharges, by time
	ops        []operation          // by start
	dx         []diagnosis
	died       *mapping.Event
	all        []mapping.Event
}

type (
	admission = pathways.Admission
	discharge = pathways.Discharge
	operation = pathways.Operation
	diagnosis = pathways.Diagnosis
)

// readFacts decodes the facts that hold (pathways.DecodeFacts) into what follow-up reads.
func readFacts(in []mapping.Event) (*facts, error) {
	d, err := pathways.DecodeFacts(in, mapping.KindAdmitted, mapping.KindDischarged, mapping.KindOperated, mapping.KindDiagnosed, mapping.KindDied)
	if err != nil {
		return nil, fmt.Errorf("followup: %w", err)
	}
	f := &facts{admitted: map[string]admission{}, all: d.All, ops: d.Operations, dx: d.Diagnoses}
	for _, a := range d.Admissions {
		f.admitted[a.Encounter] = a
	}
	for _, x := range d.Discharges {
		if x.CareSetting == "inpatient" {
			f.discharged = append(f.discharged, x)
		}
	}
	if len(d.Died) > 0 {
		f.died = &d.Died[0]
	}
	return f, nil
}

// stayOps are the operations of the stay: those of its encounter, and those without an
// encounter that started while it lasted.
func (f *facts) stayOps(enc string, from, to time.Time) []operation {
	var out []operation
	for _, o := range f.ops {
		if o.Encounter == enc || o.Encounter == "" && !o.At.Before(from) && !o.At.After(to) {
			out = append(out, o)
		}
	}
	return out
}

// eligibility decides whether a stay is followed up, and says why, reading:
//   - grade four: OperatedData.Grade == 4 as the mapping found it (the Procedure's grade
//     extension or category, else the grading catalogue; GradeSource says which), or the
//     operation's code (standard or as received) listed in Config.RestrictedTechnologies.
//     No other "restricted technology" marker exists in the mapped data. A grade of 0 is
//     not guessed: the stay is not eligible for that reason and the reason says so.
//   - malignant tumour: a diagnosis of the stay, or one recorded before its discharge, coded
//     in ICD-10 (after code mapping) C00–C97 by prefix (C18.200x001 counts), unless its
//     verification status is refuted, entered-in-error or differential.
func (e *Engine) eligibility(f *facts, d discharge) (Eligibility, string, time.Time) {
	el := Eligibility{Reasons: []Because{}, NotEligible: []Because{}}
	if d.Died {
		el.NotEligible = append(el.NotEligible, Because{Reason: "died-in-hospital", Evidence: d.Resource,
			Detail: "the patient died in hospital (discharge disposition " + codeString(d.Disposition) + ")"})
		return el, "", time.Time{}
	}
	ops := f.stayOps(d.Encounter, d.Admitted, d.At)
	var not []Because
	var index operation
	for _, o := range ops {
		name := "procedure " + conceptString(o.Code)
		switch {
		case e.restricted(o.Code):
			el.Reasons = append(el.Reasons, Because{Reason: ReasonGrade4, Evidence: o.Resource, Detail: name + " is a restricted technology"})
		case o.Grade == 4:
			el.Reasons = append(el.Reasons, Because{Reason: ReasonGrade4, Evidence: o.Resource, Detail: name + " is grade 4 (" + gradeSource(o.GradeSource) + ")"})
		case o.Grade == 0:
			not = append(not, Because{Reason: ReasonGrade4, Evidence: o.Resource, Detail: name + " has no surgery grade"})
			continue
		default:
			not = append(not, Because{Reason: ReasonGrade4, Evidence: o.Resource, Detail: fmt.Sprintf("%s is grade %d", name, o.Grade)})
			continue
		}
		if index.Resource == "" {
			index = o
		}
	}
	if index.Resource == "" {
		for _, o := range ops {
			if e.isOperation(o) {
				index = o
				break
			}
		}
	}
	if !hasReason(el.Reasons, ReasonGrade4) {
		if len(ops) == 0 {
			not = append(not, Because{Reason: ReasonGrade4, Detail: "no operation in this stay"})
		}
		el.NotEligible = append(el.NotEligible, not...)
	}
	not = not[:0:0]
	seen := map[string]bool{}
	for _, x := range f.dx {
		if x.Encounter != d.Encounter && x.At.After(d.At) {
			continue // diagnosed after this stay, elsewhere
		}
		name := "diagnosis " + conceptString(x.Code)
		switch {
		case x.Code.System != mapping.ICD10System:
			if x.Code.Code != "" && !seen["not:"+x.Code.System+"|"+x.Code.Code] {
				seen["not:"+x.Code.System+"|"+x.Code.Code] = true
				not = append(not, Because{Reason: ReasonTumour, Evidence: x.Resource, Detail: name + " is not coded in ICD-10 (" + x.Code.System + ")"})
			}
		case !malignant(x.Code.Code) || seen[x.Code.Code]:
		case slices.Contains([]string{"refuted", "entered-in-error", "differential"}, x.VerificationStatus):
			not = append(not, Because{Reason: ReasonTumour, Evidence: x.Resource, Detail: name + " is " + x.VerificationStatus})
		default:
			seen[x.Code.Code] = true
			el.Reasons = append(el.Reasons, Because{Reason: ReasonTumour, Evidence: x.Resource, Detail: name + " is a malignant tumour (ICD-10 C00–C97)"})
		}
	}
	if !hasReason(el.Reasons, ReasonTumour) {
		el.NotEligible = append(el.NotEligible, not...)
		el.NotEligible = append(el.NotEligible, Because{Reason: ReasonTumour, Detail: "no malignant-tumour diagnosis (ICD-10 C00–C97)"})
	}
	return el, index.Resource, index.At
}

func (e *Engine) restricted(c mapping.Concept) bool {
	return pathways.Matches(c, e.cfg.RestrictedTechnologies)
}

// isOperation: graded, a restricted technology, or categorised as surgical. A procedure with
// none of these (an infusion, a bedside procedure) is not a return to theatre.
func (e *Engine) isOperation(o operation) bool {
	return o.Grade > 0 || e.restricted(o.Code) || o.Category != nil && o.Category.Code == surgicalCategory
}

// malignant reports whether an ICD-10 code is in C00–C97: "C" and two digits up to 97.
func malignant(code string) bool {
	if len(code) < 3 || code[0] != 'C' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return false
	}
	return code[1:3] <= "97"
}

func hasReason(bs []Because, reason string) bool {
	return slices.ContainsFunc(bs, func(b Because) bool { return b.Reason == reason })
}

// reasonsOf lists the distinct reasons of bs in reasonOrder.
func reasonsOf(bs []Because) []string {
	var out []string
	for _, r := range reasonOrder {
		if hasReason(bs, r) {
			out = append(out, r)
		}
	}
	return out
}

func gradeSource(s string) string {
	switch s {
	case "resource":
		return "sent on the Procedure"
	case "catalogue":
		return "hospital grading catalogue"
	}
	return "source unknown"
}

func conceptString(c mapping.Concept) string {
	// The code alone: the sentence reads "procedure 45.73 has no surgery grade".
	s := c.Code
	if s == "" {
		s = c.Text
	}
	return strings.TrimSpace(s)
}

func codeString(c *mapping.Code) string {
	if c == nil {
		return "unknown"
	}
	return c.Code
}
