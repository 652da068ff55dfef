package clinicalpath

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
)

// Code systems of the FHIR views.
const (
	// ItemKindSystem codes a PlanDefinition action's and a CarePlan activity's item kind.
	ItemKindSystem = "http://lujing.example/fhir/CodeSystem/pathway-item-kind"
	translationURL = "http://hl7.org/fhir/StructureDefinition/translation"
	ucum           = "http://unitsofmeasure.org"
)

// The FHIR views are written with structs, not maps, so that the output is stable and reads
// in the order of the specification.

type fhirCoding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type fhirCC struct {
	Coding []fhirCoding `json:"coding,omitempty"`
	Text   string       `json:"text,omitempty"`
}

type fhirExt struct {
	URL         string    `json:"url"`
	ValueCode   string    `json:"valueCode,omitempty"`
	ValueString string    `json:"valueString,omitempty"`
	Extension   []fhirExt `json:"extension,omitempty"`
}

type fhirElement struct {
	Extension []fhirExt `json:"extension,omitempty"`
}

type fhirQuantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	System string  `json:"system"`
	Code   string  `json:"code"`
}

type fhirRange struct {
	Low  *fhirQuantity `json:"low,omitempty"`
	High *fhirQuantity `json:"high,omitempty"`
}

type fhirTrigger struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type fhirCodeFilter struct {
	Path string       `json:"path"`
	Code []fhirCoding `json:"code,omitempty"`
}

type fhirDataRequirement struct {
	Type       string           `json:"type"`
	CodeFilter []fhirCodeFilter `json:"codeFilter,omitempty"`
}

type fhirAction struct {
	ID               string                `json:"id,omitempty"`
	Title            string                `json:"title,omitempty"`
	TitleExt         *fhirElement          `json:"_title,omitempty"`
	Description      string                `json:"description,omitempty"`
	TextEquivalent   string                `json:"textEquivalent,omitempty"`
	Code             []fhirCC              `json:"code,omitempty"`
	Trigger          []fhirTrigger         `json:"trigger,omitempty"`
	Input            []fhirDataRequirement `json:"input,omitempty"`
	TimingRange      *fhirRange            `json:"timingRange,omitempty"`
	RequiredBehavior string                `json:"requiredBehavior,omitempty"`
	Action           []fhirAction          `json:"action,omitempty"`
}

type planDefinition struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	URL          string       `json:"url"`
	Version      string       `json:"version"`
	Name         string       `json:"name"`
	Title        string       `json:"title"`
	TitleExt     *fhirElement `json:"_title,omitempty"`
	Type         fhirCC       `json:"type"`
	Status       string       `json:"status"`
	Description  string       `json:"description,omitempty"`
	Action       []fhirAction `json:"action"`
}

