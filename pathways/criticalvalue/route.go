package criticalvalue

import (
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// Care settings of a record.
const (
	Inpatient  = "inpatient"
	Outpatient = "outpatient"
	Emergency  = "emergency"
)

// route is where a critical value goes: the responsible department, ward and clinicians.
type route struct {
	Encounter  string       `json:"encounter,omitempty"`
	Setting    string       `json:"setting"`
	Department mapping.Code `json:"department"`
	Ward       string       `json:"ward,omitempty"`
	Attending  string       `json:"attending,omitempty"`
	Orderer    string       `json:"orderer,omitempty"`
}

// encounterOf is the result's encounter, else the one the patient was in at the release: the
// latest admitted at or before it and not discharged before it.
func encounterOf(facts []mapping.Event, c candidate) string {
	if c.encounter != "" {
		return c.encounter
	}
	ended := map[string]time.Time{}
	for _, f := range facts {
		if f.Kind == mapping.KindDischarged {
			ended[f.Encounter] = f.At
		}
	}
	best := ""
	var bestAt time.Time
	for _, f := range facts {
		if f.Kind != mapping.KindAdmitted || f.At.After(c.released) {
			continue
		}
		if end, ok := ended[f.Encounter]; ok && end.Before(c.released) {
			continue
		}
		if best == "" || !f.At.Before(bestAt) {
			best, bestAt = f.Encounter, f.At
		}
	}
	return best
}

// placement walks an encounter's admission and transfers (as pathways.Department does) up
// to t: the department and ward the patient was in then; the first placement when t is
// before all of them (a result released in the emergency room before the admission began).
func placement(facts []mapping.Event, encounter string, t time.Time) (mapping.Code, string) {
	var dept mapping.Code
	ward := ""
	set := func(p mapping.Placement) {
		if p.Department != nil {
			dept = *p.Department
		}
		if p.Ward != nil {
			ward = firstNonEmpty(p.Ward.Display, identifier(p.Ward), p.Ward.Reference)
		}
	}
	first := true
	for _, f := range facts {
		if f.Encounter != encounter || (!first && f.At.After(t)) {
			continue
		}
		switch f.Kind {
		case mapping.KindAdmitted:
			var d mapping.AdmittedData
			if pathways.Decode(f.Data, &d) == nil {
				set(d.Placement)
				first = false
			}
		case mapping.KindTransferred:
			var d mapping.TransferredData
			if pathways.Decode(f.Data, &d) == nil && !f.At.After(t) {
				set(d.To)
				first = false
			}
		}
	}
	if dept.Code == "" {
		// A department known only from the discharge (an encounter sent finished).
		if code := pathways.Department(facts, encounter); code != "" {
			dept = mapping.Code{Code: code}
		}
	}
	return dept, ward
}

func identifier(r *mapping.Ref) string {
	if r == nil || r.Identifier == nil {
		return ""
	}
	return r.Identifier.Code
}

func refName(r *mapping.Ref) string {
	if r == nil {
		return ""
	}
	return firstNonEmpty(r.Display, identifier(r), r.Reference)
}

// route decides where the critical value c goes. Inpatients: the ward and department they
// were in at the release, and their attending. Outpatients: the ordering department and
// clinician (the order the result is based on). Emergency: the emergency department or the
// ordering one, as configured. With no encounter known the outpatient flow applies.
func (e *Engine) route(facts []mapping.Event, c candidate) route {
	r := route{Encounter: encounterOf(facts, c), Setting: Outpatient}
	var adm mapping.AdmittedData
	for _, f := range facts {
		if f.Kind == mapping.KindAdmitted && f.Encounter == r.Encounter && r.Encounter != "" {
			_ = pathways.Decode(f.Data, &adm)
		}
	}
	switch adm.CareSetting {
	case Inpatient, Emergency:
		r.Setting = adm.CareSetting
	}
	orderEncounter := ""
	for _, b := range c.basedOn {
		for _, f := range facts {
			if f.Kind != mapping.KindOrdered || f.Resource != b {
				continue
			}
			var d mapping.OrderedData
			if pathways.Decode(f.Data, &d) == nil && r.Orderer == "" {
				r.Orderer = refName(d.Requester)
				orderEncounter = f.Encounter
			}
		}
	}
	switch {
	case r.Setting == Inpatient:
		r.Department, r.Ward = placement(facts, r.Encounter, c.released)
		r.Attending = refName(adm.Attending)
	case r.Setting == Emergency && e.cfg.EmergencyRoute == "ed":
		if e.cfg.EDDepartment != "" {
			r.Department = mapping.Code{Code: e.cfg.EDDepartment}
		} else {
			r.Department, _ = placement(facts, r.Encounter, c.released)
		}
		r.Attending = firstNonEmpty(r.Orderer, refName(adm.Attending))
	default:
		// The ordering department: that of the order's encounter, else of the result's.
		if orderEncounter != "" {
			r.Department, _ = placement(facts, orderEncounter, c.released)
		}
		if r.Department.Code == "" && r.Encounter != "" {
			r.Department, _ = placement(facts, r.Encounter, c.released)
		}
		r.Attending = firstNonEmpty(r.Orderer, refName(adm.Attending))
	}
	return r
}
