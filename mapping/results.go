package mapping

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/lujing-health/lujing/mapping/resource"
)

// observation maps an Observation to a result.
func (j *job) observation() error {
	o, err := j.r.Observation()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(o.Subject, "Observation.subject")
	if !ok || err != nil {
		return err
	}
	enc := j.encounterOf(o.Encounter)
	d := j.result(o)
	j.event(KindResult, j.ref+"#"+KindResult, patient, enc, j.at(d.Issued, d.Effective), d)
	return nil
}

// result reads an Observation's result.
func (j *job) result(o fhir.Observation) ResultData {
	d := ResultData{
		Code: j.concept(&o.Code, true, LOINCSystem), Status: o.Status.Code(),
		Value:          j.value(valueOf{o.ValueQuantity, o.ValueCodeableConcept, o.ValueString, o.ValueBoolean, o.ValueInteger, o.ValueRange, o.ValueRatio, o.ValueSampledData, o.ValueTime, o.ValueDateTime, o.ValuePeriod}),
		Interpretation: allCodes(o.Interpretation),
		Critical:       j.critical(o.Interpretation, o.Extension),
		Issued:         j.time(o.Issued),
		BasedOn:        refStrings(o.BasedOn),
		Categories:     allCodes(o.Category),
	}
	d.Effective = j.time(o.EffectiveDateTime)
	if d.Effective == nil {
		d.Effective = j.time(o.EffectiveInstant)
	}
	if d.Effective == nil {
		d.Effective = j.periodStart(o.EffectivePeriod)
	}
	for _, rr := range o.ReferenceRange {
		r := Range{Text: str(rr.Text)}
		if rr.Low != nil && rr.Low.Value != nil {
			r.Low, r.Unit = *rr.Low.Value, unit(rr.Low)
		}
		if rr.High != nil && rr.High.Value != nil {
			r.High = *rr.High.Value
			if r.Unit == "" {
				r.Unit = unit(rr.High)
			}
		}
		if c := firstCode(rr.Type); c != nil {
			r.Type = c.Code
		}
		d.ReferenceRange = append(d.ReferenceRange, r)
	}
	for _, c := range o.Component {
		d.Components = append(d.Components, Component{
			Code:           j.concept(&c.Code, true, LOINCSystem),
			Value:          j.value(valueOf{c.ValueQuantity, c.ValueCodeableConcept, c.ValueString, c.ValueBoolean, c.ValueInteger, c.ValueRange, c.ValueRatio, c.ValueSampledData, c.ValueTime, c.ValueDateTime, c.ValuePeriod}),
			Interpretation: allCodes(c.Interpretation),
		})
	}
	return d
}

// valueOf is value[x] of an Observation or of one of its components.
type valueOf struct {
	quantity *fhir.Quantity
	concept  *fhir.CodeableConcept
	text     *string
	boolean  *bool
	integer  *int
	rng      *fhir.Range
	ratio    *fhir.Ratio
	sampled  *fhir.SampledData
	time     *string
	dateTime *string
	period   *fhir.Period
}

// value reads value[x]. A quantity with neither unit nor unit code is flagged
// "result-without-unit": a number alone cannot be compared with a limit.
func (j *job) value(v valueOf) *Value {
	switch {
	case v.quantity != nil:
		q := v.quantity
		out := &Value{Type: "quantity", Unit: unit(q), UnitSystem: str(q.System), UnitCode: str(q.Code)}
		if q.Value != nil {
			out.Number = *q.Value
		}
		if q.Comparator != nil {
			out.Comparator = q.Comparator.Code()
		}
		if out.Unit == "" {
			j.flag("result-without-unit")
		}
		return out
	case v.concept != nil:
		c := j.concept(v.concept, false)
		return &Value{Type: "codeable_concept", Code: &c}
	case v.text != nil:
		return &Value{Type: "string", Text: *v.text}
	case v.boolean != nil:
		b := *v.boolean
		return &Value{Type: "boolean", Boolean: &b}
	case v.integer != nil:
		return &Value{Type: "integer", Number: json.Number(strconv.Itoa(*v.integer))}
	case v.rng != nil:
		return &Value{Type: "range", Text: quantityText(v.rng.Low) + "-" + quantityText(v.rng.High)}
	case v.ratio != nil:
		return &Value{Type: "ratio", Text: quantityText(v.ratio.Numerator) + "/" + quantityText(v.ratio.Denominator)}
	case v.sampled != nil:
		return &Value{Type: "sampled_data"}
	case v.time != nil:
		return &Value{Type: "time", Text: *v.time}
	case v.dateTime != nil:
		return &Value{Type: "date_time", Text: *v.dateTime}
	case v.period != nil:
		return &Value{Type: "period", Text: str(v.period.Start) + "/" + str(v.period.End)}
	}
	return nil
}

// unit is a Quantity's human unit, else its coded unit.
func unit(q *fhir.Quantity) string {
	if q == nil {
		return ""
	}
	if u := str(q.Unit); u != "" {
		return u
	}
	return str(q.Code)
}

