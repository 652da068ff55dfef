package clinicalpath

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// derived is what the facts say about an instance, independent of the time it is looked at:
// the anchors, where stages and deadlines fall, the first evidence of each item and the
// events that are variances. The projection (project.go) reads it at a given time; human
// actions, which get no facts, project the stored one.
type derived struct {
	EnrolledAt time.Time            `json:"enrolled_at"`
	Reason     string               `json:"reason"`
	Department string               `json:"department,omitempty"`
	Admitted   time.Time            `json:"admitted"`
	Discharged *time.Time           `json:"discharged,omitempty"`
	Died       bool                 `json:"died,omitempty"`
	Anchors    map[string]time.Time `json:"anchors"`
	Stages     []placedStage        `json:"stages"`
	Items      []placedItem         `json:"items"`
	Events     []Variance           `json:"events,omitempty"` // ICU transfer, return to theatre, death
}

type placedStage struct {
	ID    string     `json:"id"`
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
}

type placedItem struct {
	ID         string     `json:"id"`
	From       *time.Time `json:"from,omitempty"`
	Due        *time.Time `json:"due,omitempty"`
	Evidence   string     `json:"evidence,omitempty"`
	EvidenceAt *time.Time `json:"evidence_at,omitempty"`
}

// operation is an operated fact of the encounter.
type operation struct {
	ev    mapping.Event
	data  mapping.OperatedData
	start time.Time
}

// withdrawnStatuses are statuses by which a fact states that nothing was done.
var withdrawnStatuses = []string{"entered-in-error", "cancelled", "revoked", "not-done", "registered", "draft", "preparation"}

// operations are the encounter's operations in time order: procedures with a surgery grade,
// or whose code is one of the pathway's operations (a thrombolysis is a procedure, not an
// operation).
func operations(def *Definition, facts []mapping.Event, enc string) []operation {
	var out []operation
	for _, f := range facts {
		if f.Encounter != enc || f.Kind != mapping.KindOperated {
			continue
		}
		var d mapping.OperatedData
		if pathways.Decode(f.Data, &d) != nil || slices.Contains(withdrawnStatuses, d.Status) {
			continue
		}
		if d.Grade == 0 && !matchAny(def.Entry.Procedures, d.Code) {
			continue
		}
		start := f.At
		if d.Start != nil {
			start = *d.Start
		}
		out = append(out, operation{f, d, start})
	}
	slices.SortStableFunc(out, func(a, b operation) int { return a.start.Compare(b.start) })
	return out
}

// derive reads an enrolled encounter's facts under def.
func (e *Engine) derive(def *Definition, en enrolled, all []mapping.Event) derived {
	enc := en.Encounter
	d := derived{EnrolledAt: en.At, Reason: en.Reason, Admitted: en.Admission.At,
		Department: pathways.Department(all, enc), Anchors: map[string]time.Time{}}
	d.Anchors[AnchorAdmission] = en.Admission.At
	d.Anchors[AnchorOnset] = en.Admission.At
	if t, ok := onset(all, en.Diagnosis); ok {
		d.Anchors[AnchorOnset] = t
	}
	var dis mapping.DischargedData
	if f, ok := find(all, enc, mapping.KindDischarged); ok && pathways.Decode(f.Data, &dis) == nil {
		t := f.At
		d.Discharged = &t
		d.Anchors[AnchorDischarge] = t
	}
	facts := stayFacts(all, enc, d.Admitted, d.Discharged)

	// The surgery: the first of the pathway's operations, or the first operation when it
	// names none. Any later unplanned operation is a return to theatre.
	ops := operations(def, facts, enc)
	surgeon := ""
	first := -1
	for i, op := range ops {
		if len(def.Entry.Procedures) == 0 || matchAny(def.Entry.Procedures, op.data.Code) {
			first = i
			break
		}
	}
	if first >= 0 {
		d.Anchors[AnchorSurgery] = ops[first].start
		if ops[first].data.Surgeon != nil {
			surgeon = ops[first].data.Surgeon.Reference
		}
		for _, op := range ops[first+1:] {
			if op.data.Planned != nil && *op.data.Planned {
				continue
			}
			d.Events = append(d.Events, Variance{ID: varianceID(enc, op.ev.Key), Kind: VarianceReturnToTheatre, At: op.start,
				Reason: fmt.Sprintf("return to theatre: %s %s", op.data.Code.Code, cmpOr(op.data.Code.Display, op.data.Code.Text)),
				Source: "clinician", Direction: "negative", Controllable: true})
		}
	}

	for _, st := range def.Stages {
		ps := placedStage{ID: st.ID}
		if a, ok := d.Anchors[st.Anchor]; ok {
			ps.Start, ps.End = ptr(a.Add(st.From)), ptr(a.Add(st.To))
		}
		d.Stages = append(d.Stages, ps)
		for _, it := range st.Items {
			pi := placedItem{ID: it.ID}
			if a, ok := d.Anchors[st.Anchor]; ok {
				pi.From = ptr(a.Add(it.From))
				if it.Due != nil {
					pi.Due = ptr(a.Add(*it.Due))
				}
				if f, ok := firstEvidence(it, facts, *pi.From, surgeon); ok {
					pi.Evidence, pi.EvidenceAt = f.Resource, ptr(f.At)
				}
			}
			d.Items = append(d.Items, pi)
		}
	}

	// Unexpected events: ICU transfers and death.
	for _, f := range facts {
		if f.Kind != mapping.KindTransferred || f.Encounter != enc {
			continue
		}
		var t mapping.TransferredData
		if pathways.Decode(f.Data, &t) == nil && e.icu(t.To) {
			where := placementName(t.To)
			d.Events = append(d.Events, Variance{ID: varianceID(enc, f.Key), Kind: VarianceICUTransfer, At: f.At,
				Reason: "transfer to intensive care: " + where, Source: "patient", Direction: "negative"})
		}
	}
	death := time.Time{}
	if dis.Died && d.Discharged != nil {
		death = *d.Discharged
	}
	for _, f := range facts {
		if f.Kind == mapping.KindDied && (death.IsZero() || f.At.Before(death)) {
			death = f.At
		}
	}
	if !death.IsZero() {
		d.Died = true
		d.Events = append(d.Events, Variance{ID: varianceID(enc, "death"), Kind: VarianceDeath, At: death,
			Reason: "the patient died", Source: "patient", Direction: "negative"})
	}
	return d
}

