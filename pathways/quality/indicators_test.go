package quality

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// TestReadmission: day 31 counts and day 32 does not (the discharge day is day 1, in the
// hospital's zone); a planned readmission is in the denominator only; a death in hospital
// is excluded; the readmission stays count as discharges too.
//
//	p1 discharged 1 Mar 10:00, back 31 Mar 09:00 (day 31)            1/1
//	p2 discharged 1 Mar 10:00, back 1 Apr 00:30 (day 32)              0/1
//	p3 discharged, back on day 5 planned (EL), that stay discharged   0/2
//	p4 died in hospital                                                excluded
//	p5 discharged 1 Mar 10:00, back the same day 23:00 (day 1)        1/1
//
// readmission-31d = 2/5, 1 excluded.
func TestReadmission(t *testing.T) {
	p1 := newPatient("Patient/p1")
	p1.stay("e1", "GI", "2026-02-20 08:00", "2026-03-01 10:00", false)
	p1.stay("e2", "GI", "2026-03-31 09:00", "", false)
	p2 := newPatient("Patient/p2")
	p2.stay("e1", "GI", "2026-02-20 08:00", "2026-03-01 10:00", false)
	p2.stay("e2", "GI", "2026-04-01 00:30", "", false)
	p3 := newPatient("Patient/p3")
	p3.stay("e1", "GI", "2026-02-20 08:00", "2026-03-01 10:00", false)
	p3.plannedStay("e2", "GI", "2026-03-05 08:00", "2026-03-08 08:00")
	p4 := newPatient("Patient/p4")
	p4.stay("e1", "ICU", "2026-02-20 08:00", "2026-03-01 10:00", true)
	p5 := newPatient("Patient/p5")
	p5.stay("e1", "GI", "2026-02-20 08:00", "2026-03-01 10:00", false)
	p5.stay("e2", "GI", "2026-03-01 23:00", "", false)
	got, _ := run(t, New(nil, nil), p1, p2, p3, p4, p5)
	want(t, got, IndicatorReadmission, 2, 5, 1)
}

// TestReturnToTheatre: per operation; unplanned returns after the previous operation ended.
//
//	a  op2 exactly 48 h after op1's start, same stay          all 1, 48h 1, 31d 1
//	b  op2 49 h after, same stay                              all 1, 48h 0, 31d 1
//	c  op2 in a new stay on day 31 of op1                     all 1, 48h 0, 31d 1
//	d  op2 in a new stay on day 32                            0, 0, 0
//	e  op2 marked planned                                     0, 0, 0
//	f  op2 starts while op1 is still going (3 h, +2 h)        0, 0, 0
//
// 12 operations: return-to-theatre 3, within 48 h 1, within 31 days 3.
func TestReturnToTheatre(t *testing.T) {
	var ps []*patient
	mk := func(ref string, second op, newStay bool) {
		p := newPatient(ref)
		p.stay("e1", "GEN-SURG", "2026-03-01 07:00", "2026-03-10 10:00", false)
		p.operate(op{id: "op1", enc: "e1", code: "47.09", start: "2026-03-02 08:00", hours: 1, grade: 3})
		if newStay {
			p.stay("e2", "GEN-SURG", second.start[:10]+" 07:00", second.start[:10]+" 20:00", false)
			second.enc = "e2"
		} else {
			second.enc = "e1"
		}
		second.id = "op2"
		second.code = "54.11"
		p.operate(second)
		ps = append(ps, p)
	}
	mk("Patient/a", op{start: "2026-03-04 08:00", grade: 3}, false)
	mk("Patient/b", op{start: "2026-03-04 09:00", grade: 3}, false)
	mk("Patient/c", op{start: "2026-04-01 08:00"}, true) // day 31 from 2 Mar; a surgical category, no grade
	mk("Patient/d", op{start: "2026-04-02 08:00", grade: 2}, true)
	mk("Patient/e", op{start: "2026-03-03 08:00", grade: 3, planned: yes()}, false)
	f := newPatient("Patient/f")
	f.stay("e1", "GEN-SURG", "2026-03-01 07:00", "2026-03-10 10:00", false)
	f.operate(op{id: "op1", enc: "e1", code: "47.09", start: "2026-03-02 08:00", hours: 3, grade: 3})
	f.operate(op{id: "op2", enc: "e1", code: "54.11", start: "2026-03-02 10:00", grade: 3})
	ps = append(ps, f)
	got, _ := run(t, New(nil, nil), ps...)
	want(t, got, IndicatorReturn, 3, 12, 0)
	want(t, got, IndicatorReturn48h, 1, 12, 0)
	want(t, got, IndicatorReturn31d, 3, 12, 0)
}

