package followup_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/followup"
)

var clinician = pathways.Actor{Name: "随访护士 李", Role: "clinician"}

func record(t *testing.T, e *followup.Engine, state json.RawMessage, id string, req followup.RecordRequest, now string) pathways.Outcome {
	t.Helper()
	out, err := e.Record(state, id, clinician, req, at(now))
	if err != nil {
		t.Fatalf("record %s: %v", id, err)
	}
	return out
}

func alive() *followup.Outcome { return &followup.Outcome{Status: "alive"} }

// A readmission re-plans: contacts due after the new admission wait for its discharge and are
// then planned from it; the contact already done stays done.
func TestReplanOnReadmission(t *testing.T) {
	e := followup.New(nil)
	out := apply(t, e, nil, input(at("2026-03-18 09:00"), grade4Stay()...))
	cs := contacts(t, out)
	d7 := cs[0].ID
	out = record(t, e, out.State, d7, followup.RecordRequest{Reached: ptr(true), Method: "phone", Outcome: alive()}, "2026-03-18 10:00")
	facts := append(grade4Stay(), admit("Encounter/e2", at("2026-03-25 20:00"), "EM"))
	// In hospital again: the day-30, 90 and 365 contacts wait.
	out = apply(t, e, out.State, input(at("2026-03-26 09:00"), facts...))
	if !slices.Contains(noticeNames(out), followup.NoticeFinding) {
		t.Errorf("no finding notice on the readmission: %v", noticeNames(out))
	}
	cs = contacts(t, out)
	if len(cs) != 1 || cs[0].ID != d7 || cs[0].Status != followup.StatusDone {
		t.Fatalf("while readmitted: %v %v", dueDates(cs), statuses(cs))
	}
	// Discharged on 2 April: re-anchored there.
	facts = append(facts, discharge("Encounter/e2", at("2026-03-25 20:00"), at("2026-04-02 10:00"), false))
	out = apply(t, e, out.State, input(at("2026-04-02 12:00"), facts...))
	cs = contacts(t, out)
	if got := dueDates(cs); !slices.Equal(got, []string{"2026-03-19", "2026-05-02", "2026-07-01", "2027-04-02"}) {
		t.Fatalf("re-planned %v", got)
	}
	if cs[0].Status != followup.StatusDone || cs[1].Encounter != "Encounter/e2" || cs[1].Status != followup.StatusScheduled {
		t.Errorf("statuses %v, encounters %s %s", statuses(cs), cs[0].Encounter, cs[1].Encounter)
	}
	if !slices.Equal(cs[1].PlannedAs, []string{"grade4-surgery/d30"}) {
		t.Errorf("re-planned contact stands for %v", cs[1].PlannedAs)
	}
	// The readmission is a finding of the index stay, shown on the next open contact.
	if len(cs[1].Findings) != 1 || cs[1].Findings[0].Kind != followup.FindingReadmission || cs[1].Findings[0].Index != "Encounter/e1" ||
		cs[1].Findings[0].Day != 14 || cs[1].Findings[0].Split != "2-15" || cs[1].Findings[0].Planned {
		t.Errorf("findings on the next contact: %+v", cs[1].Findings)
	}
	ss := stays(t, out)
	if len(ss) != 2 || ss[1].Encounter != "Encounter/e2" || ss[1].Status != followup.StatusEligible ||
		ss[1].Eligibility.Reasons[0].CarriedFrom != "Encounter/e1" {
		t.Errorf("stays %+v", ss)
	}
	if slices.Contains(noticeNames(out), followup.NoticeFinding) {
		t.Errorf("the finding is notified twice: %v", noticeNames(out))
	}
	// A new grade-four operation at the readmission plans a whole new schedule from it.
	facts = append(facts, operated("op2", "Encounter/e2", at("2026-03-27 09:00"), "45.73", 4, ptr(true)))
	out = apply(t, e, out.State, input(at("2026-04-02 12:00"), facts...))
	cs = contacts(t, out)
	if got := dueDates(cs); !slices.Equal(got, []string{"2026-03-19", "2026-04-09", "2026-05-02", "2026-07-01", "2027-04-02"}) {
		t.Errorf("after a new operation %v", got)
	}
}

