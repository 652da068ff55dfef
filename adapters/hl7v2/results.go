package hl7v2

import (
	"regexp"
	"strconv"
	"strings"
)

// oru maps an ORU^R01: per PID its Patient; per OBR a DiagnosticReport whose results are the
// OBX that follow it, each an Observation. OBX before any OBR are Observations on their own.
func (b *builder) oru() error {
	var report *labReport
	seen := map[string]int{}
	flush := func() error {
		if report != nil {
			err := b.report(report)
			report = nil
			return err
		}
		return nil
	}
	for i, s := range b.m.Segments {
		seq := i + 1
		switch s.Name {
		case "PID":
			if err := flush(); err != nil {
				return err
			}
			if err := b.addPatient(s, seq, false); err != nil {
				return err
			}
		case "PV1":
			b.visitReference(s)
		case "OBR":
			if err := flush(); err != nil {
				return err
			}
			if b.patient == "" {
				return &Error{Code: CodeSegmentSequence, Segment: "OBR", Seq: seq, Msg: "a result before any PID segment"}
			}
			report = &labReport{obr: s, seq: seq}
		case "OBX":
			if b.patient == "" {
				return &Error{Code: CodeSegmentSequence, Segment: "OBX", Seq: seq, Msg: "a result before any PID segment"}
			}
			var obr Segment
			if report != nil {
				obr = report.obr
			}
			ref, err := b.observation(s, seq, obr, report, seen)
			if err != nil {
				return err
			}
			if ref != "" && report != nil {
				report.results = append(report.results, ref)
			}
		}
	}
	return flush()
}

type labReport struct {
	obr     Segment
	seq     int
	results []string
}

// orderNumber is the order a report or result belongs to: the filler's number (OBR-3), else
// the placer's (OBR-2), else the message and the OBR's place in it.
func (b *builder) orderNumber(obr Segment, seq int) string {
	if v := strings.TrimSpace(obr.Field(3).C(1)); v != "" {
		return "filler:" + v
	}
	if v := strings.TrimSpace(obr.Field(2).C(1)); v != "" {
		return "placer:" + v
	}
	return "message:" + b.m.ControlID() + ":" + strconv.Itoa(seq)
}

// orderIdentifiers are the placer and filler order numbers as identifiers.
func (b *builder) orderIdentifiers(placer, filler Field) []any {
	var ids []any
	for _, x := range []struct {
		f    Field
		code string
	}{{placer, "PLAC"}, {filler, "FILL"}} {
		if v := strings.TrimSpace(x.f.C(1)); v != "" {
			ids = append(ids, obj{
				"type":   obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": x.code}}},
				"system": b.o.OrderSystem, "value": v,
			})
		}
	}
	return ids
}

// reportStatuses maps OBR-25 (table 0123) to DiagnosticReport.status.
var reportStatuses = map[string]string{
	"O": "registered", "I": "registered", "S": "partial", "A": "partial", "P": "preliminary",
	"R": "preliminary", "C": "corrected", "F": "final", "X": "cancelled", "Y": "unknown", "Z": "unknown",
}

// resultStatuses maps OBX-11 (table 0085) to Observation.status.
var resultStatuses = map[string]string{
	"F": "final", "C": "corrected", "A": "amended", "B": "amended", "P": "preliminary", "R": "preliminary",
	"S": "preliminary", "I": "registered", "O": "registered", "D": "entered-in-error", "W": "entered-in-error",
	"X": "cancelled", "N": "cancelled", "U": "final",
}

