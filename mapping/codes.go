package mapping

import (
	"slices"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Code systems the event kinds are matched on.
const (
	ICD10System          = "http://hl7.org/fhir/sid/icd-10"
	ICD9CMSystem         = "http://hl7.org/fhir/sid/icd-9-cm"
	LOINCSystem          = "http://loinc.org"
	InterpretationSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
)

// codings lists the codings of cc that have a code, as Codes.
func codings(cc *fhir.CodeableConcept) []Code {
	if cc == nil {
		return nil
	}
	var out []Code
	for _, c := range cc.Coding {
		if c.Code != nil && *c.Code != "" {
			out = append(out, Code{System: str(c.System), Code: *c.Code, Display: str(c.Display)})
		}
	}
	return out
}

// firstCode is the first coding of cc, nil when it has none.
func firstCode(cc *fhir.CodeableConcept) *Code {
	if cs := codings(cc); len(cs) > 0 {
		return &cs[0]
	}
	return nil
}

// allCodes is the codings of several CodeableConcepts, in order.
func allCodes(ccs []fhir.CodeableConcept) []Code {
	var out []Code
	for i := range ccs {
		out = append(out, codings(&ccs[i])...)
	}
	return out
}

// concept picks the code cc is known by among the systems wanted, in order: a coding already
// in a wanted system, else the first translation the profile's code maps give into one. With
// neither, the first coding is kept as received and, when a system was wanted, the codings no
// map knows are reported in Result.Unmapped (unless report is false: a dependency's codes are
// reported when it is mapped itself).
func (j *job) concept(cc *fhir.CodeableConcept, report bool, want ...string) Concept {
	if cc == nil {
		return Concept{}
	}
	c := Concept{Text: str(cc.Text), Codings: codings(cc)}
	for _, w := range want {
		for _, x := range c.Codings {
			if x.System == w {
				c.System, c.Code, c.Display = x.System, x.Code, x.Display
				return c
			}
		}
	}
	known := make([]bool, len(c.Codings))
	if len(want) > 0 {
		for i, x := range c.Codings {
			for _, m := range j.p.maps {
				targets, ok := m.Translate(x.System, x.Code)
				known[i] = known[i] || ok
				for _, t := range targets {
					if t.Equivalence.Matches() && slices.Contains(want, t.System) {
						c.System, c.Code, c.Display = t.System, t.Code, t.Display
						c.From = &Mapped{System: x.System, Code: x.Code, Map: m.ID, Equivalence: string(t.Equivalence)}
						return c
					}
				}
			}
		}
	}
	if len(c.Codings) > 0 {
		c.System, c.Code, c.Display = c.Codings[0].System, c.Codings[0].Code, c.Codings[0].Display
	} else {
		j.flag("code-without-coding")
	}
	if len(want) == 0 || !report || j.withdraw {
		return c
	}
	for i, x := range c.Codings {
		if !known[i] && !slices.Contains(j.res.Unmapped, x) {
			j.res.Unmapped = append(j.res.Unmapped, x)
		}
	}
	return c
}

// critical reports whether the source marked a result critical: an interpretation (or
// conclusion) coding the profile lists, or its critical extension set to true.
func (j *job) critical(interpretations []fhir.CodeableConcept, ext []fhir.Extension) bool {
	for _, c := range allCodes(interpretations) {
		if j.p.critical[Code{System: c.System, Code: c.Code}] {
			return true
		}
	}
	if e := extension(ext, j.p.Critical.Extension); e != nil && e.ValueBoolean != nil {
		return *e.ValueBoolean
	}
	return false
}

// extension is the first extension with the URL, nil when url is empty or none has it.
func extension(ext []fhir.Extension, url string) *fhir.Extension {
	if url == "" {
		return nil
	}
	for i := range ext {
		if ext[i].Url == url {
			return &ext[i]
		}
	}
	return nil
}

// hasCode reports whether cc has a coding with one of the codes, in any system.
func hasCode(cc *fhir.CodeableConcept, codes ...string) bool {
	for _, c := range codings(cc) {
		if slices.Contains(codes, c.Code) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains any of the words, ignoring case.
func containsFold(s string, words ...string) bool {
	s = strings.ToLower(s)
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
