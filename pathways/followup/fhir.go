package followup

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// Code systems of the FHIR view. Placeholders under lujing.example, like the mapping's.
const (
	CarePlanCategorySystem = "http://lujing.example/fhir/CodeSystem/care-plan-category"
	MethodSystem           = "http://lujing.example/fhir/CodeSystem/follow-up-method"
	OutputSystem           = "http://lujing.example/fhir/CodeSystem/follow-up-output"
	StatusSystem           = "http://lujing.example/fhir/CodeSystem/follow-up-status"
)

type obj = map[string]any

// CarePlan is the FHIR R4 CarePlan (category follow-up) of the follow-up of one stay at now:
// its reasons, the operation and diagnoses they rest on, the findings, one activity per
// contact referring to its Task. ENOTFOUND when the stay is unknown or not followed up.
func (e *Engine) CarePlan(raw json.RawMessage, encounter string, now time.Time) ([]byte, error) {
	st, s, vs, err := e.fhirState(raw, encounter, now)
	if err != nil {
		return nil, err
	}
	status := "completed"
	var activity []obj
	for _, v := range vs {
		activity = append(activity, obj{"reference": obj{"reference": "Task/" + v.ID}})
		switch {
		case open(v.status):
			status = "active"
		case v.status == StatusCancelled && status != "active":
			status = "revoked"
		}
	}
	cp := obj{
		"resourceType": "CarePlan", "id": s.ID, "status": status, "intent": "plan",
		"category":    []obj{{"coding": []obj{{"system": CarePlanCategorySystem, "code": "follow-up", "display": "随访 Follow-up"}}}},
		"title":       "随访计划 Follow-up " + strings.Join(reasonsOf(s.Eligibility.Reasons), ", "),
		"description": describe(s.Eligibility.Reasons),
		"subject":     obj{"reference": st.Patient},
		"encounter":   obj{"reference": s.Encounter},
		"period":      obj{"start": s.Discharged.Format(time.RFC3339)},
	}
	if len(activity) > 0 {
		cp["activity"] = activity
	}
	var addresses, support []obj
	for _, b := range s.Eligibility.Reasons {
		switch {
		case strings.HasPrefix(b.Evidence, "Condition/"):
			addresses = append(addresses, obj{"reference": b.Evidence, "display": b.Detail})
		case b.Evidence != "":
			support = append(support, obj{"reference": b.Evidence, "display": b.Detail})
		}
	}
	if addresses != nil {
		cp["addresses"] = addresses
	}
	if support != nil {
		cp["supportingInfo"] = support
	}
	var notes []obj
	for _, f := range s.Findings {
		notes = append(notes, obj{"time": f.At.Format(time.RFC3339), "text": f.Detail})
	}
	if d := e.death(st); d != nil {
		notes = append(notes, obj{"time": d.At.Format(time.RFC3339), "text": d.Detail})
	}
	if notes != nil {
		cp["note"] = notes
	}
	return marshal(cp)
}

// Tasks are the FHIR R4 Tasks of the contacts of one stay at now, in order of due date:
// restriction.period is the window, status the contact's (businessStatus says it in Lujing's
// words), output the outcome recorded, note the attempts.
func (e *Engine) Tasks(raw json.RawMessage, encounter string, now time.Time) ([][]byte, error) {
	st, s, vs, err := e.fhirState(raw, encounter, now)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, v := range vs {
		b, err := marshal(task(st.Patient, s, v))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func (e *Engine) fhirState(raw json.RawMessage, encounter string, now time.Time) (*state, *stay, []*view, error) {
	st, err := loadState(raw)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, s := range st.Stays {
		if s.Encounter != encounter {
			continue
		}
		if len(s.Eligibility.Reasons) == 0 {
			return nil, nil, nil, pathways.Errorf(pathways.ENOTFOUND, "", "%s is not followed up: %s", encounter, describe(s.Eligibility.NotEligible))
		}
		var vs []*view
		for _, v := range e.views(st, now) {
			if v.Encounter == encounter {
				vs = append(vs, v)
			}
		}
		return st, s, vs, nil
	}
	return nil, nil, nil, pathways.Errorf(pathways.ENOTFOUND, "", "no follow-up of %s", encounter)
}

func describe(bs []Because) string {
	var parts []string
	for _, b := range bs {
		parts = append(parts, b.Detail)
	}
	return strings.Join(parts, "; ")
}

// taskStatus maps a contact's status to Task.status.
func taskStatus(v *view) string {
	switch v.status {
	case StatusScheduled:
		return "requested"
	case StatusDue, StatusOverdue:
		if len(v.attempts) > 0 {
			return "in-progress"
		}
		return "ready"
	case StatusDone:
		return "completed"
	case StatusMissed:
		return "failed"
	}
	return "cancelled"
}

func task(patient string, s *stay, v *view) obj {
	t := obj{
		"resourceType": "Task", "id": v.ID, "status": taskStatus(v), "intent": "plan",
		"basedOn":        []obj{{"reference": "CarePlan/" + s.ID}},
		"businessStatus": obj{"coding": []obj{{"system": StatusSystem, "code": v.status}}, "text": v.status},
		"code":           obj{"coding": []obj{{"system": MethodSystem, "code": v.Method}}, "text": "随访 follow-up by " + v.Method},
		"description":    strings.Join(v.Reasons, ", ") + " follow-up due " + v.DueOn,
		"for":            obj{"reference": patient},
		"encounter":      obj{"reference": v.Encounter},
		"owner":          obj{"display": v.Assignee},
		"restriction":    obj{"period": obj{"start": v.WindowFrom, "end": v.WindowTo}},
	}
	if v.reason != "" {
		t["statusReason"] = obj{"text": v.reason}
	}
	if len(v.attempts) > 0 {
		period := obj{"start": v.attempts[0].At.Format(time.RFC3339)}
		if !v.closed.IsZero() {
			period["end"] = v.closed.Format(time.RFC3339)
		}
		t["executionPeriod"] = period
		var notes []obj
		for _, a := range v.attempts {
			text := fmt.Sprintf("%s by %s: ", a.Method, a.By)
			if a.Reached {
				text += "reached"
			} else {
				text += "not reached"
			}
			if a.Note != "" {
				text += ". " + a.Note
			}
			notes = append(notes, obj{"authorString": a.By, "time": a.At.Format(time.RFC3339), "text": text})
		}
		t["note"] = notes
	}
	if o := v.outcome; o != nil {
		output := func(code string, value obj) obj {
			value["type"] = obj{"coding": []obj{{"system": OutputSystem, "code": code}}}
			return value
		}
		outs := []obj{output("status", obj{"valueCode": o.Status})}
		if o.DiedOn != "" {
			outs = append(outs, output("died_on", obj{"valueDate": o.DiedOn}))
		}
		for _, c := range o.Complications {
			outs = append(outs, output("complication", obj{"valueCodeableConcept": obj{"coding": []obj{{"system": mapping.ICD10System, "code": c}}}}))
		}
		if o.NewTreatment != "" {
			outs = append(outs, output("new_treatment", obj{"valueString": o.NewTreatment}))
		}
		if o.Readmitted != nil {
			outs = append(outs, output("readmitted", obj{"valueBoolean": *o.Readmitted}))
		}
		if o.ReturnedToTheatre != nil {
			outs = append(outs, output("returned_to_theatre", obj{"valueBoolean": *o.ReturnedToTheatre}))
		}
		if o.Note != "" {
			outs = append(outs, output("note", obj{"valueString": o.Note}))
		}
		t["output"] = outs
	}
	return t
}