// report adds the DiagnosticReport of an OBR and its results.
func (b *builder) report(r *labReport) error {
	obr := r.obr
	code := b.concept(obr.Field(4), "")
	if code == nil {
		return &Error{Code: CodeRequiredMissing, Segment: "OBR", Seq: r.seq, Field: 4, Msg: "the universal service identifier is required"}
	}
	status := reportStatuses[strings.ToUpper(strings.TrimSpace(obr.Field(25).String()))]
	if status == "" {
		status = "final"
	}
	section := strings.ToUpper(codeValue(obr.Field(24).String()))
	if section == "" {
		section = "LAB"
	}
	dr := obj{
		"status":   status,
		"category": []any{obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": section}}}},
		"code":     code,
		"subject":  b.subject(),
	}
	set(dr, "identifier", b.orderIdentifiers(obr.Field(2), obr.Field(3)))
	set(dr, "effectiveDateTime", b.dateTime(obr.Field(7)))
	set(dr, "issued", b.instant(obr.Field(22)))
	if b.encounter != nil {
		dr["encounter"] = b.encounter
	}
	var results []any
	for _, ref := range r.results {
		results = append(results, obj{"reference": ref})
	}
	set(dr, "result", results)
	if v := strings.TrimSpace(obr.Field(2).C(1)); v != "" {
		dr["basedOn"] = []any{obj{"type": "ServiceRequest", "identifier": obj{"system": b.o.OrderSystem, "value": v}}}
	}
	b.put("DiagnosticReport", b.id("report", b.orderNumber(obr, r.seq)), dr)
	return nil
}

// observation adds the Observation of an OBX; obr is the OBR it follows (empty when none).
// seen counts the OBX of one test in a report, so that a repeated one gets an id of its own.
func (b *builder) observation(obx Segment, seq int, obr Segment, r *labReport, seen map[string]int) (string, error) {
	code := b.concept(obx.Field(3), "")
	if code == nil {
		b.warn(&Error{Code: CodeRequiredMissing, Segment: "OBX", Seq: seq, Field: 3, Msg: "no observation identifier: the result is not mapped"})
		return "", nil
	}
	statusCode := strings.ToUpper(strings.TrimSpace(obx.Field(11).String()))
	status := resultStatuses[statusCode]
	if status == "" && obr.Name != "" {
		status = map[string]string{"F": "final", "C": "corrected", "P": "preliminary", "X": "cancelled"}[strings.ToUpper(strings.TrimSpace(obr.Field(25).String()))]
	}
	if status == "" {
		status = "final" // OBX-11 is required: a sender that leaves it out sends final results
	}
	o := obj{
		"status":   status,
		"category": []any{obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory", "display": "Laboratory"}}}},
		"code":     code,
		"subject":  b.subject(),
	}
	if b.encounter != nil {
		o["encounter"] = b.encounter
	}
	effective := b.dateTime(obx.Field(14))
	if effective == "" && obr.Name != "" {
		effective = b.dateTime(obr.Field(7))
	}
	set(o, "effectiveDateTime", effective)
	if obr.Name != "" {
		set(o, "issued", b.instant(obr.Field(22)))
		if v := strings.TrimSpace(obr.Field(2).C(1)); v != "" {
			o["basedOn"] = []any{obj{"type": "ServiceRequest", "identifier": obj{"system": b.o.OrderSystem, "value": v}}}
		}
	}
	unit := b.unit(obx.Field(6))
	if err := b.value(o, obx, seq, unit); err != nil {
		return "", err
	}
	set(o, "interpretation", b.interpretation(obx.Field(8)))
	if rr := referenceRange(obx.Field(7).String(), unit); rr != nil {
		o["referenceRange"] = []any{rr}
	}
	// The id: the report (or the message when there is none), the test and its sub-id.
	parent := "message:" + b.m.ControlID()
	if r != nil {
		parent = b.orderNumber(obr, r.seq)
	}
	key := parent + "\x00" + strings.TrimSpace(obx.Field(3).C(1)) + "\x00" + strings.TrimSpace(obx.Field(3).C(3)) + "\x00" + strings.TrimSpace(obx.Field(4).String())
	seen[key]++
	if n := seen[key]; n > 1 {
		key += "\x00" + strconv.Itoa(n)
	}
	return b.put("Observation", b.id("observation", key), o), nil
}

// unit reads OBX-6 as a Quantity's unit, system and code.
func (b *builder) unit(f Field) obj {
	code := codeValue(f.C(1))
	text := strings.TrimSpace(f.C(2))
	if code == "" && text == "" {
		return nil
	}
	u := obj{}
	set(u, "unit", code)
	if code == "" {
		u["unit"] = text
	}
	if sys := b.system(f.C(3)); sys != "" && code != "" {
		u["system"], u["code"] = sys, code
	}
	return u
}

func quantity(number, comparator string, unit obj) obj {
	q := obj{"value": jsonNumber(number)}
	set(q, "comparator", comparator)
	for k, v := range unit {
		q[k] = v
	}
	return q
}

// value reads OBX-5 by its type OBX-2 into value[x].
func (b *builder) value(o obj, obx Segment, seq int, unit obj) error {
	f := obx.Field(5)
	if f.Empty() {
		return nil
	}
	typ := strings.ToUpper(strings.TrimSpace(obx.Field(2).String()))
	bad := func(msg string) error {
		return &Error{Code: CodeDataType, Segment: "OBX", Seq: seq, Field: 5, Msg: msg}
	}
	switch typ {
	case "NM":
		cmp, num, ok := numeric(f.String())
		if !ok {
			return bad("an NM value is not a number")
		}
		o["valueQuantity"] = quantity(num, cmp, unit)
	case "SN":
		cmp := strings.TrimSpace(f.C(1))
		n1, sep, n2 := strings.TrimSpace(f.C(2)), strings.TrimSpace(f.C(3)), strings.TrimSpace(f.C(4))
		_, num1, ok1 := numeric(n1)
		_, num2, ok2 := numeric(n2)
		switch {
		case !ok1:
			return bad("an SN value has no number")
		case sep == "" && n2 == "":
			if cmp == "=" {
				cmp = ""
			}
			if cmp != "" && !validComparator(cmp) {
				return bad("an SN comparator is not one of < <= > >=")
			}
			o["valueQuantity"] = quantity(num1, cmp, unit)
		case (sep == ":" || sep == "/") && ok2:
			o["valueRatio"] = obj{"numerator": obj{"value": jsonNumber(num1)}, "denominator": obj{"value": jsonNumber(num2)}}
		case sep == "-" && ok2:
			o["valueRange"] = obj{"low": quantity(num1, "", unit), "high": quantity(num2, "", unit)}
		default:
			o["valueString"] = strings.TrimSpace(cmp + n1 + sep + n2)
		}
	case "ST", "TX", "FT", "ID", "IS", "":
		var parts []string
		for _, r := range f.Reps() {
			parts = append(parts, r.d.unescape(r.raw))
		}
		if s := strings.TrimSpace(strings.Join(parts, "\n")); s != "" {
			o["valueString"] = s
		}
	case "CE", "CWE", "CNE", "CF":
		if cc := b.concept(f, ""); cc != nil {
			o["valueCodeableConcept"] = cc
		}
	case "DT", "DTM", "TS":
		if dt := b.dateTime(f); dt != "" {
			o["valueDateTime"] = dt
		} else {
			return bad("a date/time value cannot be read")
		}
	case "TM":
		s := strings.TrimSpace(f.String())
		if len(s) < 4 || !digits(s[:4]) {
			return bad("a time value cannot be read")
		}
		sec := "00"
		if len(s) >= 6 && digits(s[4:6]) {
			sec = s[4:6]
		}
		o["valueTime"] = s[:2] + ":" + s[2:4] + ":" + sec
	default:
		// Encapsulated data, references, addresses…: no value a rule reads. The Observation
		// still states that the test was done.
	}
	return nil
}

var numberRe = regexp.MustCompile(`^([<>]=?)?\s*([-+]?(?:\d+\.?\d*|\.\d+))$`)

// numeric reads an NM value, with a leading comparator (<0.5) as labs write below detection
// limits. The number comes back as valid JSON (".5" → "0.5", "+5." → "5"), its digits kept.
func numeric(s string) (comparator, number string, ok bool) {
	m := numberRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", "", false
	}
	n := strings.TrimPrefix(m[2], "+")
	neg := strings.HasPrefix(n, "-")
	n = strings.TrimPrefix(n, "-")
	if strings.HasPrefix(n, ".") {
		n = "0" + n
	}
	n = strings.TrimSuffix(n, ".")
	// Leading zeros are not JSON: "007" → "7", "00.5" → "0.5".
	for len(n) > 1 && n[0] == '0' && n[1] != '.' {
		n = n[1:]
	}
	if neg {
		n = "-" + n
	}
	return m[1], n, true
}

func validComparator(c string) bool { return c == "<" || c == "<=" || c == ">" || c == ">=" }

var rangeRe = regexp.MustCompile(`^\s*([-+]?\d*\.?\d+)\s*(?:-|–|~|_|to|TO)\s*([-+]?\d*\.?\d+)\s*$`)
var boundRe = regexp.MustCompile(`^\s*([<>]=?|≤|≥)\s*([-+]?\d*\.?\d+)\s*$`)

// referenceRange reads OBX-7: "3.5-5.5", "3.5 to 5.5", "<5", ">=1"; anything else as text.
func referenceRange(s string, unit obj) obj {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	rr := obj{"text": s}
	bound := func(v string) obj {
		_, n, ok := numeric(v)
		if !ok {
			return nil
		}
		q := obj{"value": jsonNumber(n)}
		for k, v := range unit {
			q[k] = v
		}
		return q
	}
	if m := rangeRe.FindStringSubmatch(s); m != nil {
		set(rr, "low", bound(m[1]))
		set(rr, "high", bound(m[2]))
	} else if m := boundRe.FindStringSubmatch(s); m != nil {
		if strings.HasPrefix(m[1], "<") || m[1] == "≤" {
			set(rr, "high", bound(m[2]))
		} else {
			set(rr, "low", bound(m[2]))
		}
	}
	return rr
}