func quantityText(q *fhir.Quantity) string {
	if q == nil || q.Value == nil {
		return ""
	}
	if u := unit(q); u != "" {
		return q.Value.String() + " " + u
	}
	return q.Value.String()
}

// Diagnostic service sections (http://terminology.hl7.org/CodeSystem/v2-0074) of laboratory
// and of imaging reports; the FHIR observation-category codes laboratory and imaging count too.
var (
	labSections     = []string{"LAB", "laboratory", "BG", "BLB", "CG", "CH", "CP", "GE", "HM", "IMM", "MB", "MCB", "MYC", "OSL", "PAT", "SP", "SR", "TX", "URN", "VR"}
	imagingSections = []string{"RAD", "imaging", "CT", "CUS", "NMR", "NMS", "OUS", "RUS", "VUS", "XRC"}
)

// reportKind says whether a DiagnosticReport is a result or imaging: by its category, else by
// the profile's default (a LIS's reports are results, a PACS's imaging).
func (j *job) reportKind(categories []fhir.CodeableConcept) string {
	for _, c := range allCodes(categories) {
		switch {
		case c.System != "" && !strings.HasPrefix(c.System, "http://terminology.hl7.org/CodeSystem/"):
			// Sections are matched in HL7's code systems only: a local "CT" may mean anything.
		case slices.Contains(labSections, c.Code):
			return KindResult
		case slices.Contains(imagingSections, c.Code):
			return KindImaging
		}
	}
	return j.p.Reports
}

// diagnosticReport maps a lab report to a result for the report and one per contained
// Observation, and an imaging report to imaging. Observations it refers to must be stored
// (they are mapped on their own); until they are, the report is parked.
func (j *job) diagnosticReport() error {
	r, err := j.r.DiagnosticReport()
	if err != nil {
		return err
	}
	kind := j.reportKind(r.Category)
	if kind == "" {
		return nil
	}
	patient, ok, err := j.subject(r.Subject, "DiagnosticReport.subject")
	if !ok || err != nil {
		return err
	}
	enc := j.encounterOf(r.Encounter)
	issued := j.time(r.Issued)
	effective := j.time(r.EffectiveDateTime)
	if effective == nil {
		effective = j.periodStart(r.EffectivePeriod)
	}
	at := j.at(issued, effective)
	var members []string
	var contained []*resource.Resource
	for i, ref := range r.Result {
		s := str(ref.Reference)
		if len(s) > 1 && s[0] == '#' {
			c := j.containedObservation(s[1:])
			if c == nil {
				return errorAt("DiagnosticReport.result["+strconv.Itoa(i)+"]", "refers to a contained Observation that is not there")
			}
			contained = append(contained, c)
			members = append(members, j.ref+"#"+KindResult+"/"+c.ID)
			continue
		}
		typ, id, ok := literal(s)
		if !ok || typ != "Observation" {
			return errorAt("DiagnosticReport.result["+strconv.Itoa(i)+"]", "not a reference to an Observation that can be followed")
		}
		j.fetch(typ, id)
		members = append(members, typ+"/"+id)
	}
	if kind == KindImaging {
		d := ImagingData{Code: j.concept(&r.Code, true, LOINCSystem), Status: r.Status.Code(),
			Conclusion: str(r.Conclusion), ConclusionCodes: allCodes(r.ConclusionCode),
			Critical: j.critical(r.ConclusionCode, r.Extension), Effective: effective, Issued: issued,
			BasedOn: refStrings(r.BasedOn), Studies: refStrings(r.ImagingStudy)}
		j.event(KindImaging, j.ref+"#"+KindImaging, patient, enc, at, d)
		return nil
	}
	d := ResultData{Code: j.concept(&r.Code, true, LOINCSystem), Status: r.Status.Code(), Effective: effective,
		Issued: issued, BasedOn: refStrings(r.BasedOn), Categories: allCodes(r.Category), Members: members,
		Conclusion: str(r.Conclusion), ConclusionCodes: allCodes(r.ConclusionCode),
		Critical: j.critical(r.ConclusionCode, r.Extension)}
	j.event(KindResult, j.ref+"#"+KindResult, patient, enc, at, d)
	for _, c := range contained {
		o, err := c.Observation()
		if err != nil {
			return err
		}
		od := j.result(o)
		od.Report = j.ref
		// What a contained Observation leaves out, it has from its report.
		if od.Issued == nil {
			od.Issued = issued
		}
		if od.Effective == nil {
			od.Effective = effective
		}
		if od.BasedOn == nil {
			od.BasedOn = d.BasedOn
		}
		j.event(KindResult, j.ref+"#"+KindResult+"/"+c.ID, patient, enc, j.at(od.Issued, od.Effective), od)
	}
	return nil
}

func (j *job) containedObservation(id string) *resource.Resource {
	for _, c := range j.r.Contained {
		if c != nil && c.Type == "Observation" && c.ID == id {
			return c
		}
	}
	return nil
}
