package hl7v2

import (
	"net/url"
	"strings"
)

// standardSystems are the HL7 coding system names (table 0396) Lujing knows the FHIR URI of.
var standardSystems = map[string]string{
	"LN":      "http://loinc.org",
	"LOINC":   "http://loinc.org",
	"SCT":     "http://snomed.info/sct",
	"SNM":     "http://snomed.info/sct",
	"SNOMED":  "http://snomed.info/sct",
	"I10":     "http://hl7.org/fhir/sid/icd-10",
	"ICD10":   "http://hl7.org/fhir/sid/icd-10",
	"I10C":    "http://hl7.org/fhir/sid/icd-10-cm",
	"I9":      "http://hl7.org/fhir/sid/icd-9-cm",
	"I9C":     "http://hl7.org/fhir/sid/icd-9-cm",
	"I9CP":    "http://hl7.org/fhir/sid/icd-9-cm",
	"I9M":     "http://hl7.org/fhir/sid/icd-9-cm",
	"UCUM":    "http://unitsofmeasure.org",
	"ANSI+":   "http://unitsofmeasure.org",
	"ISO+":    "http://unitsofmeasure.org",
	"CPT":     "http://www.ama-assn.org/go/cpt",
	"C4":      "http://www.ama-assn.org/go/cpt",
	"NDC":     "http://hl7.org/fhir/sid/ndc",
	"CVX":     "http://hl7.org/fhir/sid/cvx",
	"RXNORM":  "http://www.nlm.nih.gov/research/umls/rxnorm",
	"DCM":     "http://dicom.nema.org/resources/ontology/DCM",
	"CDCREC":  "urn:oid:2.16.840.1.113883.6.238",
	"HL70078": "http://terminology.hl7.org/CodeSystem/v2-0078",
}

// system is the FHIR URI of an HL7 coding system name: the sender's own mapping first, then
// the standard names, HL7 tables (HL7nnnn → v2-nnnn), and else a URI naming it, so that code
// maps can still match it.
func (b *builder) system(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	if s, ok := b.o.CodeSystems[name]; ok {
		return s
	}
	if s, ok := standardSystems[strings.ToUpper(name)]; ok {
		return s
	}
	if up := strings.ToUpper(name); strings.HasPrefix(up, "HL7") && len(up) == 7 && digits(up[3:]) {
		return "http://terminology.hl7.org/CodeSystem/v2-" + up[3:]
	}
	if strings.Contains(name, "://") || strings.HasPrefix(name, "urn:") {
		return name
	}
	return "urn:lujing:hl7v2:code-system:" + url.PathEscape(name)
}

// concept reads a CE/CWE/CNE field (first repetition): the primary and the alternate coding,
// and the original text (CWE-9) or the first display as text. nil when there is no code or text.
func (b *builder) concept(f Field, defaultSystem string) obj {
	var codings []any
	add := func(code, display, sys string) {
		code = codeValue(code)
		if code == "" {
			return
		}
		c := obj{"code": code}
		s := b.system(sys)
		if s == "" {
			s = defaultSystem
		}
		set(c, "system", s)
		set(c, "display", strings.TrimSpace(display))
		codings = append(codings, c)
	}
	add(f.C(1), f.C(2), f.C(3))
	add(f.C(4), f.C(5), f.C(6))
	text := strings.TrimSpace(f.C(9))
	if text == "" {
		text = strings.TrimSpace(f.C(2))
	}
	if len(codings) == 0 && text == "" {
		return nil
	}
	cc := obj{}
	set(cc, "coding", codings)
	set(cc, "text", text)
	return cc
}

// codeValue is s as a FHIR code: no leading, trailing or repeated whitespace.
func codeValue(s string) string { return strings.Join(strings.Fields(s), " ") }

// tableConcept is a coded value of an HL7 table (IS/ID types, or CWE in later versions).
func (b *builder) tableConcept(f Field, table string) obj {
	return b.concept(f, "http://terminology.hl7.org/CodeSystem/v2-"+table)
}

// person reads an XCN (a clinician) as a Reference by identifier with the name as display.
func (b *builder) person(f Field) obj {
	id := strings.TrimSpace(f.C(1))
	name := personName(f.Component(2).C(1), f.C(3))
	if id == "" && name == "" {
		return nil
	}
	r := obj{}
	if id != "" {
		r["identifier"] = obj{"system": b.o.StaffSystem, "value": id}
	}
	set(r, "display", name)
	return r
}

// personName joins a family and a given name: Chinese order without a space when either is
// Chinese, "Given Family" otherwise.
func personName(family, given string) string {
	family, given = strings.TrimSpace(family), strings.TrimSpace(given)
	switch {
	case family == "":
		return given
	case given == "":
		return family
	case isCJK(family) || isCJK(given):
		return family + given
	}
	return given + " " + family
}

func isCJK(s string) bool {
	for _, r := range s {
		if r >= 0x2E80 && r <= 0x9FFF || r >= 0xF900 && r <= 0xFAFF || r >= 0x20000 {
			return true
		}
	}
	return false
}

// v3 ObservationInterpretation codes: what Observation.interpretation is bound to. OBX-8
// flags (table 0078) with the same code are written in that system, so that HH, LL and AA
// are read as critical by every profile.
var interpretations = map[string]string{
	"<": "Off scale low", ">": "Off scale high", "A": "Abnormal", "AA": "Critical abnormal",
	"B": "Better", "D": "Significant change down", "DET": "Detected", "H": "High", "HH": "Critical high",
	"HU": "Significantly high", "I": "Intermediate", "IE": "Insufficient evidence", "IND": "Indeterminate",
	"L": "Low", "LL": "Critical low", "LU": "Significantly low", "MS": "moderately susceptible",
	"N": "Normal", "ND": "Not detected", "NEG": "Negative", "NR": "Non-reactive", "NS": "Non-susceptible",
	"POS": "Positive", "R": "Resistant", "RR": "Reactive", "S": "Susceptible", "U": "Significant change up",
	"VS": "very susceptible", "W": "Worse", "E": "Equivocal", "EX": "outside threshold",
}

const interpretationSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

// interpretation reads OBX-8 (repeating) as Observation.interpretation.
func (b *builder) interpretation(f Field) []any {
	var out []any
	for _, r := range f.Reps() {
		code := strings.ToUpper(strings.TrimSpace(r.C(1)))
		if code == "" {
			continue
		}
		if display, ok := interpretations[code]; ok {
			out = append(out, obj{"coding": []any{obj{"system": interpretationSystem, "code": code, "display": display}}})
			continue
		}
		cc := b.concept(r, "http://terminology.hl7.org/CodeSystem/v2-0078")
		if cc != nil {
			out = append(out, cc)
		}
	}
	return out
}