// TestPostOp: surgical stays (with an operation) are the denominator; a listed condition
// arising after the first operation is the numerator.
//
//	s1 PE I26.9 as a discharge diagnosis, recorded after the operation     1
//	s2 DVT I80.2 on admission                                                0
//	s3 J96.0 recorded before the operation                                   0
//	s4 K35.8 (not listed) after                                              0
//	s5 I26.9 after admission, no operation                                   no row
//	s6 A41.9 with onset after the operation                                  1
//
// postop-acquired = 2/5.
func TestPostOp(t *testing.T) {
	mk := func(ref string, operate bool, d dx) *patient {
		p := newPatient(ref)
		p.stay("e1", "GEN-SURG", "2026-03-01 07:00", "2026-03-10 10:00", false)
		if operate {
			p.operate(op{id: "op1", enc: "e1", code: "45.73", start: "2026-03-02 08:00", hours: 3, grade: 4})
		}
		d.id, d.enc = "c1", "e1"
		p.diagnose(d)
		return p
	}
	ps := []*patient{
		mk("Patient/s1", true, dx{code: "I26.9", role: "discharge", at: "2026-03-10 10:00"}),
		mk("Patient/s2", true, dx{code: "I80.2", role: "admission", principal: true, at: "2026-03-01 08:00"}),
		mk("Patient/s3", true, dx{code: "J96.0", at: "2026-03-01 20:00"}),
		mk("Patient/s4", true, dx{code: "K35.8", at: "2026-03-05 20:00"}),
		mk("Patient/s5", false, dx{code: "I26.9", at: "2026-03-05 20:00"}),
		mk("Patient/s6", true, dx{code: "A41.9", at: "2026-03-01 09:00", onset: "2026-03-04 03:00"}),
	}
	got, _ := run(t, New(nil, nil), ps...)
	want(t, got, IndicatorPostOp, 2, 5, 0)
}

// TestGrade4MDT: an MDT document dated before the grade-four operation, at most 30 days
// before, counts; emergencies are excluded.
//
//	g1 MDT the day before              1
//	g2 MDT after the operation         0
//	g3 MDT 31 days before              0
//	g4 emergency                       excluded
//	g5 grade three                     no row
//	g6 MDT exactly 30 days before      1
//
// grade4-mdt = 2/4, 1 excluded.
func TestGrade4MDT(t *testing.T) {
	mk := func(ref string, grade int, urgency, mdtAt string) *patient {
		p := newPatient(ref)
		p.stay("e1", "GI", "2026-03-01 07:00", "2026-03-20 10:00", false)
		p.operate(op{id: "op1", enc: "e1", code: "45.73", start: "2026-03-05 08:00", hours: 4, grade: grade, urgency: urgency})
		if mdtAt != "" {
			p.document("mdt1", "e1", mapping.DocMDT, mdtAt)
		}
		return p
	}
	got, _ := run(t, New(nil, nil),
		mk("Patient/g1", 4, "", "2026-03-04 15:00"),
		mk("Patient/g2", 4, "", "2026-03-05 09:00"),
		mk("Patient/g3", 4, "", "2026-02-02 08:00"),
		mk("Patient/g4", 4, "emergency", ""),
		mk("Patient/g5", 3, "", "2026-03-04 15:00"),
		mk("Patient/g6", 4, "", "2026-02-03 08:00"),
	)
	want(t, got, IndicatorGrade4MDT, 2, 4, 1)
}