// stayFacts are the encounter's facts, and the patient's facts that name no encounter but
// fall within the stay (a result or a death reported without the encounter).
func stayFacts(all []mapping.Event, enc string, admitted time.Time, discharged *time.Time) []mapping.Event {
	var out []mapping.Event
	for _, f := range all {
		switch {
		case f.Encounter == enc:
		case f.Encounter == "" && !f.At.Before(admitted) && (discharged == nil || !f.At.After(discharged.Add(time.Hour))):
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// firstEvidence is the earliest fact at or after from that completes item.
func firstEvidence(it Item, facts []mapping.Event, from time.Time, surgeon string) (mapping.Event, bool) {
	for _, f := range facts {
		if f.At.Before(from) {
			continue
		}
		for _, ev := range it.Evidence {
			if ev.matches(f, surgeon) {
				return f, true
			}
		}
	}
	return mapping.Event{}, false
}

// matches reports whether fact f is this evidence: its resource type, its code (standard or
// as received) or document kind, its status not withdrawn, and for a surgeon's document, the
// surgeon among its authors.
func (ev Evidence) matches(f mapping.Event, surgeon string) bool {
	if evidenceType(f) != ev.Resource {
		return false
	}
	var d struct {
		Code         mapping.Concept `json:"code"`
		Type         mapping.Concept `json:"type"`
		Status       string          `json:"status"`
		DocumentKind string          `json:"document_kind"`
		Authors      []mapping.Ref   `json:"authors"`
	}
	if pathways.Decode(f.Data, &d) != nil || slices.Contains(withdrawnStatuses, d.Status) {
		return false
	}
	concept := d.Code
	if f.Kind == mapping.KindDocumented {
		concept = d.Type
	}
	ok := (ev.Codes.System != "" && ev.Codes.match(concept)) ||
		(d.DocumentKind != "" && slices.Contains(ev.Documents, d.DocumentKind))
	if !ok {
		return false
	}
	if ev.BySurgeon {
		return surgeon != "" && slices.ContainsFunc(d.Authors, func(r mapping.Ref) bool { return r.Reference == surgeon })
	}
	return true
}

// evidenceType is the FHIR resource type a fact stands for: an Observation contained in a
// lab report counts as an Observation.
func evidenceType(f mapping.Event) string {
	typ, _, _ := strings.Cut(f.Resource, "/")
	if f.Kind == mapping.KindResult && strings.Contains(f.Key, "#result/") {
		return "Observation"
	}
	want, ok := evidenceKinds[typ]
	if !ok || (want != "" && want != f.Kind) {
		return ""
	}
	return typ
}

// icu reports whether a placement is intensive care under the configuration.
func (e *Engine) icu(p mapping.Placement) bool {
	if p.Department != nil && slices.Contains(e.cfg.ICUDepartments, p.Department.Code) {
		return true
	}
	for _, r := range []*mapping.Ref{p.Ward, p.Bed, p.Location} {
		if r == nil {
			continue
		}
		if slices.Contains(e.cfg.ICULocations, r.Reference) || (r.Identifier != nil && slices.Contains(e.cfg.ICULocations, r.Identifier.Code)) {
			return true
		}
	}
	return false
}

func placementName(p mapping.Placement) string {
	if p.Department != nil {
		return strings.TrimSpace(p.Department.Code + " " + p.Department.Display)
	}
	for _, r := range []*mapping.Ref{p.Ward, p.Bed, p.Location} {
		if r != nil {
			return cmpOr(r.Display, r.Reference)
		}
	}
	return "unknown location"
}

// varianceID is stable for one variance of one encounter.
func varianceID(enc, key string) string { return "v-" + shortHash(enc + "|" + key)[:12] }

func ptr[T any](v T) *T { return &v }
