package mapping

import (
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/lujing-health/lujing/mapping/resource"
)

// serviceRequest maps a ServiceRequest to ordered; a lab order's code is LOINC after mapping,
// a procedure order's ICD-9-CM-3.
func (j *job) serviceRequest() error {
	s, err := j.r.ServiceRequest()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(&s.Subject, "ServiceRequest.subject")
	if !ok || err != nil {
		return err
	}
	enc := j.encounterOf(s.Encounter)
	d := OrderedData{Code: j.concept(s.Code, true, LOINCSystem, ICD9CMSystem), Categories: allCodes(s.Category),
		Status: s.Status.Code(), Intent: s.Intent.Code(), Requester: refOf(s.Requester),
		Authored: j.time(s.AuthoredOn), Identifier: identifiers(s.Identifier)}
	if s.Priority != nil {
		d.Priority = s.Priority.Code()
	}
	occurrence := j.time(s.OccurrenceDateTime)
	if occurrence == nil {
		occurrence = j.periodStart(s.OccurrencePeriod)
	}
	j.event(KindOrdered, j.ref+"#"+KindOrdered, patient, enc, j.at(d.Authored, occurrence), d)
	return nil
}

// medicationRequest maps a MedicationRequest to ordered, the medication as its code: the
// medicationCodeableConcept, or the code of a contained Medication it refers to. Medication
// codes are kept as received: there is no standard they are mapped to.
func (j *job) medicationRequest() error {
	m, err := j.r.MedicationRequest()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(&m.Subject, "MedicationRequest.subject")
	if !ok || err != nil {
		return err
	}
	enc := j.encounterOf(m.Encounter)
	d := OrderedData{Categories: allCodes(m.Category), Status: m.Status, Intent: m.Intent,
		Requester: refOf(m.Requester), Authored: j.time(m.AuthoredOn), Identifier: identifiers(m.Identifier)}
	if m.Priority != nil {
		d.Priority = m.Priority.Code()
	}
	switch {
	case len(m.MedicationCodeableConcept.Coding) > 0 || m.MedicationCodeableConcept.Text != nil:
		d.Code = j.concept(&m.MedicationCodeableConcept, false)
	case m.MedicationReference.Reference != nil || m.MedicationReference.Display != nil:
		d.Code = j.medication(m.MedicationReference)
	}
	j.event(KindOrdered, j.ref+"#"+KindOrdered, patient, enc, j.at(d.Authored), d)
	return nil
}

// medication is the code of a contained Medication the reference points to, else the
// reference's display as text. A stored Medication is not read: it is not patient data and
// would park every order whose formulary entry was never sent.
func (j *job) medication(r fhir.Reference) Concept {
	if s := str(r.Reference); len(s) > 1 && s[0] == '#' {
		for _, c := range j.r.Contained {
			if c != nil && c.Type == "Medication" && c.ID == s[1:] {
				return j.genericConcept(c, "code")
			}
		}
	}
	return Concept{Text: str(r.Display)}
}

// genericConcept reads a CodeableConcept from a resource that has no typed accessor.
func (j *job) genericConcept(r *resource.Resource, name string) Concept {
	var cc fhir.CodeableConcept
	m, _ := r.Map()[name].(map[string]any)
	if t, ok := m["text"].(string); ok {
		cc.Text = &t
	}
	list, _ := m["coding"].([]any)
	for _, x := range list {
		c, _ := x.(map[string]any)
		var coding fhir.Coding
		for k, dst := range map[string]**string{"system": &coding.System, "code": &coding.Code, "display": &coding.Display} {
			if s, ok := c[k].(string); ok {
				*dst = &s
			}
		}
		cc.Coding = append(cc.Coding, coding)
	}
	return j.concept(&cc, false)
}

// identifiers are business identifiers as system/code(=value).
func identifiers(ids []fhir.Identifier) []Code {
	var out []Code
	for _, id := range ids {
		if id.Value != nil {
			out = append(out, Code{System: str(id.System), Code: *id.Value})
		}
	}
	return out
}
