package criticalvalue

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// TestLoop walks one critical potassium through every status of the loop: detected and
// notified on arrival, a wrong read-back refused and recorded, acknowledged, acknowledged
// again (nothing new), handled and closed; a later Apply keeps it all.
func TestLoop(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	facts := append(ward(), potassium("k1", "6.80", t0).event())
	out := r.apply(input(t0.Add(mins(1)), facts...))
	if got := names(out.Notices); !slices.Equal(got, []string{NoticeDetected, NoticeNotified}) {
		t.Fatalf("notices %v", got)
	}
	if d := decode(t, out.Notices[0].Data); d.Status != StatusDetected || d.NotifiedAt != nil {
		t.Errorf("detected notice: status %s, notified_at %v", d.Status, d.NotifiedAt)
	}
	rec, b := r.only()
	if rec.Kind != RecordKind || rec.Status != StatusNotified || rec.Department != "GI-SURG" || !rec.Opened.Equal(t0) || !rec.Closed.IsZero() {
		t.Errorf("record %+v", rec)
	}
	if b.Result != "Observation/k1" || b.Value != "6.80" || b.Unit != "mmol/L" || b.Rule != "rule:potassium" ||
		b.Setting != Inpatient || b.Ward != "胃肠外科病区" || b.Attending != "朱医生" || b.Code.Code != "2823-3" ||
		!b.NotifiedAt.Equal(t0.Add(mins(1))) || !b.DetectedAt.Equal(t0.Add(mins(1))) || b.EscalationLevel != 0 {
		t.Errorf("body %+v", b)
	}
	if !out.Wake.Equal(t0.Add(mins(5))) {
		t.Errorf("wake %v, want release + 5 min", out.Wake)
	}
	for _, n := range out.Notices {
		if n.Record != rec.ID || n.Patient != patient || n.Department != "GI-SURG" {
			t.Errorf("notice %+v", n)
		}
	}

	// A wrong read-back: 422, and the attempt is in the events.
	bad, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.08"}, t0.Add(mins(2)))
	wantCode(t, err, pathways.EINVALID, "read_back")
	if bad.State == nil {
		t.Fatal("a failed read-back returned no state to store")
	}
	_, b = r.only()
	if b.Status != StatusNotified || !slices.Contains(eventTypes(b), "read-back-failed") {
		t.Errorf("after a wrong read-back: %s %v", b.Status, eventTypes(b))
	}
	// Missing fields.
	_, err = r.ack(rec.ID, nurse, AckRequest{ReadBack: "6.8"}, t0.Add(mins(2)))
	wantCode(t, err, pathways.EINVALID, "receiver")

	ack, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.8 mmol/l"}, t0.Add(mins(3)))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(ack.Notices); !slices.Equal(got, []string{NoticeAcknowledged}) {
		t.Errorf("ack notices %v", got)
	}
	if !ack.Wake.IsZero() {
		t.Errorf("wake %v after acknowledgement", ack.Wake)
	}
	again, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士李", ReadBack: "6.80"}, t0.Add(mins(4)))
	if err != nil || len(again.Notices) != 0 {
		t.Fatalf("second acknowledgement: %v, %v", err, names(again.Notices))
	}
	_, b = r.only()
	if n := count(b.Events, func(e Event) bool { return e.Type == "acknowledged" }); n != 1 || b.Receiver != "护士王" ||
		!b.AcknowledgedAt.Equal(t0.Add(mins(3))) || b.Status != StatusAcknowledged {
		t.Errorf("%d acknowledged events, receiver %s, at %v", n, b.Receiver, b.AcknowledgedAt)
	}

	h, err := r.handle(rec.ID, pathways.Actor{Name: "朱医生", Departments: []string{"GI-SURG"}}, HandleRequest{Physician: "朱医生", Action: "补钾后复查"}, t0.Add(mins(20)))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(h.Notices); !slices.Equal(got, []string{NoticeHandled, NoticeClosed}) {
		t.Errorf("handle notices %v", got)
	}
	rec, b = r.only()
	want := []string{"detected", "notified", "read-back-failed", "acknowledged", "handled", "closed"}
	if got := eventTypes(b); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if rec.Status != StatusClosed || !rec.Closed.Equal(t0.Add(mins(20))) || b.Physician != "朱医生" || b.Action != "补钾后复查" {
		t.Errorf("closed record %+v %+v", rec, b)
	}
	// Handling again the same way is a retry; otherwise a conflict.
	if _, err := r.handle(rec.ID, nurse, HandleRequest{Physician: "朱医生", Action: "补钾后复查"}, t0.Add(mins(21))); err != nil {
		t.Errorf("retried handle: %v", err)
	}
	_, err = r.handle(rec.ID, nurse, HandleRequest{Physician: "李医生", Action: "other"}, t0.Add(mins(21)))
	wantCode(t, err, pathways.ECONFLICT, "")

	// Human actions survive later Applies, which add nothing.
	before := r.out.Records[0].Body
	later := r.apply(input(t0.Add(2*time.Hour), facts...))
	if len(later.Notices) != 0 || !bytes.Equal(later.Records[0].Body, before) || !later.Wake.IsZero() {
		t.Errorf("a later Apply changed things: %v\n%s\n%s", names(later.Notices), before, later.Records[0].Body)
	}
}

