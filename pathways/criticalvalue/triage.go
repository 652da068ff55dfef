package criticalvalue

import (
	"strings"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// Suspect reports whether events mapped from one resource may make, change or withdraw a
// critical value: the intake sends such resources through the queue's urgent lane, ahead of
// the rest of the traffic. It errs on the side of yes, reading no patient: a rule's age and sex
// bands are ignored (the core applies them), and a correction or withdrawal of any result is a
// suspect, since it may concern one that was critical.
func (e *Engine) Suspect(events []mapping.Event) bool {
	for _, f := range events {
		switch f.Kind {
		case mapping.KindCancelled:
			if strings.HasPrefix(f.Resource, "Observation/") || strings.HasPrefix(f.Resource, "DiagnosticReport/") {
				return true
			}
		case mapping.KindResult:
			var d mapping.ResultData
			if pathways.Decode(f.Data, &d) != nil {
				return true // the core will say what it makes of it
			}
			if revises(d.Status) {
				return true
			}
			if !e.counts(d.Status) {
				continue
			}
			if flagRule(d.Interpretation, d.ConclusionCodes, d.Critical) != "" ||
				e.anyRule(d.Code, d.Value) {
				return true
			}
			for _, c := range d.Components {
				if flagRule(c.Interpretation, nil, false) != "" || e.anyRule(c.Code, c.Value) {
					return true
				}
			}
		case mapping.KindImaging:
			if !strings.HasPrefix(f.Resource, "DiagnosticReport/") {
				continue
			}
			var d mapping.ImagingData
			if pathways.Decode(f.Data, &d) == nil && revises(d.Status) {
				return true
			}
			if len(e.detectFact(pathways.Patient{}, f).cands) > 0 {
				return true
			}
		}
	}
	return false
}

// revises reports whether a result's status corrects or withdraws what it stated before.
func revises(status string) bool {
	switch status {
	case "corrected", "amended", "entered-in-error", "cancelled":
		return true
	}
	return false
}

// anyRule reports whether a rule for the code, whatever its age and sex band, finds the value
// critical.
func (e *Engine) anyRule(code mapping.Concept, v *mapping.Value) bool {
	for _, r := range e.rulesFor(code) {
		if crit, _ := r.critical(v); crit {
			return true
		}
	}
	return false
}