// Death cancels every open contact, from each of its three sources; done contacts stay done.
func TestDeath(t *testing.T) {
	e := followup.New(nil)
	tests := []struct {
		name   string
		facts  []mapping.Event
		record bool // the death is recorded at the day-30 contact
		reason string
	}{
		{"Patient.deceased", append(grade4Stay(), died(at("2026-04-20 03:00"))), false, "Patient.deceased"},
		{"died in a later stay", append(grade4Stay(), admit("Encounter/e2", at("2026-04-15 10:00"), "EM"),
			discharge("Encounter/e2", at("2026-04-15 10:00"), at("2026-04-20 03:00"), true)), false, "died in hospital, Encounter/e2"},
		{"recorded at follow-up", grade4Stay(), true, "recorded at follow-up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := apply(t, e, nil, input(at("2026-03-18 09:00"), grade4Stay()...))
			d7 := contacts(t, out)[0].ID
			out = record(t, e, out.State, d7, followup.RecordRequest{Reached: ptr(true), Outcome: alive()}, "2026-03-18 10:00")
			out = apply(t, e, out.State, input(at("2026-04-21 09:00"), tt.facts...))
			if tt.record {
				d30 := contacts(t, out)[1].ID
				out = record(t, e, out.State, d30, followup.RecordRequest{Reached: ptr(true), By: "王医生",
					Outcome: &followup.Outcome{Status: "died", DiedOn: "2026-04-20", Note: "家属告知"}}, "2026-04-21 10:00")
			}
			cs := contacts(t, out)
			want := []string{followup.StatusDone, followup.StatusCancelled, followup.StatusCancelled, followup.StatusCancelled}
			if tt.record {
				want[1] = followup.StatusDone
			}
			if got := statuses(cs); !slices.Equal(got, want) {
				t.Fatalf("statuses %v, want %v", got, want)
			}
			last := cs[len(cs)-1]
			if !strings.Contains(last.StatusReason, tt.reason) || last.ClosedAt == nil || !last.ClosedAt.Before(at("2026-04-21 00:00")) {
				t.Errorf("cancelled: %q closed %v", last.StatusReason, last.ClosedAt)
			}
			if out.Wake.IsZero() == false {
				t.Errorf("wake %v after death", out.Wake)
			}
			if _, err := e.Record(out.State, last.ID, clinician, followup.RecordRequest{Reached: ptr(false)}, at("2026-04-22 09:00")); pathways.ErrorCode(err) != pathways.ECONFLICT {
				t.Errorf("recording on a cancelled contact: %v", err)
			}
		})
	}
}

// A discharge long past when its data arrives: every passed contact is due or overdue at once,
// with notices dated at their deadlines, none skipped.
func TestBackfill(t *testing.T) {
	e := followup.New(nil)
	now := at("2026-06-01 09:00")
	out := apply(t, e, nil, input(now, grade4Stay()...))
	cs := contacts(t, out)
	if got := statuses(cs); !slices.Equal(got, []string{"overdue", "overdue", "due", "scheduled"}) {
		t.Fatalf("statuses %v", got)
	}
	want := []struct {
		name, at string
	}{
		{followup.NoticeDue, "2026-03-16 00:00"}, {followup.NoticeOverdue, "2026-03-23 00:00"},
		{followup.NoticeDue, "2026-04-08 00:00"}, {followup.NoticeOverdue, "2026-04-15 00:00"},
		{followup.NoticeDue, "2026-05-27 00:00"},
	}
	if len(out.Notices) != len(want) {
		t.Fatalf("notices %v", noticeNames(out))
	}
	for i, n := range out.Notices {
		if n.Name != want[i].name || !n.At.Equal(at(want[i].at)) || n.Department != "GI-SURG" || n.Patient != patient || len(n.Data) == 0 {
			t.Errorf("notice %d: %s at %v, want %s at %s", i, n.Name, n.At, want[i].name, want[i].at)
		}
	}
	if !out.Wake.Equal(at("2026-06-25 00:00")) {
		t.Errorf("wake %v, want the end of the day-90 window", out.Wake)
	}
	// Idempotent: the same input again changes no record and publishes nothing.
	again := apply(t, e, out.State, input(now, grade4Stay()...))
	if len(again.Notices) != 0 || !sameRecords(out.Records, again.Records) {
		t.Errorf("re-apply: %v notices, records equal %v", noticeNames(again), sameRecords(out.Records, again.Records))
	}
}

