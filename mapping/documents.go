package mapping

import (
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// documentReference maps a DocumentReference to documented, its type mapped to a Lujing
// document kind.
func (j *job) documentReference() error {
	d, err := j.r.DocumentReference()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(d.Subject, "DocumentReference.subject")
	if !ok || err != nil {
		return err
	}
	var enc string
	var period *fhir.Period
	var related []string
	if d.Context != nil {
		if len(d.Context.Encounter) > 0 {
			enc = j.encounterOf(&d.Context.Encounter[0])
		}
		period = d.Context.Period
		related = refStrings(d.Context.Related)
	}
	for _, r := range d.RelatesTo {
		related = append(related, refStrings([]fhir.Reference{r.Target})...)
	}
	data := DocumentedData{Type: j.concept(d.Type, true, DocumentKindSystem), Status: d.Status.Code(),
		Title: str(d.Description), Related: related}
	if d.DocStatus != nil {
		data.DocStatus = d.DocStatus.Code()
	}
	data.DocumentKind = documentKind(data.Type)
	for i := range d.Author {
		if r := refOf(&d.Author[i]); r != nil {
			data.Authors = append(data.Authors, *r)
		}
	}
	j.event(KindDocumented, j.ref+"#"+KindDocumented, patient, enc, j.at(j.time(d.Date), j.periodStart(period)), data)
	return nil
}

// composition maps a Composition (a structured clinical document) to documented.
func (j *job) composition() error {
	c, err := j.r.Composition()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(c.Subject, "Composition.subject")
	if !ok || err != nil {
		return err
	}
	enc := j.encounterOf(c.Encounter)
	data := DocumentedData{Type: j.concept(&c.Type, true, DocumentKindSystem), Status: c.Status.Code(), Title: c.Title}
	data.DocumentKind = documentKind(data.Type)
	for i := range c.Author {
		if r := refOf(&c.Author[i]); r != nil {
			data.Authors = append(data.Authors, *r)
		}
	}
	for _, r := range c.RelatesTo {
		data.Related = append(data.Related, refStrings([]fhir.Reference{r.TargetReference})...)
	}
	j.event(KindDocumented, j.ref+"#"+KindDocumented, patient, enc, j.at(j.time(&c.Date)), data)
	return nil
}

// documentKind is the Lujing document kind of a mapped type, "" when it has none.
func documentKind(c Concept) string {
	if c.System == DocumentKindSystem {
		return c.Code
	}
	return ""
}