// TestApplyIdempotent: the same input on the returned state gives the same records and no
// notices.
func TestApplyIdempotent(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	in := input(t0.Add(mins(12)), append(ward(), potassium("k1", "2.1", t0).event())...)
	first := r.apply(in)
	if len(first.Notices) != 4 { // detected, notified, escalated ×2
		t.Fatalf("notices %v", names(first.Notices))
	}
	second := r.apply(in)
	if len(second.Notices) != 0 || !recordsEqual(first.Records, second.Records) || !first.Wake.Equal(second.Wake) {
		t.Errorf("second Apply: %v", names(second.Notices))
	}
}

func recordsEqual(a, b []pathways.Record) bool {
	return slices.EqualFunc(a, b, func(x, y pathways.Record) bool {
		return x.ID == y.ID && x.Status == y.Status && bytes.Equal(x.Body, y.Body) && x.Department == y.Department &&
			x.Opened.Equal(y.Opened) && x.Closed.Equal(y.Closed) && x.Encounter == y.Encounter
	})
}

// TestEscalationChain runs the chain step by step at each Wake: level 1 (ward and attending)
// at +5, on-call at +10, department head at +20, medical affairs at +30, unreachable at +40;
// a late acknowledgement is still taken and stops nothing more.
func TestEscalationChain(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	facts := append(ward(), potassium("k1", "6.9", t0).event())
	out := r.apply(input(t0.Add(30*time.Second), facts...))
	type step struct {
		at      time.Duration
		name    string
		level   int
		targets []string
	}
	want := []step{
		{mins(5), NoticeEscalated, 1, []string{TargetWard, TargetAttending}},
		{mins(10), NoticeEscalated, 2, []string{TargetOnCall}},
		{mins(20), NoticeEscalated, 3, []string{TargetDepartmentHead}},
		{mins(30), NoticeEscalated, 4, []string{TargetMedicalAffairs}},
		{mins(40), NoticeUnreachable, 4, nil},
	}
	for i, w := range want {
		if !out.Wake.Equal(t0.Add(w.at)) {
			t.Fatalf("step %d: wake %v, want %v", i, out.Wake, t0.Add(w.at))
		}
		// A run just before the deadline does nothing.
		if early := r.apply(input(out.Wake.Add(-time.Second), facts...)); len(early.Notices) != 0 {
			t.Fatalf("step %d: early run noticed %v", i, names(early.Notices))
		}
		out = r.apply(input(out.Wake, facts...))
		if len(out.Notices) != 1 || out.Notices[0].Name != w.name || !out.Notices[0].At.Equal(t0.Add(w.at)) {
			t.Fatalf("step %d: notices %+v", i, out.Notices)
		}
		b := decode(t, out.Notices[0].Data)
		if b.EscalationLevel != w.level || (w.targets != nil && !slices.Equal(b.EscalationTargets, w.targets)) {
			t.Errorf("step %d: level %d targets %v", i, b.EscalationLevel, b.EscalationTargets)
		}
	}
	if !out.Wake.IsZero() {
		t.Errorf("wake %v after unreachable", out.Wake)
	}
	rec, b := r.only()
	if rec.Status != StatusUnreachable {
		t.Errorf("status %s", rec.Status)
	}
	esc := slices.DeleteFunc(slices.Clone(b.Events), func(e Event) bool { return e.Type != "escalated" })
	if len(esc) != 4 || esc[1].Level != 2 || !esc[1].At.Equal(t0.Add(mins(10))) || !strings.Contains(esc[0].Detail, "朱医生") {
		t.Errorf("escalated events %+v", esc)
	}
	if _, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "值班医生", ReadBack: "6.9"}, t0.Add(mins(50))); err != nil {
		t.Fatal(err)
	}
	if rec, _ := r.only(); rec.Status != StatusAcknowledged {
		t.Errorf("late acknowledgement: %s", rec.Status)
	}
}