// PlanDefinition is def as a FHIR R4 PlanDefinition of type clinical-protocol: one action
// per stage, triggered by its anchor (a named event) with its window as timingRange in hours
// from the anchor, and per item a sub-action with its kind, whether it is required (must /
// could), the window in which evidence counts (from … deadline) and the data that completes
// it as input DataRequirements (code prefixes, which a DataRequirement cannot express, are
// written out in textEquivalent). Titles are Chinese with the English as a translation.
func PlanDefinition(def *Definition) []byte {
	pd := planDefinition{
		ResourceType: "PlanDefinition", ID: def.ID, URL: strings.TrimSuffix(CanonicalBase, "/") + "/" + def.ID,
		Version: def.Version, Name: fhirName(def.ID), Title: def.Title.Zh, TitleExt: translation(def.Title.En),
		Type: fhirCC{Coding: []fhirCoding{{System: "http://terminology.hl7.org/CodeSystem/plan-definition-type",
			Code: "clinical-protocol", Display: "Clinical Protocol"}}},
		Status:      "active",
		Description: strings.TrimSpace(fmt.Sprintf("%s. %s Standard stay %d–%d days.", def.Title.En, def.Basis, def.StandardStay.Min, def.StandardStay.Max)),
	}
	for _, st := range def.Stages {
		a := fhirAction{ID: st.ID, Title: st.Title.Zh, TitleExt: translation(st.Title.En), Description: st.Title.En,
			Trigger:     []fhirTrigger{{Type: "named-event", Name: st.Anchor}},
			TimingRange: &fhirRange{Low: hours(st.From), High: hours(st.To)}}
		for _, it := range st.Items {
			sub := fhirAction{ID: it.ID, Title: it.Title.Zh, TitleExt: translation(it.Title.En), Description: it.Title.En,
				Code:             []fhirCC{{Coding: []fhirCoding{{System: ItemKindSystem, Code: it.Kind}}}},
				RequiredBehavior: "could", TimingRange: &fhirRange{Low: hours(it.From)}}
			if it.Required {
				sub.RequiredBehavior = "must"
			}
			if it.Due != nil {
				sub.TimingRange.High = hours(*it.Due)
			}
			var text []string
			for _, ev := range it.Evidence {
				dr := fhirDataRequirement{Type: ev.Resource}
				if len(ev.Codes.Codes) > 0 {
					f := fhirCodeFilter{Path: "code"}
					for _, c := range ev.Codes.Codes {
						f.Code = append(f.Code, fhirCoding{System: ev.Codes.System, Code: c})
					}
					dr.CodeFilter = append(dr.CodeFilter, f)
				}
				if len(ev.Documents) > 0 {
					f := fhirCodeFilter{Path: "type"}
					for _, k := range ev.Documents {
						f.Code = append(f.Code, fhirCoding{System: mapping.DocumentKindSystem, Code: k})
					}
					dr.CodeFilter = append(dr.CodeFilter, f)
				}
				sub.Input = append(sub.Input, dr)
				text = append(text, evidenceText(ev))
			}
			sub.TextEquivalent = "Done by: " + strings.Join(text, "; or ")
			a.Action = append(a.Action, sub)
		}
		pd.Action = append(pd.Action, a)
	}
	out, err := json.Marshal(pd)
	if err != nil {
		panic(fmt.Sprintf("clinicalpath: encoding PlanDefinition: %v", err)) // plain structs: cannot fail
	}
	return out
}

func evidenceText(ev Evidence) string {
	parts := []string{ev.Resource}
	if ev.Codes.System != "" {
		codes := append([]string(nil), ev.Codes.Codes...)
		for _, p := range ev.Codes.Prefixes {
			codes = append(codes, p+"*")
		}
		parts = append(parts, ev.Codes.System+" "+strings.Join(codes, ", "))
	}
	if len(ev.Documents) > 0 {
		parts = append(parts, "document "+strings.Join(ev.Documents, ", "))
	}
	if ev.BySurgeon {
		parts = append(parts, "written by the operating surgeon")
	}
	return strings.Join(parts, " ")
}

func translation(en string) *fhirElement {
	if en == "" {
		return nil
	}
	return &fhirElement{Extension: []fhirExt{{URL: translationURL, Extension: []fhirExt{
		{URL: "lang", ValueCode: "en"}, {URL: "content", ValueString: en}}}}}
}

func hours(d time.Duration) *fhirQuantity {
	return &fhirQuantity{Value: d.Hours(), Unit: "h", System: ucum, Code: "h"}
}

// fhirName is a computer-friendly name from an id: "stemi" → "Stemi", "colon-cancer" →
// "ColonCancer".
func fhirName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

type fhirRef struct {
	Reference string `json:"reference"`
	Display   string `json:"display,omitempty"`
}

type fhirPeriod struct {
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
}

type fhirAnnotation struct {
	AuthorString string    `json:"authorString,omitempty"`
	Time         time.Time `json:"time"`
	Text         string    `json:"text"`
}

type carePlanDetail struct {
	Code            *fhirCC     `json:"code,omitempty"`
	StatusReason    *fhirCC     `json:"statusReason,omitempty"`
	Status          string      `json:"status"`
	ScheduledPeriod *fhirPeriod `json:"scheduledPeriod,omitempty"`
	Description     string      `json:"description,omitempty"`
}