// TestSTEMI: eligible when arriving within 12 h of onset; reperfused within 12 h of onset.
//
//	t1 PCI exactly 12 h after onset                                 1
//	t2 PCI 12 h 1 min after                                         0
//	t3 onset unknown                                                excluded
//	t4 admitted 13 h after onset, but in the ED at 11 h; 99.10 at 11.5 h   1
//	t5 admitted 13 h after onset, no ED visit                       excluded
//	t6 NSTEMI I21.4                                                 no row
//
// stemi-reperfusion = 2/3, 2 excluded. The stroke rows: one I63 patient reperfused at
// 23 h, one not, one arriving at 25 h: 1/2, 1 excluded.
func TestReperfusion(t *testing.T) {
	mk := func(ref, code, onset, admit, ed, proc, procAt string) *patient {
		p := newPatient(ref)
		if ed != "" {
			p.emergency("ed1", ed)
		}
		p.stay("e1", "CARDIO", admit, "2026-03-10 10:00", false)
		p.diagnose(dx{id: "c1", enc: "e1", code: code, role: "admission", principal: true, at: admit, onset: onset})
		if proc != "" {
			p.operate(op{id: "op1", enc: "e1", code: proc, start: procAt, hours: 1, grade: 3})
		}
		return p
	}
	got, _ := run(t, New(nil, nil),
		mk("Patient/t1", "I21.0", "2026-03-01 08:00", "2026-03-01 10:00", "", "00.66", "2026-03-01 20:00"),
		mk("Patient/t2", "I21.1", "2026-03-01 08:00", "2026-03-01 10:00", "", "00.66", "2026-03-01 20:01"),
		mk("Patient/t3", "I21.2", "", "2026-03-01 10:00", "", "00.66", "2026-03-01 11:00"),
		mk("Patient/t4", "I21.3", "2026-03-01 08:00", "2026-03-01 21:00", "2026-03-01 19:00", "99.10", "2026-03-01 19:30"),
		mk("Patient/t5", "I21.0", "2026-03-01 08:00", "2026-03-01 21:00", "", "00.66", "2026-03-01 22:00"),
		mk("Patient/t6", "I21.4", "2026-03-01 08:00", "2026-03-01 10:00", "", "00.66", "2026-03-01 11:00"),
		mk("Patient/k1", "I63.9", "2026-03-01 08:00", "2026-03-01 10:00", "", "39.74", "2026-03-02 07:00"),
		mk("Patient/k2", "I63.4", "2026-03-01 08:00", "2026-03-01 10:00", "", "", ""),
		mk("Patient/k3", "I63.9", "2026-03-01 08:00", "2026-03-02 09:00", "", "99.10", "2026-03-02 10:00"),
	)
	want(t, got, IndicatorSTEMI, 2, 3, 2)
	want(t, got, IndicatorStroke, 1, 2, 1)
}

// TestAdverseEvents: discharges are the denominator; reports count at their date, near
// misses too unless configured out; a withdrawn report does not.
//
//	a1 discharged, a report during the stay                 den 1, num 1
//	a2 discharged, a near miss                              den 1, num 1 (0 without near misses)
//	a3 discharged, no report                                den 1
//	a4 a report with no encounter, outside any stay         num 1
//	a5 discharged, a report entered in error                den 1
//
// adverse-events-per-100 = 3 reports / 4 discharges.
func TestAdverseEvents(t *testing.T) {
	mk := func(ref string, discharged bool, enc, actuality string) *patient {
		p := newPatient(ref)
		if discharged {
			p.stay("e1", "ORTHO", "2026-03-01 07:00", "2026-03-10 10:00", false)
		}
		if actuality != "" {
			p.adverseEvent("ae1", enc, actuality, "2026-03-03 12:00")
		}
		return p
	}
	a5 := mk("Patient/a5", true, "e1", "actual")
	a5.cancel("AdverseEvent/ae1#adverse_event", "2026-03-04 12:00")
	ps := []*patient{mk("Patient/a1", true, "e1", "actual"), mk("Patient/a2", true, "", "potential"), mk("Patient/a3", true, "", ""),
		mk("Patient/a4", false, "", "actual"), a5}
	got, rows := run(t, New(nil, nil), ps...)
	want(t, got, IndicatorAdverseEvents, 3, 4, 0)
	for _, m := range rows {
		if m.Indicator == IndicatorAdverseEvents && m.Numerator == 1 && m.Subject == "Patient/a2" && (m.Department != "ORTHO" || m.Setting != "inpatient") {
			t.Errorf("a near miss during a stay without an encounter reference: %+v", m)
		}
	}
	cfg := Default()
	cfg.AdverseIncludePotential = false
	got, _ = run(t, New(cfg, nil), ps...)
	want(t, got, IndicatorAdverseEvents, 2, 4, 0)
}

