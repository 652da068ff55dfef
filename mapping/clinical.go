package mapping

import (
	"strconv"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// conditionEvent maps a Condition to diagnosed, its code in ICD-10 after mapping.
func (j *job) conditionEvent() error {
	c, err := j.r.Condition()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(&c.Subject, "Condition.subject")
	if !ok || err != nil {
		return err
	}
	enc := j.encounterOf(c.Encounter)
	if c.Code == nil {
		j.flag("condition-without-code")
		return nil
	}
	data := DiagnosedData{Condition: j.ref}
	j.fillDiagnosis(&data, c, true)
	j.event(KindDiagnosed, j.ref+"#"+KindDiagnosed, patient, enc, j.at(data.Recorded, data.Onset), data)
	return nil
}

// fillDiagnosis copies what a Condition says into a diagnosed event; report says whether its
// unmapped codes are reported (only when the Condition itself is mapped).
func (j *job) fillDiagnosis(d *DiagnosedData, c fhir.Condition, report bool) {
	d.Code = j.concept(c.Code, report, ICD10System)
	if x := firstCode(c.ClinicalStatus); x != nil {
		d.ClinicalStatus = x.Code
	}
	if x := firstCode(c.VerificationStatus); x != nil {
		d.VerificationStatus = x.Code
	}
	for _, x := range allCodes(c.Category) {
		d.Categories = append(d.Categories, x.Code)
	}
	d.Onset = j.time(c.OnsetDateTime)
	if d.Onset == nil {
		d.Onset = j.periodStart(c.OnsetPeriod)
	}
	d.Recorded = j.time(c.RecordedDate)
}

// procedure maps a Procedure to operated: ICD-9-CM-3 code after mapping, times, surgeon and
// surgery grade. One in preparation states nothing yet.
func (j *job) procedure() error {
	p, err := j.r.Procedure()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(&p.Subject, "Procedure.subject")
	if !ok || err != nil {
		return err
	}
	enc := j.encounterOf(p.Encounter)
	status := p.Status.Code()
	if status == "preparation" && !j.withdraw {
		return nil
	}
	d := OperatedData{Code: j.concept(p.Code, true, ICD9CMSystem), Status: status, Category: firstCode(p.Category),
		Surgeon: surgeon(p.Performer), Reasons: refStrings(p.ReasonReference)}
	if p.PerformedPeriod != nil {
		d.Start, d.End = j.periodStart(p.PerformedPeriod), j.periodEnd(p.PerformedPeriod)
		if d.Start != nil && d.End != nil && d.Start.After(*d.End) {
			return errorAt("Procedure.performedPeriod", "start is after end")
		}
	} else {
		d.Start = j.time(p.PerformedDateTime)
	}
	d.Grade, d.GradeSource = j.grade(p, d.Code)
	if e := extension(p.Extension, j.p.Procedure.PlannedExtension); e != nil && e.ValueBoolean != nil {
		planned := *e.ValueBoolean
		d.Planned = &planned
	}
	if e := extension(p.Extension, j.p.Procedure.UrgencyExtension); e != nil {
		switch u := str(e.ValueCode); u {
		case "emergency", "elective":
			d.Urgency = u
		default:
			j.flag("invalid-surgery-urgency")
		}
	}
	j.event(KindOperated, j.ref+"#"+KindOperated, patient, enc, j.at(d.Start), d)
	return nil
}

// grade is the surgery grade the source sends (the profile's extension, else its category
// system), else the grading catalogue's for the mapped code.
func (j *job) grade(p fhir.Procedure, code Concept) (int, string) {
	if e := extension(p.Extension, j.p.Procedure.GradeExtension); e != nil {
		var g int
		switch {
		case e.ValueInteger != nil:
			g = *e.ValueInteger
		case e.ValueCode != nil:
			g, _ = strconv.Atoi(*e.ValueCode)
		case e.ValueString != nil:
			g, _ = strconv.Atoi(*e.ValueString)
		}
		if g >= 1 && g <= 4 {
			return g, "resource"
		}
		j.flag("invalid-surgery-grade")
	}
	if sys := j.p.Procedure.GradeCategorySystem; sys != "" {
		for _, c := range codings(p.Category) {
			if g, err := strconv.Atoi(c.Code); c.System == sys && err == nil && g >= 1 && g <= 4 {
				return g, "resource"
			}
		}
	}
	if g, ok := j.c.grades.Grade(code.System, code.Code); ok {
		return g, "catalogue"
	}
	return 0, ""
}

// surgeon is the performer whose function is the operating surgeon (SNOMED 304292004
// "Surgeon", or a function saying surgeon/主刀), else the first performer.
func surgeon(ps []fhir.ProcedurePerformer) *Ref {
	for _, p := range ps {
		if p.Function == nil {
			continue
		}
		text := str(p.Function.Text)
		for _, c := range codings(p.Function) {
			text += " " + c.Display
		}
		if hasCode(p.Function, "304292004") || containsFold(text, "surgeon", "主刀") && !strings.Contains(strings.ToLower(text), "assistant") {
			return refOf(&p.Actor)
		}
	}
	if len(ps) > 0 {
		return refOf(&ps[0].Actor)
	}
	return nil
}