func sameRecords(a, b []pathways.Record) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// Three failed attempts: missed, and the patient lost to follow-up until a later contact is done.
func TestMissedAfterThree(t *testing.T) {
	e := followup.New(nil)
	out := apply(t, e, nil, input(at("2026-03-17 09:00"), grade4Stay()...))
	d7 := contacts(t, out)[0].ID
	for i, when := range []string{"2026-03-17 10:00", "2026-03-18 10:00", "2026-03-19 10:00"} {
		out = record(t, e, out.State, d7, followup.RecordRequest{Reached: ptr(false), Note: "无人接听"}, when)
		c := contacts(t, out)[0]
		if len(c.Attempts) != i+1 || c.Attempts[i].By != clinician.Name || c.Attempts[i].Method != "phone" || c.Attempts[i].Note != "无人接听" {
			t.Fatalf("attempt %d: %+v", i, c.Attempts)
		}
		wantStatus := followup.StatusDue
		if i == 2 {
			wantStatus = followup.StatusMissed
		}
		if c.Status != wantStatus || c.LostToFollowUp != (i == 2) {
			t.Fatalf("after %d attempts: %s lost %v", i+1, c.Status, c.LostToFollowUp)
		}
	}
	if got := noticeNames(out); !slices.Equal(got, []string{followup.NoticeMissed, followup.NoticeRecorded}) && !slices.Equal(got, []string{followup.NoticeRecorded, followup.NoticeMissed}) {
		t.Errorf("notices on the third attempt %v", got)
	}
	if _, err := e.Record(out.State, d7, clinician, followup.RecordRequest{Reached: ptr(false)}, at("2026-03-20 10:00")); pathways.ErrorCode(err) != pathways.ECONFLICT {
		t.Errorf("a fourth failed attempt: %v", err)
	}
	ss := stays(t, out)
	if !ss[0].LostToFollowUp {
		t.Error("the stay does not say lost to follow-up")
	}
	// Reached at day 30: no longer lost.
	out = apply(t, e, out.State, input(at("2026-04-10 09:00"), grade4Stay()...))
	d30 := contacts(t, out)[1].ID
	out = record(t, e, out.State, d30, followup.RecordRequest{Reached: ptr(true), Outcome: alive()}, "2026-04-10 10:00")
	if cs := contacts(t, out); cs[0].Status != followup.StatusMissed || cs[1].Status != followup.StatusDone || cs[1].LostToFollowUp {
		t.Errorf("after a later reach: %v lost %v", statuses(cs), cs[1].LostToFollowUp)
	}
}

func TestReadmissionWindow(t *testing.T) {
	// Discharged 12 March 10:00 (day 1). Day N is 12 March + N-1 in the hospital's zone.
	tests := []struct {
		name     string
		admitted string
		priority string
		day      int
		split    string // "" for no finding
		planned  bool
	}{
		{"same day", "2026-03-12 22:00", "EM", 1, "same-day", false},
		{"next day just after midnight is day 2", "2026-03-13 00:05", "", 2, "2-15", false},
		{"day 15", "2026-03-26 09:00", "", 15, "2-15", false},
		{"day 16", "2026-03-27 09:00", "", 16, "16-31", false},
		{"day 31 counts", "2026-04-11 23:50", "", 31, "16-31", false},
		{"day 32 does not", "2026-04-12 00:10", "", 0, "", false},
		{"planned (elective) readmission", "2026-03-20 09:00", "EL", 9, "2-15", true},
	}
	e := followup.New(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := append(grade4Stay(), admit("Encounter/e2", at(tt.admitted), tt.priority))
			out := apply(t, e, nil, input(at("2026-04-20 09:00"), facts...))
			var got []followup.Finding
			for _, s := range stays(t, out) {
				if s.Encounter == "Encounter/e1" {
					got = s.Findings
				}
			}
			if tt.split == "" {
				if len(got) != 0 {
					t.Errorf("finding %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Day != tt.day || got[0].Split != tt.split || got[0].Planned != tt.planned || got[0].Evidence != "Encounter/e2" {
				t.Errorf("findings %+v", got)
			}
		})
	}
}

