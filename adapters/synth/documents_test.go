package synth

import (
	"slices"
	"testing"
	"time"
)

// TestDocuments checks the clinical documents of many stays: every kind appears, each is
// missing for a small share, surgeon rounds fall within 24 h of the operation, and documents
// stay inside the stay. (That documents changed no other resource is checked by the
// mapping package's stored stories: regenerated, they differ only by their documents.)
func TestDocuments(t *testing.T) {
	g := New(21, Options{})
	type counts struct{ stays, pre, post, handover, mdt, firstRound int }
	per := map[string]*counts{}
	for range 800 {
		s := g.Patient()
		c := per[s.Scenario]
		if c == nil {
			c = &counts{}
			per[s.Scenario] = c
		}
		var opStart, opEnd time.Time
		var grade int
		var surgeon string
		var docs []map[string]any
		for _, r := range s.Events {
			m := decode(t, r.JSON)
			switch r.Type {
			case "Procedure":
				if opStart.IsZero() {
					opStart = parseTime(t, str(m, "performedPeriod", "start"))
					opEnd = parseTime(t, str(m, "performedPeriod", "end"))
					if ext, ok := m["extension"].([]any); ok {
						grade = int(ext[0].(map[string]any)["valueInteger"].(float64))
					}
					surgeon = m["performer"].([]any)[0].(map[string]any)["actor"].(map[string]any)["reference"].(string)
				}
			case "DocumentReference":
				if r.Source != HIS || r.Time.Before(s.Admitted) || !r.Time.Before(s.Discharged) {
					t.Fatalf("%s from %s at %v, stay %v–%v", r.Ref(), r.Source, r.Time, s.Admitted, s.Discharged)
				}
				if d := parseTime(t, str(m, "date")); !d.Equal(r.Time) {
					t.Fatalf("%s dated %v, sent %v", r.Ref(), d, r.Time)
				}
				docs = append(docs, m)
			}
		}
		if s.Scenario == "readmission" || (s.Scenario != ColonCancer && s.Scenario != Appendicitis && s.Scenario != STEMI) {
			continue
		}
		c.stays++
		code := func(m map[string]any) string {
			return m["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
		}
		author := func(m map[string]any) string {
			return m["author"].([]any)[0].(map[string]any)["reference"].(string)
		}
		has := func(ok func(m map[string]any, at time.Time) bool) bool {
			return slices.ContainsFunc(docs, func(m map[string]any) bool { return ok(m, parseTime(t, str(m, "date"))) })
		}
		if has(func(m map[string]any, at time.Time) bool {
			return (code(m) == "102" || code(m) == "103") && at.Sub(s.Admitted) <= 48*time.Hour
		}) {
			c.firstRound++
		}
		if grade == 0 {
			continue
		}
		if has(func(m map[string]any, at time.Time) bool {
			return author(m) == surgeon && at.Before(opStart) && opStart.Sub(at) <= 24*time.Hour
		}) {
			c.pre++
		}
		if has(func(m map[string]any, at time.Time) bool {
			return author(m) == surgeon && at.After(opEnd) && at.Sub(opStart) <= 24*time.Hour
		}) {
			c.post++
		}
		if has(func(m map[string]any, at time.Time) bool {
			return code(m) == "201" && at.After(opEnd) && at.Sub(opStart) <= 24*time.Hour
		}) {
			c.handover++
		}
		if has(func(m map[string]any, at time.Time) bool { return code(m) == "301" && at.Before(opStart) }) {
			c.mdt++
		}
	}
	share := func(n, of int) float64 { return float64(n) / float64(max(of, 1)) }
	for _, k := range []string{ColonCancer, Appendicitis, STEMI} {
		t.Logf("%s: %+v", k, *per[k])
	}
	// The first round is checked on colon cancer only: elsewhere an emergency operation's
	// surgeon round usually comes within 48 h anyway.
	colon := per[ColonCancer]
	for name, n := range map[string]int{"first round": colon.firstRound, "pre-op round": colon.pre, "post-op round": colon.post, "handover": colon.handover, "MDT": colon.mdt} {
		if s := share(n, colon.stays); s < 0.75 || s == 1 {
			t.Errorf("colon cancer: %s in %.2f of stays, want most but not all", name, s)
		}
	}
	if a := per[Appendicitis]; share(a.pre, a.stays) < 0.75 || a.mdt != 0 || a.handover != 0 {
		t.Errorf("appendicitis: %+v (grade two and three: no handover, no MDT)", *a)
	}
}