// TestCodingAccuracy: the latest verdict of a discharged stay counts.
//
//	c1 correct   c2 incorrect   c3 incorrect, then correct   c4 no verdict   c5 not discharged
//
// coding-accuracy = 2/3.
func TestCodingAccuracy(t *testing.T) {
	mk := func(ref string, discharged bool, verdicts ...bool) *patient {
		p := newPatient(ref)
		discharge := ""
		if discharged {
			discharge = "2026-03-10 10:00"
		}
		p.stay("e1", "GI", "2026-03-01 07:00", discharge, false)
		for i, v := range verdicts {
			p.verdict("v"+string(rune('1'+i)), "e1", v, "2026-03-1"+string(rune('1'+i))+" 09:00")
		}
		return p
	}
	got, _ := run(t, New(nil, nil), mk("Patient/c1", true, true), mk("Patient/c2", true, false), mk("Patient/c3", true, false, true),
		mk("Patient/c4", true), mk("Patient/c5", false, true))
	want(t, got, IndicatorCodingAccuracy, 2, 3, 0)
}

// TestApplyOrderIndependent: the records are the same whatever the order facts arrived in,
// and applying twice changes nothing.
func TestApplyOrderIndependent(t *testing.T) {
	p := newPatient("Patient/x")
	p.stay("e1", "GI", "2026-03-01 07:00", "2026-03-10 10:00", false)
	p.operate(op{id: "op1", enc: "e1", code: "45.73", start: "2026-03-05 08:00", hours: 4, grade: 4})
	p.operate(op{id: "op2", enc: "e1", code: "54.11", start: "2026-03-06 08:00", grade: 3})
	p.document("mdt1", "e1", mapping.DocMDT, "2026-03-04 08:00")
	p.diagnose(dx{id: "c1", enc: "e1", code: "T81.4", at: "2026-03-07 08:00"})
	p.adverseEvent("ae1", "e1", "actual", "2026-03-07 09:00")
	p.stay("e2", "GI", "2026-03-20 07:00", "2026-03-22 10:00", false)
	e := New(nil, nil)
	first, err := e.Apply(nil, p.input())
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.Apply(first.State, p.input())
	if err != nil || !reflect.DeepEqual(first, again) {
		t.Fatalf("a second Apply differs: %v", err)
	}
	for i := range 20 {
		q := *p
		q.facts = append([]mapping.Event(nil), p.facts...)
		rand.New(rand.NewPCG(uint64(i), 7)).Shuffle(len(q.facts), func(a, b int) { q.facts[a], q.facts[b] = q.facts[b], q.facts[a] })
		out, err := e.Apply(nil, pathways.Input{Patient: pathways.Patient{Ref: p.ref}, Facts: pathways.InForce(q.facts), Now: p.input().Now})
		if err != nil || !reflect.DeepEqual(out.Records, first.Records) {
			t.Fatalf("shuffle %d: records differ (%v)", i, err)
		}
	}
	var b StayBody
	if err := json.Unmarshal(first.Records[0].Body, &b); err != nil || b.Kind != RecordKind || b.Encounter != "Encounter/e1" || len(b.Indicators) == 0 {
		t.Fatalf("body %s", first.Records[0].Body)
	}
	if len(first.Records) != 2 || first.Records[0].Status != "discharged" || first.Records[0].Kind != RecordKind || first.Wake != (first.Wake) {
		t.Fatalf("records %+v", first.Records)
	}
}
