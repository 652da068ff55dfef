package criticalvalue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// RecordBody is the JSON of a critical value: pathways.Record.Body, Notice.Data and what the
// REST API serves. Times are UTC; a time not reached yet is null.
type RecordBody struct {
	ID                string     `json:"id"`
	Status            string     `json:"status"`
	EscalationLevel   int        `json:"escalation_level"`
	EscalationTargets []string   `json:"escalation_targets,omitempty"` // of the last step fired
	Patient           string     `json:"patient"`
	Encounter         string     `json:"encounter,omitempty"`
	Result            string     `json:"result"` // "Observation/abc" or "DiagnosticReport/r"
	Kind              string     `json:"kind"`   // lab | imaging
	Setting           string     `json:"setting"`
	Source            string     `json:"source,omitempty"`
	Code              Code       `json:"code"`
	Value             string     `json:"value"`
	Unit              string     `json:"unit,omitempty"`
	Rule              string     `json:"rule"`   // what made it critical
	Config            string     `json:"config"` // the configuration id@version it was judged by
	ReleasedAt        time.Time  `json:"released_at"`
	DetectedAt        time.Time  `json:"detected_at"`
	NotifiedAt        *time.Time `json:"notified_at"`
	AcknowledgedAt    *time.Time `json:"acknowledged_at"`
	HandledAt         *time.Time `json:"handled_at"`
	ClosedAt          *time.Time `json:"closed_at"`
	RecalledAt        *time.Time `json:"recalled_at"`
	RecallReason      string     `json:"recall_reason,omitempty"`
	// Backfilled: history loaded long after its release, closed on arrival without
	// notification (config backfill_after); not counted in the loop's indicators.
	Backfilled       bool     `json:"backfilled,omitempty"`
	Department       string   `json:"department"`
	DepartmentName   string   `json:"department_name,omitempty"`
	DepartmentSystem string   `json:"department_system,omitempty"`
	Ward             string   `json:"ward,omitempty"`
	Attending        string   `json:"attending,omitempty"`
	Orderer          string   `json:"orderer,omitempty"`
	Receiver         string   `json:"receiver,omitempty"`
	ReadBack         string   `json:"read_back,omitempty"`
	Physician        string   `json:"physician,omitempty"`
	Action           string   `json:"action,omitempty"`
	Results          []Member `json:"results"`
	Events           []Event  `json:"events"`
}

// Code is a coding in a record.
type Code struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Event is one step of a record's chain.
type Event struct {
	Type   string    `json:"type"` // detected, notified, escalated, read-back-failed, acknowledged, handled, updated, recalled, unreachable, closed
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"` // "lujing" for what the core did
	Detail string    `json:"detail,omitempty"`
	Level  int       `json:"level,omitempty"`  // escalated
	Target []string  `json:"target,omitempty"` // notified, escalated
}

// SystemActor is the actor of the events the core itself makes.
const SystemActor = "lujing"

func ptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// rendered is the record's body as a struct.
func (e *Engine) rendered(r *rec) RecordBody {
	s := r.Snap
	b := RecordBody{ID: r.ID, Status: r.status(), EscalationLevel: r.Fired, Patient: s.Patient, Encounter: s.Route.Encounter,
		Result: s.Result, Kind: s.Kind, Setting: s.Route.Setting, Source: s.Source,
		Code:  Code{System: s.Code.System, Code: s.Code.Code, Display: s.Code.Display},
		Value: s.Value, Unit: s.Unit, Rule: s.Rule, Config: e.cfg.ID + "@" + e.cfg.Version,
		ReleasedAt: s.Released.UTC(), DetectedAt: r.DetectedAt.UTC(), NotifiedAt: ptr(r.NotifiedAt),
		Department: s.Route.Department.Code, DepartmentName: s.Route.Department.Display, DepartmentSystem: s.Route.Department.System,
		Ward: s.Route.Ward, Attending: s.Route.Attending, Orderer: s.Route.Orderer,
		Results: slices.Clone(s.Results)}
	if b.Results == nil {
		b.Results = []Member{}
	}
	if r.Fired > 0 && r.Fired <= len(e.cfg.Steps) {
		b.EscalationTargets = e.cfg.Steps[r.Fired-1].Targets
	}
	if a := r.last("acknowledged"); a != nil {
		b.AcknowledgedAt, b.Receiver, b.ReadBack = ptr(a.At), a.Receiver, a.ReadBack
	}
	if a := r.last("handled"); a != nil {
		b.HandledAt, b.Physician, b.Action = ptr(a.At), a.Physician, a.Action
	}
	if a := r.last("closed"); a != nil {
		b.ClosedAt = ptr(a.At)
	}
	if r.Recalled != nil {
		b.RecalledAt, b.RecallReason = ptr(r.Recalled.At), r.Recalled.Reason
	}
	b.Backfilled = r.Backfilled
	b.Events = e.events(r)
	return b
}