type carePlanActivity struct {
	OutcomeReference []fhirRef      `json:"outcomeReference,omitempty"`
	Detail           carePlanDetail `json:"detail"`
}

type carePlan struct {
	ResourceType          string             `json:"resourceType"`
	ID                    string             `json:"id"`
	InstantiatesCanonical []string           `json:"instantiatesCanonical"`
	Status                string             `json:"status"`
	Intent                string             `json:"intent"`
	Title                 string             `json:"title,omitempty"`
	Description           string             `json:"description,omitempty"`
	Subject               fhirRef            `json:"subject"`
	Encounter             *fhirRef           `json:"encounter,omitempty"`
	Period                fhirPeriod         `json:"period"`
	Created               *time.Time         `json:"created,omitempty"`
	Activity              []carePlanActivity `json:"activity,omitempty"`
	Note                  []fhirAnnotation   `json:"note,omitempty"`
}

// CarePlan is a pathway-instance record (its Record.Body) as a FHIR R4 CarePlan:
// instantiatesCanonical names the PlanDefinition version, status is active, completed or
// revoked (withdrawn), one activity per item with its status (not-started, completed,
// cancelled for a waived item; an overdue one is not-started with the reason "overdue"), its
// deadline as scheduledPeriod.end and the evidence as outcomeReference; variances are notes.
// It returns nil when body is not a pathway instance.
func CarePlan(body []byte) []byte {
	var x Instance
	if err := json.Unmarshal(body, &x); err != nil || x.ID == "" || x.Pathway.ID == "" {
		return nil
	}
	cp := carePlan{ResourceType: "CarePlan", ID: x.ID, InstantiatesCanonical: []string{x.Pathway.Canonical},
		Intent: "plan", Title: x.Pathway.Title.Zh, Description: x.EnrolmentReason,
		Subject: fhirRef{Reference: x.Patient}, Period: fhirPeriod{Start: ptr(x.EnrolledAt)}, Created: ptr(x.EnrolledAt)}
	if x.Encounter != "" {
		cp.Encounter = &fhirRef{Reference: x.Encounter}
	}
	switch x.Status {
	case StatusCompleted:
		cp.Status = "completed"
		cp.Period.End = x.DischargedAt
	case StatusWithdrawn:
		cp.Status = "revoked"
		cp.Period.End = ptr(x.Withdrawn.At)
	default:
		cp.Status = "active"
	}
	for _, it := range x.Items {
		a := carePlanActivity{Detail: carePlanDetail{
			Code:        &fhirCC{Coding: []fhirCoding{{System: ItemKindSystem, Code: it.Kind}}, Text: it.Title.Zh},
			Description: fmt.Sprintf("%s (stage %s)", it.Title.En, it.Stage),
		}}
		switch it.Status {
		case ItemDone:
			a.Detail.Status = "completed"
			if it.Late {
				a.Detail.StatusReason = &fhirCC{Text: "done late"}
			}
		case ItemOverdue:
			a.Detail.Status = "not-started"
			a.Detail.StatusReason = &fhirCC{Text: "overdue"}
		case ItemWaived:
			a.Detail.Status = "cancelled"
			a.Detail.StatusReason = &fhirCC{Text: "waived"}
		default:
			a.Detail.Status = "not-started"
		}
		if it.DueAt != nil {
			a.Detail.ScheduledPeriod = &fhirPeriod{End: it.DueAt}
		}
		if it.Evidence != "" {
			a.OutcomeReference = []fhirRef{{Reference: it.Evidence}}
		}
		cp.Activity = append(cp.Activity, a)
	}
	for _, v := range x.Variances {
		cp.Note = append(cp.Note, fhirAnnotation{AuthorString: v.By, Time: v.At,
			Text: fmt.Sprintf("variance %s (%s, %s): %s", v.Kind, v.Direction, v.Source, v.Reason)})
	}
	out, err := json.Marshal(cp)
	if err != nil {
		return nil
	}
	return out
}