// TestAcknowledgementStopsEscalation: acknowledged between steps 1 and 2, nothing more fires.
func TestAcknowledgementStopsEscalation(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	facts := append(ward(), potassium("k1", "6.9", t0).event())
	r.apply(input(t0, facts...))
	r.apply(input(t0.Add(mins(5)), facts...))
	rec, _ := r.only()
	if _, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.9"}, t0.Add(mins(7))); err != nil {
		t.Fatal(err)
	}
	out := r.apply(input(t0.Add(2*time.Hour), facts...))
	_, b := r.only()
	if len(out.Notices) != 0 || b.EscalationLevel != 1 || b.Status != StatusAcknowledged {
		t.Errorf("after acknowledgement: %v, level %d, %s", names(out.Notices), b.EscalationLevel, b.Status)
	}
}

// TestOverdueStepFiresBeforeAction: a timer the adapter ran late still fires, with its
// deadline, before the acknowledgement it precedes.
func TestOverdueStepFiresBeforeAction(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	r.apply(input(t0, append(ward(), potassium("k1", "6.9", t0).event())...))
	rec, _ := r.only()
	out, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.9"}, t0.Add(mins(6)))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(out.Notices); !slices.Equal(got, []string{NoticeEscalated, NoticeAcknowledged}) || !out.Notices[0].At.Equal(t0.Add(mins(5))) {
		t.Errorf("notices %v", got)
	}
}

// TestLateResult: a result released 25 minutes before it arrives fires the three steps
// already passed at once, each with its deadline, after its detection and notification.
func TestLateResult(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	out := r.apply(input(t0.Add(mins(25)), append(ward(), potassium("k1", "2.0", t0).event())...))
	want := []string{NoticeDetected, NoticeNotified, NoticeEscalated, NoticeEscalated, NoticeEscalated}
	if got := names(out.Notices); !slices.Equal(got, want) {
		t.Fatalf("notices %v, want %v", got, want)
	}
	for i, d := range []time.Duration{mins(25), mins(25), mins(5), mins(10), mins(20)} {
		if !out.Notices[i].At.Equal(t0.Add(d)) {
			t.Errorf("notice %d at %v, want %v", i, out.Notices[i].At, t0.Add(d))
		}
	}
	if !out.Wake.Equal(t0.Add(mins(30))) {
		t.Errorf("wake %v", out.Wake)
	}
	_, b := r.only()
	if got := eventTypes(b); !slices.Equal(got, []string{"detected", "notified", "escalated", "escalated", "escalated"}) {
		t.Errorf("events %v", got)
	}
}

