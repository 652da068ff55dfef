package criticalvalue

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// Triggers are the event kinds whose arrival can change a patient's critical values at once:
// a result or imaging report, or the withdrawal of one. (Routing reads the encounter as it was
// at the release, so a later transfer changes nothing.) The adapter runs the core at once on
// these; other events may wait for its next run.
var Triggers = []string{mapping.KindResult, mapping.KindImaging, mapping.KindCancelled}

// RecordKind is pathways.Record.Kind of a critical value.
const RecordKind = "critical-value"

// Notice names.
const (
	NoticeDetected     = "critical-value.detected"
	NoticeNotified     = "critical-value.notified"
	NoticeEscalated    = "critical-value.escalated"
	NoticeUpdated      = "critical-value.updated"
	NoticeRecalled     = "critical-value.recalled"
	NoticeUnreachable  = "critical-value.unreachable"
	NoticeAcknowledged = "critical-value.acknowledged"
	NoticeHandled      = "critical-value.handled"
	NoticeClosed       = "critical-value.closed"
)

// Engine is the critical-value core. It is pure and safe for concurrent use.
type Engine struct {
	cfg    *Config
	byCode map[string][]*Rule // "system|code" → rules
	memo   *memo
}

// New returns an Engine for cfg; nil means Default().
func New(cfg *Config) (*Engine, error) {
	if cfg == nil {
		var err error
		if cfg, err = Default(); err != nil {
			return nil, fmt.Errorf("criticalvalue: default config: %w", err)
		}
	}
	e := &Engine{cfg: cfg, byCode: map[string][]*Rule{}, memo: newMemo(100_000)}
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		for _, c := range r.Codes {
			e.byCode[c.System+"|"+c.Code] = append(e.byCode[c.System+"|"+c.Code], r)
		}
	}
	return e, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() *Config { return e.cfg }

// group is the critical results that make one record.
type group struct {
	id      string
	members []candidate
}

// recordID is stable and unique across patients: a hash of the patient and the Key of the
// record's first result.
func recordID(patient, key string) string {
	h := sha256.Sum256([]byte(patient + "\n" + key))
	return "cv-" + hex.EncodeToString(h[:8])
}

// group makes records of the critical results (in release order): one per patient, code and
// encounter, for the results released within the dedup window of the record's first. It
// depends only on the set of results, not on the order they arrived in.
func (e *Engine) group(patient string, cands []candidate) []*group {
	var out []*group
	open := map[string]*group{}
	for _, c := range cands {
		k := c.kind + "\x00" + c.code.System + "|" + c.code.Code + "\x00" + c.encounter
		if g := open[k]; g != nil && c.released.Sub(g.members[0].released) <= e.cfg.DedupWindow {
			g.members = append(g.members, c)
			continue
		}
		g := &group{id: recordID(patient, c.key), members: []candidate{c}}
		open[k] = g
		out = append(out, g)
	}
	return out
}