func TestReturnToTheatre(t *testing.T) {
	// The index operation starts 5 March 08:40 and ends at 11:40.
	index := func() mapping.Event {
		ev := operated("op1", "Encounter/e1", operatedAt, "45.73", 4, ptr(true))
		var d mapping.OperatedData
		_ = json.Unmarshal(ev.Data, &d)
		end := operatedAt.Add(3 * 60 * 60 * 1e9)
		d.End = &end
		ev.Data, _ = json.Marshal(d)
		return ev
	}
	readmitted := func(when string) []mapping.Event {
		return []mapping.Event{admit("Encounter/e2", at(when), "EM")}
	}
	tests := []struct {
		name   string
		extra  []mapping.Event
		found  bool
		within bool
		day    int
	}{
		{"48 h after the start", []mapping.Event{operated("op2", "Encounter/e1", at("2026-03-07 08:40"), "54.11", 3, nil)}, true, true, 3},
		{"49 h after the start", []mapping.Event{operated("op2", "Encounter/e1", at("2026-03-07 09:40"), "54.11", 3, nil)}, true, false, 3},
		{"same admission, any day", []mapping.Event{operated("op2", "Encounter/e1", at("2026-04-20 09:00"), "54.11", 3, ptr(false))}, true, false, 47},
		{"planned operations are not returns", []mapping.Event{operated("op2", "Encounter/e1", at("2026-03-06 09:00"), "54.11", 3, ptr(true))}, false, false, 0},
		{"during the index operation (another code of it)", []mapping.Event{operated("op2", "Encounter/e1", at("2026-03-05 10:00"), "40.3", 3, nil)}, false, false, 0},
		{"not an operation (no grade, not surgical)", []mapping.Event{operated("op2", "Encounter/e1", at("2026-03-06 09:00"), "99.04", 0, nil)}, false, false, 0},
		{"day 31 in another admission", append(readmitted("2026-04-04 08:00"), operated("op2", "Encounter/e2", at("2026-04-04 23:00"), "54.11", 3, nil)), true, false, 31},
		{"day 32 in another admission", append(readmitted("2026-04-04 08:00"), operated("op2", "Encounter/e2", at("2026-04-05 00:30"), "54.11", 3, nil)), false, false, 0},
	}
	e := followup.New(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := append(stay("Encounter/e1", admitAt, dischargeAt), index())
			facts = append(facts, tt.extra...)
			out := apply(t, e, nil, input(at("2026-05-01 09:00"), facts...))
			var got []followup.Finding
			for _, s := range stays(t, out) {
				if s.Encounter == "Encounter/e1" {
					for _, f := range s.Findings {
						if f.Kind == followup.FindingReturnToTheatre {
							got = append(got, f)
						}
					}
				}
			}
			if !tt.found {
				if len(got) != 0 {
					t.Errorf("finding %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].WithinHours != tt.within || got[0].Day != tt.day || got[0].Evidence != "Procedure/op2" || got[0].Planned {
				t.Errorf("findings %+v", got)
			}
		})
	}
}