// body is the record's JSON.
func (e *Engine) body(r *rec) json.RawMessage { return encodeBody(e.rendered(r)) }

func encodeBody(b RecordBody) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<46" stays readable
	if err := enc.Encode(b); err != nil {
		panic(fmt.Sprintf("criticalvalue: encode record: %v", err)) // only strings, numbers and times
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// events is the record's chain: what the core did (derived from the state, so that a
// re-anchored record shows its chain from its new release time) and what people did, in
// the order it happened. A step fired late (a back-filled result) has its deadline as its
// time but comes after the detection that fired it.
func (e *Engine) events(r *rec) []Event {
	type ev struct {
		Event
		order time.Time // when it entered the record
		rank  int
	}
	var list []ev
	add := func(x Event, order time.Time, rank int) {
		x.At = x.At.UTC()
		list = append(list, ev{x, order, rank})
	}
	s := r.Snap
	add(Event{Type: "detected", At: r.DetectedAt, Actor: SystemActor,
		Detail: strings.TrimSpace(fmt.Sprintf("%s %s %s (%s), released %s", firstNonEmpty(s.Code.Display, s.Code.Code), s.Value, s.Unit, s.Rule, s.Released.UTC().Format(time.RFC3339)))},
		r.DetectedAt, 0)
	to := e.recipients(r, []string{TargetWard, TargetAttending})
	if !r.NotifiedAt.IsZero() {
		add(Event{Type: "notified", At: r.NotifiedAt, Actor: SystemActor, Detail: "to " + strings.Join(to, ", "), Target: []string{TargetWard, TargetAttending}}, r.NotifiedAt, 1)
	}
	for i := 0; i < r.Fired && i < len(e.cfg.Steps); i++ {
		st := e.cfg.Steps[i]
		at := s.Released.Add(st.After)
		detail := fmt.Sprintf("level %d, +%s: %s", i+1, st.After, strings.Join(e.recipients(r, st.Targets), ", "))
		if st.Note != "" {
			detail += " (" + st.Note + ")"
		}
		add(Event{Type: "escalated", At: at, Actor: SystemActor, Detail: detail, Level: i + 1, Target: st.Targets}, maxTime(at, r.NotifiedAt), 2)
	}
	if r.Unreachable {
		at := e.unreachableAt(r)
		add(Event{Type: "unreachable", At: at, Actor: SystemActor, Detail: "no acknowledgement after the last escalation step"}, maxTime(at, r.NotifiedAt), 3)
	}
	for _, u := range r.Updates {
		add(Event{Type: "updated", At: u.At, Actor: SystemActor, Detail: u.Detail}, maxTime(u.At, r.DetectedAt), 4)
	}
	for _, a := range r.Actions {
		detail := a.Detail
		switch a.Type {
		case "acknowledged":
			detail = fmt.Sprintf("receiver %s, read back %q", a.Receiver, a.ReadBack)
		case "handled":
			detail = fmt.Sprintf("physician %s: %s", a.Physician, a.Action)
		}
		add(Event{Type: a.Type, At: a.At, Actor: a.Actor, Detail: detail}, maxTime(a.At, r.DetectedAt), 5)
	}
	if r.Recalled != nil {
		add(Event{Type: "recalled", At: r.Recalled.At, Actor: SystemActor, Detail: r.Recalled.Reason}, r.Recalled.At, 6)
	}
	slices.SortStableFunc(list, func(a, b ev) int {
		if c := a.order.Compare(b.order); c != 0 {
			return c
		}
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return a.At.Compare(b.At)
	})
	out := make([]Event, len(list))
	for i, x := range list {
		out[i] = x.Event
	}
	return out
}

// recipients names the targets for the record: the ward/department and clinicians it has.
func (e *Engine) recipients(r *rec, targets []string) []string {
	rt := r.Snap.Route
	var out []string
	for _, t := range targets {
		name := ""
		switch t {
		case TargetWard:
			name = firstNonEmpty(rt.Ward, rt.Department.Display, rt.Department.Code)
		case TargetAttending:
			name = rt.Attending
		case TargetOrderer:
			name = rt.Orderer
		}
		if name != "" {
			out = append(out, t+" "+name)
		} else {
			out = append(out, t)
		}
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