// Apply brings a patient's critical values up to date with the facts in force and the time.
// See the package documentation for the contract.
func (e *Engine) Apply(raw json.RawMessage, in pathways.Input) (pathways.Outcome, error) {
	st, err := decodeState(raw)
	if err != nil {
		return pathways.Outcome{}, err
	}
	if st.Patient == "" {
		st.Patient = in.Patient.Ref
	}
	now := in.Now.UTC()
	if now.Before(st.Now) {
		now = st.Now // time only moves forward: a late caller cannot unfire a step
	}
	prevNow := st.Now
	st.Now = now
	var notices []pathways.Notice
	emit := func(r *rec, name string, at time.Time) {
		notices = append(notices, e.notice(r, name, at))
	}

	cands, skips := e.detect(in)
	for i := range cands {
		cands[i].encounter = encounterOf(in.Facts, cands[i])
	}
	st.Skipped = skips
	groups := e.group(in.Patient.Ref, cands)
	ids := map[string]bool{}
	for _, g := range groups {
		ids[g.id] = true
	}
	claimed := map[*rec]bool{}
	for _, g := range groups {
		r := st.find(g.id)
		if r == nil || r.ID != g.id {
			r = e.adopt(st, g, ids, r)
		}
		isNew := r == nil
		if isNew {
			r = &rec{ID: g.id, DetectedAt: now}
			st.Records = append(st.Records, r)
		}
		claimed[r] = true
		r.Index = g.members[0].key
		r.Snap = e.snapshot(in, g)
		if isNew && e.cfg.BackfillAfter > 0 && now.Sub(r.Snap.Released) > e.cfg.BackfillAfter {
			r.Backfilled = true
			r.Actions = append(r.Actions, action{Type: "closed", At: now, Actor: "lujing",
				Detail: fmt.Sprintf("back-filled: reached Lujing more than %s after its release; recorded without notification", e.cfg.BackfillAfter)})
			isNew = false
		}
		if isNew {
			emit(r, NoticeDetected, now)
			// Notification is the delivery of this very outcome to the ward's live stream.
			r.NotifiedAt = now
			emit(r, NoticeNotified, now)
		}
		if r.Recalled != nil {
			// Restated after a recall (a newer version undoes the entered-in-error).
			r.Updates = append(r.Updates, update{Key: r.Index, At: now, Detail: "restated after recall: " + r.Recalled.Reason})
			r.Recalled = nil
			emit(r, NoticeUpdated, now)
		}
		for _, c := range g.members {
			if c.status != "corrected" && c.status != "amended" {
				continue
			}
			if slices.ContainsFunc(r.Updates, func(u update) bool { return u.Key == c.key && u.Version == c.fact.Version }) {
				continue
			}
			r.Updates = append(r.Updates, update{Key: c.key, Version: c.fact.Version, At: c.fact.At,
				Detail: fmt.Sprintf("%s %s: %s", c.status, c.result, strings.TrimSpace(c.value+" "+c.unit))})
			emit(r, NoticeUpdated, c.fact.At)
		}
	}
	for _, r := range st.Records {
		if claimed[r] || r.Recalled != nil {
			continue
		}
		r.Recalled = &recall{At: now, Reason: recallReason(in.Facts, r)}
		emit(r, NoticeRecalled, now)
	}
	notices = append(notices, e.advance(st, now)...)
	if len(notices) == 0 {
		// Nothing happened: keep the state as it was, time included, so that an Apply that
		// changes nothing leaves nothing to store (the adapter skips unchanged runs). The
		// floor on time only matters once something fired.
		st.Now = prevNow
		if same, err := st.encode(); err == nil && raw != nil && string(same) == string(raw) {
			return e.outcome(st, nil)
		}
		st.Now = now
	}
	return e.outcome(st, notices)
}

// adopt finds the record that group g continues under a new id: one whose first result is in
// g but no longer first (an earlier result was back-filled). Several such are merged. The
// record takes g's id and keeps its old ones as aliases, so actions sent to them still land.
func (e *Engine) adopt(st *state, g *group, ids map[string]bool, found *rec) *rec {
	var olds []*rec
	if found != nil {
		olds = append(olds, found)
	}
	for _, r := range st.Records {
		if r != found && !ids[r.ID] && slices.ContainsFunc(g.members, func(c candidate) bool { return c.key == r.Index }) {
			olds = append(olds, r)
		}
	}
	if len(olds) == 0 {
		return nil
	}
	slices.SortStableFunc(olds, func(a, b *rec) int { return a.DetectedAt.Compare(b.DetectedAt) })
	r := olds[0]
	for _, o := range olds[1:] {
		r.Aliases = append(r.Aliases, o.ID)
		r.Aliases = append(r.Aliases, o.Aliases...)
		r.Actions = append(r.Actions, o.Actions...)
		r.Updates = append(r.Updates, o.Updates...)
		r.Fired = max(r.Fired, o.Fired)
		r.Unreachable = r.Unreachable || o.Unreachable
		if !o.NotifiedAt.IsZero() && (r.NotifiedAt.IsZero() || o.NotifiedAt.Before(r.NotifiedAt)) {
			r.NotifiedAt = o.NotifiedAt
		}
		st.Records = slices.DeleteFunc(st.Records, func(x *rec) bool { return x == o })
	}
	slices.SortStableFunc(r.Actions, func(a, b action) int { return a.At.Compare(b.At) })
	if r.ID != g.id {
		r.Aliases = append(r.Aliases, r.ID)
		r.ID = g.id
	}
	return r
}

// snapshot derives a record's facts from its group.
func (e *Engine) snapshot(in pathways.Input, g *group) snapshot {
	c := g.members[0]
	s := snapshot{Patient: in.Patient.Ref, Result: c.result, Kind: c.kind, Source: c.source, Code: c.code,
		Value: c.value, Number: c.number, Unit: c.unit, Released: c.released, Rule: c.rule, Status: c.status,
		Route: e.route(in.Facts, c)}
	for _, m := range g.members {
		s.Results = append(s.Results, Member{Key: m.key, Result: m.result, Value: m.value, Unit: m.unit,
			Status: m.status, ReleasedAt: m.released, Rule: m.rule})
	}
	return s
}