func TestEligibility(t *testing.T) {
	tests := []struct {
		name    string
		facts   []mapping.Event
		status  string
		reasons []string
		detail  string // in a reason or not-eligible reason
	}{
		{"ungraded procedure is not guessed", append(stay("Encounter/e1", admitAt, dischargeAt), operated("op1", "Encounter/e1", operatedAt, "45.73", 0, nil)),
			followup.StatusNotEligible, []string{}, "procedure 45.73 has no surgery grade"},
		{"grade three", append(stay("Encounter/e1", admitAt, dischargeAt), operated("op1", "Encounter/e1", operatedAt, "47.09", 3, nil)),
			followup.StatusNotEligible, []string{}, "procedure 47.09 is grade 3"},
		{"grade four", grade4Stay(), followup.StatusEligible, []string{followup.ReasonGrade4}, "procedure 45.73 is grade 4 (sent on the Procedure)"},
		{"Chinese clinical edition code", tumourStay(), followup.StatusEligible, []string{followup.ReasonTumour}, "diagnosis C18.200x001 is a malignant tumour"},
		{"C97 is the last", append(stay("Encounter/e1", admitAt, dischargeAt), diagnosed("c1", "Encounter/e1", admitAt, "C97")),
			followup.StatusEligible, []string{followup.ReasonTumour}, "C97"},
		{"D-codes are not malignant", append(stay("Encounter/e1", admitAt, dischargeAt), diagnosed("c1", "Encounter/e1", admitAt, "D12.2")),
			followup.StatusNotEligible, []string{}, "no malignant-tumour diagnosis"},
		{"a diagnosis not in ICD-10 says so", append(stay("Encounter/e1", admitAt, dischargeAt), event(mapping.KindDiagnosed, "Condition/c1#diagnosed", "Encounter/e1", admitAt,
			mapping.DiagnosedData{Code: mapping.Concept{System: "http://snomed.info/sct", Code: "363406005"}})),
			followup.StatusNotEligible, []string{}, "diagnosis 363406005 is not coded in ICD-10"},
		{"died in hospital", append(grade4Stay()[:1], operated("op1", "Encounter/e1", operatedAt, "45.73", 4, nil), discharge("Encounter/e1", admitAt, dischargeAt, true)),
			followup.StatusNotEligible, []string{}, "died in hospital"},
	}
	e := followup.New(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := apply(t, e, nil, input(before, tt.facts...))
			ss := stays(t, out)
			if len(ss) != 1 {
				t.Fatalf("%d stays", len(ss))
			}
			s := ss[0]
			if s.Status != tt.status || !slices.Equal(s.Reasons, tt.reasons) {
				t.Errorf("status %s reasons %v", s.Status, s.Reasons)
			}
			b, _ := json.Marshal(s.Eligibility)
			if !strings.Contains(string(b), tt.detail) {
				t.Errorf("eligibility %s does not say %q", b, tt.detail)
			}
			if (len(contacts(t, out)) > 0) != (tt.status == followup.StatusEligible) {
				t.Errorf("%d contacts", len(contacts(t, out)))
			}
			views, err := e.Eligibility(out.State, before)
			if err != nil || len(views) != 1 || views[0].Status != s.Status || views[0].ID != s.ID {
				t.Errorf("Eligibility(): %+v %v", views, err)
			}
		})
	}
}