// TestDedup: five critical potassium results within two hours are one record listing them,
// notified once; one the next day (past the 24 h window) is another. In any arrival order
// the records come out the same.
func TestDedup(t *testing.T) {
	var facts []mapping.Event
	for i, v := range []string{"6.5", "6.8", "7.0", "6.6", "6.4"} {
		facts = append(facts, potassium("k"+string(rune('1'+i)), v, t0.Add(time.Duration(i)*30*time.Minute)).event())
	}
	next := potassium("k9", "6.7", t0.Add(25*time.Hour)).event()
	now := t0.Add(26 * time.Hour)
	arrive := func(order []mapping.Event) *run {
		// All arrive at +26 h: late, but this test is about grouping, not back-fill.
		r := &run{t: t, e: engine(t, func(c *Config) { c.BackfillAfter = 0 })}
		seen := ward()
		for _, f := range order {
			seen = append(seen, f)
			r.apply(input(now, seen...))
		}
		return r
	}
	r := arrive(append(slices.Clone(facts), next))
	if len(r.out.Records) != 2 {
		t.Fatalf("%d records, want 2", len(r.out.Records))
	}
	b := decode(t, r.out.Records[0].Body)
	if len(b.Results) != 5 || b.Value != "6.5" || b.Result != "Observation/k1" || !b.ReleasedAt.Equal(t0) {
		t.Errorf("first record: %d results, value %s, result %s", len(b.Results), b.Value, b.Result)
	}
	if n := count(r.notices, func(n pathways.Notice) bool { return n.Name == NoticeNotified }); n != 2 {
		t.Errorf("%d notifications, want 2", n)
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	for i := range 5 {
		order := append(slices.Clone(facts), next)
		rnd.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		got := arrive(order)
		if !recordsEqual(r.out.Records, got.out.Records) {
			t.Errorf("order %d: records differ:\n%s\n%s", i, r.out.Records[0].Body, got.out.Records[0].Body)
		}
	}
}

// TestDedupEncounters: the same code in two encounters within the window is two records.
func TestDedupEncounters(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	a := potassium("k1", "6.5", t0)
	b := potassium("k2", "6.6", t0.Add(time.Hour))
	b.encounter = "Encounter/e2"
	r.apply(input(t0.Add(2*time.Hour), append(ward(), a.event(), b.event())...))
	if len(r.out.Records) != 2 {
		t.Errorf("%d records, want 2", len(r.out.Records))
	}
}

// TestBackfilledEarlierResult: a result released before the record's first arrives later; it
// becomes the first, the record takes its id and the old id still works.
func TestBackfilledEarlierResult(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	late := potassium("k2", "6.6", t0.Add(time.Hour))
	r.apply(input(t0.Add(time.Hour), append(ward(), late.event())...))
	old, _ := r.only()
	early := potassium("k1", "6.5", t0)
	out := r.apply(input(t0.Add(time.Hour), append(ward(), late.event(), early.event())...))
	rec, b := r.only()
	aliases, err := Aliases(r.state)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID == old.ID || aliases[old.ID] != rec.ID || b.Result != "Observation/k1" || len(b.Results) != 2 {
		t.Errorf("re-anchored: id %s (was %s), aliases %v, result %s", rec.ID, old.ID, aliases, b.Result)
	}
	if slices.Contains(names(out.Notices), NoticeDetected) || slices.Contains(names(out.Notices), NoticeRecalled) {
		t.Errorf("re-anchoring noticed %v", names(out.Notices))
	}
	if _, err := r.ack(old.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.5"}, t0.Add(2*time.Hour)); err != nil {
		t.Errorf("acknowledge by the old id: %v", err)
	}
}

// TestCorrection: a corrected result that is still critical updates the record; the
// read-back is of the corrected value.
func TestCorrection(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	v1 := potassium("k1", "6.8", t0)
	r.apply(input(t0.Add(mins(1)), append(ward(), v1.event())...))
	v2 := v1
	v2.value, v2.status, v2.version, v2.released = "7.4", "corrected", 2, t0.Add(mins(3))
	out := r.apply(input(t0.Add(mins(4)), append(ward(), v1.event(), v2.event())...))
	if got := names(out.Notices); !slices.Equal(got, []string{NoticeUpdated}) {
		t.Fatalf("notices %v", got)
	}
	rec, b := r.only()
	if b.Value != "7.4" || !slices.Contains(eventTypes(b), "updated") || rec.Status != StatusNotified {
		t.Errorf("after correction: value %s, events %v", b.Value, eventTypes(b))
	}
	_, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.8"}, t0.Add(mins(5)))
	wantCode(t, err, pathways.EINVALID, "read_back")
	if _, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "7.40"}, t0.Add(mins(5))); err != nil {
		t.Error(err)
	}
}