// recallReason says why a record's first result no longer makes it a critical value.
func recallReason(facts []mapping.Event, r *rec) string {
	key, _, _ := strings.Cut(r.Index, "/component/")
	for _, f := range facts {
		if f.Key != key {
			continue
		}
		if f.Kind == mapping.KindCancelled {
			var d mapping.CancelledData
			_ = pathways.Decode(f.Data, &d)
			return firstNonEmpty(d.Reason, "withdrawn") + ": the result was withdrawn by its source"
		}
		var d struct {
			Status string         `json:"status"`
			Value  *mapping.Value `json:"value"`
		}
		_ = pathways.Decode(f.Data, &d)
		v, _, u := show(d.Value)
		switch d.Status {
		case "corrected", "amended", "final", "appended":
			return fmt.Sprintf("%s to %s: no longer a critical value", d.Status, strings.TrimSpace(v+" "+u))
		default:
			return fmt.Sprintf("status %s: no longer a released result", d.Status)
		}
	}
	return "the result is no longer stated by its source"
}

// advance fires what is due at now: escalation steps of records waiting for acknowledgement
// (each at its deadline, also when that passed long ago), then unreachable after the last
// step and the grace.
func (e *Engine) advance(st *state, now time.Time) []pathways.Notice {
	var out []pathways.Notice
	for _, r := range st.Records {
		if !r.waiting() {
			continue
		}
		for r.Fired < len(e.cfg.Steps) {
			at := r.Snap.Released.Add(e.cfg.Steps[r.Fired].After)
			if at.After(now) {
				break
			}
			r.Fired++
			out = append(out, e.notice(r, NoticeEscalated, at))
		}
		if at := e.unreachableAt(r); !r.Unreachable && r.Fired == len(e.cfg.Steps) && !at.After(now) {
			r.Unreachable = true
			out = append(out, e.notice(r, NoticeUnreachable, at))
		}
	}
	return out
}

func (e *Engine) unreachableAt(r *rec) time.Time {
	var last time.Duration
	if n := len(e.cfg.Steps); n > 0 {
		last = e.cfg.Steps[n-1].After
	}
	return r.Snap.Released.Add(last + e.cfg.UnreachableAfter)
}

// wake is the next deadline of the patient's records; zero when none.
func (e *Engine) wake(st *state) time.Time {
	var w time.Time
	for _, r := range st.Records {
		if !r.waiting() {
			continue
		}
		var next time.Time
		switch {
		case r.Fired < len(e.cfg.Steps):
			next = r.Snap.Released.Add(e.cfg.Steps[r.Fired].After)
		case !r.Unreachable:
			next = e.unreachableAt(r)
		default:
			continue
		}
		if w.IsZero() || next.Before(w) {
			w = next
		}
	}
	return w
}

// notice is a Notice about r with the record's JSON as it is now.
func (e *Engine) notice(r *rec, name string, at time.Time) pathways.Notice {
	return pathways.Notice{Name: name, Record: r.ID, Patient: r.Snap.Patient, Department: r.Snap.Route.Department.Code,
		At: at.UTC(), Data: e.body(r)}
}

// outcome encodes the state and projects the records.
func (e *Engine) outcome(st *state, notices []pathways.Notice) (pathways.Outcome, error) {
	raw, err := st.encode()
	if err != nil {
		return pathways.Outcome{}, err
	}
	out := pathways.Outcome{State: raw, Notices: notices, Wake: e.wake(st)}
	for _, r := range st.Records {
		b := e.rendered(r)
		out.Records = append(out.Records, pathways.Record{Kind: RecordKind, ID: r.ID, Patient: r.Snap.Patient,
			Encounter: r.Snap.Route.Encounter, Department: r.Snap.Route.Department.Code, Status: r.status(),
			Opened: r.Snap.Released, Closed: r.closedAt(), Body: encodeBody(b), Measures: e.Measures(b)})
	}
	slices.SortStableFunc(out.Records, func(a, b pathways.Record) int {
		if c := a.Opened.Compare(b.Opened); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Skipped returns what the local rules could not judge as of the last Apply of state: results
// with no unit, a unit that does not convert, an unknown age or sex. The adapter counts and
// logs them; flag-based detection of those results is not affected.
func Skipped(raw json.RawMessage) ([]Skip, error) {
	st, err := decodeState(raw)
	if err != nil {
		return nil, err
	}
	return st.Skipped, nil
}

// Aliases maps the earlier ids of the patient's records to their current ones. A record
// changes id only when a critical result released before its first arrives later (see the
// package documentation); the ids are kept out of the record's JSON so that the records do
// not depend on the arrival order. Acknowledge, Handle and Close accept an old id; the
// adapter can use this to answer a GET by an old id.
func Aliases(raw json.RawMessage) (map[string]string, error) {
	st, err := decodeState(raw)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range st.Records {
		for _, a := range r.Aliases {
			out[a] = r.ID
		}
	}
	return out, nil
}