func TestRestrictedTechnology(t *testing.T) {
	y := strings.Replace(string(defaultYAML(t)), "restricted_technologies: []",
		"restricted_technologies:\n  - {system: http://hl7.org/fhir/sid/icd-9-cm, code: \"00.66\"}", 1)
	cfg, err := followup.Parse("f.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	facts := append(stay("Encounter/e1", admitAt, dischargeAt), operated("op1", "Encounter/e1", operatedAt, "00.66", 2, nil))
	ss := stays(t, apply(t, followup.New(cfg), nil, input(before, facts...)))
	if ss[0].Status != followup.StatusEligible || !strings.Contains(ss[0].Eligibility.Reasons[0].Detail, "restricted technology") {
		t.Errorf("%+v", ss[0].Eligibility)
	}
}

func TestRecordErrors(t *testing.T) {
	e := followup.New(nil)
	base := apply(t, e, nil, input(at("2026-03-17 09:00"), grade4Stay()...))
	d7 := contacts(t, base)[0].ID
	tests := []struct {
		name  string
		id    string
		by    pathways.Actor
		req   followup.RecordRequest
		code  string
		field string
	}{
		{"unknown contact", "fu-nope", clinician, followup.RecordRequest{Reached: ptr(false)}, pathways.ENOTFOUND, ""},
		{"other department", d7, pathways.Actor{Name: "x", Departments: []string{"CARDIO"}}, followup.RecordRequest{Reached: ptr(false)}, pathways.EFORBIDDEN, ""},
		{"reached missing", d7, clinician, followup.RecordRequest{}, pathways.EINVALID, "reached"},
		{"bad method", d7, clinician, followup.RecordRequest{Reached: ptr(false), Method: "fax"}, pathways.EINVALID, "method"},
		{"reached without outcome", d7, clinician, followup.RecordRequest{Reached: ptr(true)}, pathways.EINVALID, "outcome"},
		{"outcome when not reached", d7, clinician, followup.RecordRequest{Reached: ptr(false), Outcome: alive()}, pathways.EINVALID, "outcome"},
		{"no status", d7, clinician, followup.RecordRequest{Reached: ptr(true), Outcome: &followup.Outcome{}}, pathways.EINVALID, "outcome.status"},
		{"bad status", d7, clinician, followup.RecordRequest{Reached: ptr(true), Outcome: &followup.Outcome{Status: "well"}}, pathways.EINVALID, "outcome.status"},
		{"invalid ICD-10", d7, clinician, followup.RecordRequest{Reached: ptr(true), Outcome: &followup.Outcome{Status: "alive", Complications: []string{"T81.4", "wound infection"}}}, pathways.EINVALID, "outcome.complications[1]"},
		{"died before discharge", d7, clinician, followup.RecordRequest{Reached: ptr(true), Outcome: &followup.Outcome{Status: "died", DiedOn: "2026-03-11"}}, pathways.EINVALID, "outcome.died_on"},
		{"died in the future", d7, clinician, followup.RecordRequest{Reached: ptr(true), Outcome: &followup.Outcome{Status: "died", DiedOn: "2026-03-30"}}, pathways.EINVALID, "outcome.died_on"},
		{"died without date", d7, clinician, followup.RecordRequest{Reached: ptr(true), Outcome: &followup.Outcome{Status: "died"}}, pathways.EINVALID, "outcome.died_on"},
		{"died_on not a date", d7, clinician, followup.RecordRequest{Reached: ptr(true), Outcome: &followup.Outcome{Status: "died", DiedOn: "16/03/2026"}}, pathways.EINVALID, "outcome.died_on"},
		{"alive with a death date", d7, clinician, followup.RecordRequest{Reached: ptr(true), Outcome: &followup.Outcome{Status: "alive", DiedOn: "2026-03-16"}}, pathways.EINVALID, "outcome.died_on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Record(base.State, tt.id, tt.by, tt.req, at("2026-03-17 10:00"))
			var pe *pathways.Error
			if pathways.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want code %s", err, tt.code)
			}
			if tt.field != "" {
				pe = err.(*pathways.Error)
				if pe.Field != tt.field {
					t.Errorf("field %q, want %q (%v)", pe.Field, tt.field, err)
				}
			}
		})
	}
	// Valid codes: WHO and the Chinese clinical edition.
	ok := followup.RecordRequest{Reached: ptr(true), AttemptID: "a1", Outcome: &followup.Outcome{Status: "alive",
		Complications: []string{"T81.4", "C18.200x001", "K56.7", "I26"}, NewTreatment: "辅助化疗", Readmitted: ptr(false), ReturnedToTheatre: ptr(false)}}
	out, err := e.Record(base.State, d7, clinician, ok, at("2026-03-17 10:00"))
	if err != nil {
		t.Fatal(err)
	}
	c := contacts(t, out)[0]
	if c.Status != followup.StatusDone || c.Outcome == nil || len(c.Outcome.Complications) != 4 || !c.ClosedAt.Equal(at("2026-03-17 10:00")) {
		t.Errorf("done: %+v", c)
	}
	// Duplicate submission: the same attempt_id is a no-op, even later and changed.
	again, err := e.Record(out.State, d7, clinician, ok, at("2026-03-17 10:05"))
	if err != nil || len(again.Notices) != 0 || !sameRecords(out.Records, again.Records) {
		t.Errorf("duplicate: %v, %v notices", err, noticeNames(again))
	}
	// Without an attempt_id, the same content within a minute is the same submission.
	fail := followup.RecordRequest{Reached: ptr(false), Note: "关机"}
	out2 := record(t, e, base.State, d7, fail, "2026-03-17 10:00")
	out3 := record(t, e, out2.State, d7, fail, "2026-03-17 10:00")
	if n := len(contacts(t, out3)[0].Attempts); n != 1 || len(out3.Notices) != 0 {
		t.Errorf("resubmission: %d attempts, notices %v", n, noticeNames(out3))
	}
	// A second done record is a conflict, not a duplicate.
	other := ok
	other.AttemptID = "a2"
	if _, err := e.Record(out.State, d7, clinician, other, at("2026-03-17 11:00")); pathways.ErrorCode(err) != pathways.ECONFLICT {
		t.Errorf("recording on a done contact: %v", err)
	}
}

// The actions people record survive later applies of the facts.
func TestActionsSurviveApply(t *testing.T) {
	e := followup.New(nil)
	out := apply(t, e, nil, input(at("2026-03-17 09:00"), grade4Stay()...))
	d7 := contacts(t, out)[0].ID
	out = record(t, e, out.State, d7, followup.RecordRequest{Reached: ptr(false)}, "2026-03-17 10:00")
	n := len(out.Notices)
	out = apply(t, e, out.State, input(at("2026-03-17 11:00"), grade4Stay()...))
	if c := contacts(t, out)[0]; len(c.Attempts) != 1 || n != 1 {
		t.Errorf("attempts %+v, notices %d", c.Attempts, n)
	}
}