// TestRecall: a result entered in error recalls its record: the clinician is told, actions
// are refused with 409, the record is closed and out of the counts.
func TestRecall(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	v1 := potassium("k1", "6.8", t0)
	r.apply(input(t0.Add(mins(1)), append(ward(), v1.event())...))
	rec, _ := r.only()
	out := r.apply(input(t0.Add(mins(3)), append(ward(), v1.event(), cancelled("Observation/k1#result", t0, 2))...))
	if got := names(out.Notices); !slices.Equal(got, []string{NoticeRecalled}) || out.Notices[0].Department != "GI-SURG" {
		t.Fatalf("notices %v", got)
	}
	rec, b := r.only()
	if rec.Status != StatusRecalled || !rec.Closed.Equal(t0.Add(mins(3))) || !strings.Contains(b.RecallReason, "entered-in-error") || b.Value != "6.8" {
		t.Errorf("recalled: %+v %+v", rec, b)
	}
	if !out.Wake.IsZero() {
		t.Errorf("a recalled record wakes at %v", out.Wake)
	}
	_, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.8"}, t0.Add(mins(4)))
	wantCode(t, err, pathways.ECONFLICT, "")
	_, err = r.handle(rec.ID, nurse, HandleRequest{Physician: "朱医生", Action: "x"}, t0.Add(mins(4)))
	wantCode(t, err, pathways.ECONFLICT, "")
	m, err := r.e.Counts([]json.RawMessage{rec.Body}, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || m.All.Detected != 0 || m.All.RecalledExcluded != 1 {
		t.Errorf("counts %+v %v", m.All, err)
	}
}

// TestCorrectedNotCritical: a correction to a normal value recalls the record, saying so.
func TestCorrectedNotCritical(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	v1 := potassium("k1", "6.8", t0)
	r.apply(input(t0.Add(mins(1)), append(ward(), v1.event())...))
	v2 := v1
	v2.value, v2.status, v2.version = "4.5", "corrected", 2
	out := r.apply(input(t0.Add(mins(3)), append(ward(), v2.event())...))
	_, b := r.only()
	if got := names(out.Notices); !slices.Equal(got, []string{NoticeRecalled}) || b.Status != StatusRecalled ||
		!strings.Contains(b.RecallReason, "corrected to 4.5 mmol/L: no longer a critical value") {
		t.Errorf("notices %v, status %s, reason %q", got, b.Status, b.RecallReason)
	}
}

// TestRecallKeepsOthers: when the first result of a record is withdrawn, a later critical
// result of the group is a new record, notified afresh.
func TestRecallKeepsOthers(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	a, b := potassium("k1", "6.8", t0), potassium("k2", "6.9", t0.Add(time.Hour))
	r.apply(input(t0.Add(time.Hour), append(ward(), a.event(), b.event())...))
	out := r.apply(input(t0.Add(2*time.Hour), append(ward(), cancelled("Observation/k1#result", t0, 2), b.event())...))
	if len(out.Records) != 2 || !slices.Contains(names(out.Notices), NoticeRecalled) || !slices.Contains(names(out.Notices), NoticeNotified) {
		t.Errorf("%d records, notices %v", len(out.Records), names(out.Notices))
	}
}

// TestActionErrors: unknown id 404, another department 403, handle before acknowledge 409.
func TestActionErrors(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	r.apply(input(t0, append(ward(), potassium("k1", "6.8", t0).event())...))
	rec, _ := r.only()
	_, err := r.ack("cv-nope", nurse, AckRequest{Receiver: "x", ReadBack: "6.8"}, t0)
	wantCode(t, err, pathways.ENOTFOUND, "")
	cardio := pathways.Actor{Name: "护士张", Departments: []string{"CARDIO"}}
	_, err = r.ack(rec.ID, cardio, AckRequest{Receiver: "护士张", ReadBack: "6.8"}, t0)
	wantCode(t, err, pathways.EFORBIDDEN, "")
	_, err = r.handle(rec.ID, cardio, HandleRequest{Physician: "x", Action: "y"}, t0)
	wantCode(t, err, pathways.EFORBIDDEN, "")
	_, err = r.handle(rec.ID, nurse, HandleRequest{Physician: "朱医生", Action: "补钾"}, t0)
	wantCode(t, err, pathways.ECONFLICT, "")
	_, err = r.handle(rec.ID, nurse, HandleRequest{Action: "补钾"}, t0)
	wantCode(t, err, pathways.EINVALID, "physician")
	// Hospital-wide (no departments) may act.
	if _, err := r.ack(rec.ID, pathways.Actor{Name: "duty"}, AckRequest{Receiver: "值班护士", ReadBack: "6.8"}, t0); err != nil {
		t.Error(err)
	}
	_, err = r.e.Acknowledge(json.RawMessage(`{"v":99}`), rec.ID, nurse, AckRequest{}, t0)
	if err == nil || pathways.ErrorCode(err) != "" {
		t.Errorf("a state of another version: %v", err)
	}
}

// TestClose: with auto_close off, a handled record waits for Close.
func TestClose(t *testing.T) {
	r := &run{t: t, e: engine(t, func(c *Config) { c.AutoClose = false })}
	r.apply(input(t0, append(ward(), potassium("k1", "6.8", t0).event())...))
	rec, _ := r.only()
	_, err := r.e.Close(r.state, rec.ID, nurse, CloseRequest{}, t0)
	wantCode(t, err, pathways.ECONFLICT, "")
	if _, err := r.ack(rec.ID, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.8"}, t0.Add(mins(1))); err != nil {
		t.Fatal(err)
	}
	if _, err := r.handle(rec.ID, nurse, HandleRequest{Physician: "朱医生", Action: "补钾"}, t0.Add(mins(2))); err != nil {
		t.Fatal(err)
	}
	if rec, _ := r.only(); rec.Status != StatusHandled {
		t.Fatalf("status %s", rec.Status)
	}
	out, err := r.e.Close(r.state, rec.ID, nurse, CloseRequest{Note: "复查正常"}, t0.Add(mins(60)))
	if err != nil || !slices.Equal(names(out.Notices), []string{NoticeClosed}) {
		t.Fatalf("close: %v %v", err, names(out.Notices))
	}
	r.keep(out)
	if rec, _ := r.only(); rec.Status != StatusClosed || !rec.Closed.Equal(t0.Add(mins(60))) {
		t.Errorf("closed: %+v", rec)
	}
	again, err := r.e.Close(r.state, rec.ID, nurse, CloseRequest{}, t0.Add(mins(61)))
	if err != nil || len(again.Notices) != 0 {
		t.Errorf("close again: %v %v", err, names(again.Notices))
	}
}

// TestBackfill: a critical result that reaches Lujing more than backfill_after after its
// release is history being loaded: recorded closed, never notified nor escalated, and left
// out of the indicators; one just inside the limit fires its passed steps at once.
func TestBackfill(t *testing.T) {
	old := potassium("k1", "6.9", t0)
	r := &run{t: t, e: engine(t)}
	r.apply(input(t0.Add(25*time.Hour), append(ward(), old.event())...))
	if len(r.out.Records) != 1 || len(r.notices) != 0 || !r.out.Wake.IsZero() {
		t.Fatalf("back-filled value: %d records, notices %v, wake %v", len(r.out.Records), r.notices, r.out.Wake)
	}
	b := decode(t, r.out.Records[0].Body)
	if b.Status != StatusClosed || !b.Backfilled || b.NotifiedAt != nil || b.EscalationLevel != 0 {
		t.Fatalf("back-filled body: status %s backfilled %v notified %v level %d", b.Status, b.Backfilled, b.NotifiedAt, b.EscalationLevel)
	}
	m, err := r.e.Counts([]json.RawMessage{r.out.Records[0].Body}, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || m.All.Detected != 0 || m.All.BackfilledExcluded != 1 {
		t.Fatalf("counts of a back-filled value: %+v %v", m.All, err)
	}
	// The same result 23 h late: the loop runs, every step already passed fires at once.
	r2 := &run{t: t, e: engine(t)}
	r2.apply(input(t0.Add(23*time.Hour), append(ward(), old.event())...))
	b = decode(t, r2.out.Records[0].Body)
	if b.Backfilled || b.Status != StatusUnreachable || b.EscalationLevel != 4 {
		t.Fatalf("a late value inside the limit: status %s level %d backfilled %v", b.Status, b.EscalationLevel, b.Backfilled)
	}
	// Off: the old value runs the loop too.
	r3 := &run{t: t, e: engine(t, func(c *Config) { c.BackfillAfter = 0 })}
	r3.apply(input(t0.Add(25*time.Hour), append(ward(), old.event())...))
	if b := decode(t, r3.out.Records[0].Body); b.Backfilled || b.NotifiedAt == nil {
		t.Fatalf("backfill_after 0: %+v", b)
	}
}
