package mapping

import (
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// imagingStudy maps an ImagingStudy to imaging: the exam, its modalities and size.
func (j *job) imagingStudy() error {
	s, err := j.r.ImagingStudy()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(&s.Subject, "ImagingStudy.subject")
	if !ok || err != nil {
		return err
	}
	enc := j.encounterOf(s.Encounter)
	d := ImagingData{Status: s.Status.Code(), Effective: j.time(s.Started), BasedOn: refStrings(s.BasedOn),
		Critical: j.critical(nil, s.Extension), Series: len(s.Series)}
	if len(s.ProcedureCode) > 0 {
		d.Code = j.concept(&s.ProcedureCode[0], true, LOINCSystem)
	}
	if d.Code.Code == "" && s.Description != nil {
		d.Code.Text = *s.Description
	}
	seen := map[Code]bool{}
	addModality := func(c fhir.Coding) {
		m := Code{System: str(c.System), Code: str(c.Code), Display: str(c.Display)}
		if k := (Code{System: m.System, Code: m.Code}); m.Code != "" && !seen[k] {
			seen[k] = true
			d.Modalities = append(d.Modalities, m)
		}
	}
	for _, m := range s.Modality {
		addModality(m)
	}
	for _, se := range s.Series {
		addModality(se.Modality)
		if d.Effective == nil {
			d.Effective = j.time(se.Started)
		}
	}
	if s.NumberOfSeries != nil {
		d.Series = *s.NumberOfSeries
	}
	if s.NumberOfInstances != nil {
		d.Instances = *s.NumberOfInstances
	}
	j.event(KindImaging, j.ref+"#"+KindImaging, patient, enc, j.at(d.Effective), d)
	return nil
}
