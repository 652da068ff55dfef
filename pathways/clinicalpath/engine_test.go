package clinicalpath_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/mapping/fhirschema"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
)

// TestShippedPathways drives each shipped pathway through synth patients' whole stays (the
// FHIR resources HIS, LIS and PACS send, mapped by the shipped mapper) and checks the final
// record: status, completion, stage, which items ended overdue, late or waived, and the
// variances. The patients were picked for what happens to them: a stay by the book, missing
// documents, no operation, a long stay, reperfusion too late.
func TestShippedPathways(t *testing.T) {
	eng := newEngine(t)
	for _, tc := range []struct {
		name       string
		scenario   string
		index      int
		pathway    string
		completion string
		overdue    []string // items that ended overdue
		late       []string // items done after their deadline
		waived     []string
		variances  []string // kind or kind:item, in time order
	}{
		{name: "colon cancer by the book", scenario: synth.ColonCancer, index: 0, pathway: "colon-cancer-radical-resection", completion: "standard"},
		{name: "colon cancer without MDT, handover, first round in time", scenario: synth.ColonCancer, index: 8, pathway: "colon-cancer-radical-resection",
			completion: "variant", overdue: []string{"pre-op-mdt", "bedside-handover"}, late: []string{"first-senior-round"},
			variances: []string{"item_overdue:first-senior-round", "item_overdue:pre-op-mdt", "item_overdue:bedside-handover"}},
		{name: "colon cancer not operated", scenario: synth.ColonCancer, index: 11, pathway: "colon-cancer-radical-resection", completion: "standard",
			waived: []string{"pre-op-mdt", "pre-op-surgeon-round", "radical-resection", "bedside-handover", "post-op-surgeon-round", "post-op-blood-count", "post-op-electrolytes"}},
		{name: "colon cancer long stay", scenario: synth.ColonCancer, index: 6, pathway: "colon-cancer-radical-resection", completion: "variant",
			variances: []string{"stay_beyond_standard"}},
		{name: "STEMI reperfused in time", scenario: synth.STEMI, index: 0, pathway: "stemi", completion: "standard", waived: []string{"ecg"}},
		{name: "STEMI not reperfused within 12 h", scenario: synth.STEMI, index: 1, pathway: "stemi", completion: "variant",
			overdue: []string{"reperfusion"}, waived: []string{"ecg"}, variances: []string{"item_overdue:reperfusion"}},
		{name: "STEMI late and long", scenario: synth.STEMI, index: 6, pathway: "stemi", completion: "variant",
			late: []string{"reperfusion"}, waived: []string{"ecg"}, variances: []string{"item_overdue:reperfusion", "stay_beyond_standard"}},
		{name: "appendicitis by the book", scenario: synth.Appendicitis, index: 0, pathway: "acute-simple-appendicitis", completion: "standard"},
		{name: "appendicitis without post-op surgeon round", scenario: synth.Appendicitis, index: 4, pathway: "acute-simple-appendicitis", completion: "variant",
			overdue: []string{"post-op-surgeon-round"}, variances: []string{"item_overdue:post-op-surgeon-round"}},
		{name: "appendicitis long stay", scenario: synth.Appendicitis, index: 6, pathway: "acute-simple-appendicitis", completion: "variant",
			variances: []string{"stay_beyond_standard"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := story(tc.scenario, tc.index)
			r := replay(t, eng, storyPatient(t, s), storyArrivals(s), s.Discharged.Add(72*time.Hour))
			xs := instances(t, r.out.Records)
			if len(xs) != 1 {
				t.Fatalf("%d instances", len(xs))
			}
			x := xs[0]
			if x.Pathway.ID != tc.pathway || x.Pathway.Version != "2026.1" || x.Status != "completed" || x.Completion != tc.completion || x.Stage != "discharge" {
				t.Fatalf("pathway %s %s, status %s %s, stage %s", x.Pathway.ID, x.Pathway.Version, x.Status, x.Completion, x.Stage)
			}
			if x.Patient != "Patient/"+s.PatientID || x.DischargedAt == nil || !x.DischargedAt.Equal(s.Discharged) || x.EnrolmentReason == "" {
				t.Fatalf("patient %s, discharged %v (story %v), reason %q", x.Patient, x.DischargedAt, s.Discharged, x.EnrolmentReason)
			}
			if !r.out.Wake.IsZero() {
				t.Errorf("a completed instance wakes at %v", r.out.Wake)
			}
			var overdue, late, waived, variances []string
			for _, it := range x.Items {
				switch it.Status {
				case "overdue":
					overdue = append(overdue, it.ID)
				case "waived":
					waived = append(waived, it.ID)
				case "done":
					if it.Evidence == "" || it.DoneAt == nil {
						t.Errorf("item %s done without evidence", it.ID)
					}
					if it.Late {
						late = append(late, it.ID)
					}
				default:
					t.Errorf("item %s is %s after discharge", it.ID, it.Status)
				}
			}
			for _, v := range x.Variances {
				k := v.Kind
				if v.Item != "" {
					k += ":" + v.Item
				}
				variances = append(variances, k)
				if v.Direction != "negative" || v.Source == "" || v.ID == "" {
					t.Errorf("variance %+v", v)
				}
			}
			for what, pair := range map[string][2][]string{"overdue": {overdue, tc.overdue}, "late": {late, tc.late}, "waived": {waived, tc.waived}, "variances": {variances, tc.variances}} {
				if !slices.Equal(pair[0], pair[1]) {
					t.Errorf("%s: %v, want %v", what, pair[0], pair[1])
				}
			}
			if got := x.NegativeVariance; got != (tc.completion == "variant") {
				t.Errorf("negative_variance %v", got)
			}
			// Notices are in time order: a deadline that passed before enrolment (reperfusion 12 h
			// after onset, for a patient who came late) comes before it, with its own time.
			names := noticeNames(r.notices)
			if !slices.Contains(names, clinicalpath.NoticeEnrolled) || names[len(names)-1] != clinicalpath.NoticeCompleted ||
				strings.Count(strings.Join(names, " "), clinicalpath.NoticeEnrolled) != 1 {
				t.Errorf("notices %v", names)
			}
			for _, v := range x.Variances {
				if !slices.ContainsFunc(r.notices, func(n pathways.Notice) bool { return n.Name == clinicalpath.NoticeVariance && n.At.Equal(v.At) }) {
					t.Errorf("no pathway.variance notice for %s at %v", v.Kind, v.At)
				}
			}
			if err := fhirschema.Validate(clinicalpath.CarePlan(r.out.Records[0].Body)); err != nil {
				t.Errorf("CarePlan: %v", err)
			}
		})
	}
}

// TestDuringTheStay looks at a colon cancer patient two days into the stay, before the
// operation: the stay's first stage, the surgery stages not yet on the timeline, the day
// counted in the hospital's zone, and a wake-up at the next deadline or midnight.
func TestDuringTheStay(t *testing.T) {
	eng := newEngine(t)
	s := story(synth.ColonCancer, 0)
	now := s.Admitted.Add(30 * time.Hour)
	r := replay(t, eng, storyPatient(t, s), until(storyArrivals(s), now), now)
	x := instances(t, r.out.Records)[0]
	if x.Status != "active" || x.Stage != "admission" || x.Day != 2 || x.DischargedAt != nil {
		t.Fatalf("status %s stage %s day %d", x.Status, x.Stage, x.Day)
	}
	for _, st := range x.Stages {
		if placed := st.Start != nil; placed != (st.Anchor == "admission" || st.Anchor == "onset") {
			t.Errorf("stage %s (%s) placed: %v", st.ID, st.Anchor, placed)
		}
	}
	for _, it := range x.Items {
		if it.Stage != "admission" && (it.Status != "pending" || it.DueAt != nil) {
			t.Errorf("item %s of stage %s: %s due %v", it.ID, it.Stage, it.Status, it.DueAt)
		}
	}
	local := now.In(shanghai)
	midnight := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, shanghai)
	if !r.out.Wake.After(now) || r.out.Wake.After(midnight) {
		t.Fatalf("wake %v, now %v", r.out.Wake, now)
	}
	// The operation moves the post-operative stages onto the timeline.
	s2 := storyArrivals(s)
	var opAt time.Time
	for _, a := range s2 {
		if a.typ == "Procedure" {
			opAt = a.at
			break
		}
	}
	r = replay(t, eng, storyPatient(t, s), until(s2, opAt), opAt)
	x = instances(t, r.out.Records)[0]
	for _, st := range x.Stages {
		if st.Anchor == "surgery" && st.Start == nil {
			t.Errorf("stage %s not placed after the operation", st.ID)
		}
	}
	if x.Stage != "surgery-day" {
		t.Errorf("stage %s just after the operation", x.Stage)
	}
}

// TestShuffledArrival replays patients' resources in shuffled orders, applying after each
// arrival: the final records are the same as in order.
func TestShuffledArrival(t *testing.T) {
	eng := newEngine(t)
	type patient struct {
		name     string
		p        pathways.Patient
		arrivals []arrival
		end      time.Time
	}
	var ps []patient
	for _, c := range []struct {
		sc    string
		index int
	}{{synth.ColonCancer, 8}, {synth.STEMI, 1}, {synth.Appendicitis, 4}} {
		s := story(c.sc, c.index)
		ps = append(ps, patient{c.sc, storyPatient(t, s), storyArrivals(s), s.Discharged.Add(48 * time.Hour)})
	}
	ps = append(ps, patient{"icu-death", pathways.Patient{Ref: "Patient/p1"}, bundleArrivals(t, "testdata/colon-icu-reoperation-death.json"),
		time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)})
	for _, p := range ps {
		t.Run(p.name, func(t *testing.T) {
			want := replay(t, eng, p.p, p.arrivals, p.end)
			if len(want.out.Records) != 1 {
				t.Fatalf("in order: %d records", len(want.out.Records))
			}
			rng := rand.New(rand.NewPCG(7, uint64(len(p.arrivals))))
			for i := range 5 {
				order := slices.Clone(p.arrivals)
				rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
				got := replay(t, eng, p.p, order, p.end)
				if len(got.out.Records) != 1 {
					t.Fatalf("order %d: %d records", i, len(got.out.Records))
				}
				w, g := want.out.Records[0], got.out.Records[0]
				if !bytes.Equal(w.Body, g.Body) || w.ID != g.ID || w.Status != g.Status || !w.Opened.Equal(g.Opened) || !w.Closed.Equal(g.Closed) || w.Department != g.Department {
					t.Fatalf("order %d differs:\n%s\nin order:\n%s", i, g.Body, w.Body)
				}
				if n := strings.Count(strings.Join(noticeNames(got.notices), " "), clinicalpath.NoticeCompleted); n != 1 {
					t.Errorf("order %d: %d completed notices", i, n)
				}
			}
		})
	}
}

// TestIdempotent: the same input on the returned state gives the same records and no
// notices, and a completed instance no longer changes with the time.
func TestIdempotent(t *testing.T) {
	eng := newEngine(t)
	s := story(synth.ColonCancer, 8)
	p := storyPatient(t, s)
	r := replay(t, eng, p, storyArrivals(s), s.Discharged.Add(time.Hour))
	for _, now := range []time.Time{s.Discharged.Add(time.Hour), s.Discharged.Add(90 * 24 * time.Hour)} {
		again, err := eng.Apply(r.state, pathways.Input{Patient: p, Facts: r.facts, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Notices) > 0 {
			t.Fatalf("notices on a repeat: %v", noticeNames(again.Notices))
		}
		if !bytes.Equal(again.Records[0].Body, r.out.Records[0].Body) || !bytes.Equal(again.State, r.state) {
			t.Fatalf("a repeat at %v changed the record or the state", now)
		}
	}
}

// TestICUReturnToTheatreDeath: hand-written FHIR (a colon cancer stay with its operation, an
// unplanned laparotomy, a transfer to the ICU and death) gives those variances.
func TestICUReturnToTheatreDeath(t *testing.T) {
	eng := newEngine(t)
	r := replay(t, eng, pathways.Patient{Ref: "Patient/p1", BirthDate: time.Date(1961, 4, 12, 0, 0, 0, 0, shanghai)},
		bundleArrivals(t, "testdata/colon-icu-reoperation-death.json"), time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC))
	x := instances(t, r.out.Records)[0]
	if x.Status != "completed" || x.Completion != "variant" || x.Department != "ICU" {
		t.Fatalf("status %s %s department %s", x.Status, x.Completion, x.Department)
	}
	want := map[string]string{
		"return_to_theatre": "2026-03-17T13:30:00Z",
		"icu_transfer":      "2026-03-18T14:05:00Z",
		"death":             "2026-03-19T22:40:00Z",
	}
	for _, v := range x.Variances {
		if at, ok := want[v.Kind]; ok {
			if v.At.Format(time.RFC3339) != at {
				t.Errorf("%s at %v, want %s", v.Kind, v.At, at)
			}
			delete(want, v.Kind)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing variances %v in %+v", want, x.Variances)
	}
	if got := x.Items[slices.IndexFunc(x.Items, func(it clinicalpath.ItemView) bool { return it.ID == "radical-resection" })]; got.Status != "done" || got.Evidence != "Procedure/op1" {
		t.Errorf("radical resection %+v", got)
	}
}

// TestLocalAndUnknownCodes: a result with an unknown code completes nothing (and changes
// nothing else); a definition that lists the LIS's own code takes it as evidence.
func TestLocalAndUnknownCodes(t *testing.T) {
	arrivals := bundleArrivals(t, "testdata/appendicitis-local-codes.json")
	p := pathways.Patient{Ref: "Patient/p2", BirthDate: time.Date(1990, 6, 1, 0, 0, 0, 0, shanghai)}
	now := time.Date(2026, 4, 2, 6, 0, 0, 0, time.UTC) // 14:00 the next day: the 6 h deadline has passed
	item := func(r run, id string) clinicalpath.ItemView {
		x := instances(t, r.out.Records)[0]
		return x.Items[slices.IndexFunc(x.Items, func(it clinicalpath.ItemView) bool { return it.ID == id })]
	}
	r := replay(t, newEngine(t), p, arrivals, now)
	if it := item(r, "blood-count"); it.Status != "overdue" || it.Evidence != "" {
		t.Fatalf("with LOINC evidence only, the local-only result gave %+v", it)
	}
	for _, it := range instances(t, r.out.Records)[0].Items {
		if strings.Contains(it.Evidence, "o-unknown") {
			t.Fatalf("the unknown code completed %s", it.ID)
		}
	}
	// The hospital adds its LIS code to the item.
	src := readLibrary(t, "acute-simple-appendicitis.yaml")
	src = strings.Replace(src, "          - {resource: Observation, system: http://loinc.org, codes: [6690-2, 718-7, 777-3]}\n",
		"          - {resource: Observation, system: http://loinc.org, codes: [6690-2, 718-7, 777-3]}\n"+
			"          - {resource: Observation, system: http://hospital.example/fhir/CodeSystem/lis, codes: [XCG-WBC]}\n", 1)
	def, errs := clinicalpath.Parse("local.yaml", []byte(src))
	if errs != nil {
		t.Fatal(errs)
	}
	r = replay(t, newEngine(t, def), p, arrivals, now)
	if it := item(r, "blood-count"); it.Status != "done" || it.Evidence != "Observation/o-local" || it.Late {
		t.Fatalf("with the local code: %+v", it)
	}
}

func readLibrary(t *testing.T, name string) string {
	t.Helper()
	b, err := libraryFS.ReadFile("library/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNewVersionKeepsEnrolled: a new version of a definition enrols new patients and leaves
// those enrolled under the old one as they were; an engine without the old version refuses
// to run their state rather than silently re-enrol them.
func TestNewVersionKeepsEnrolled(t *testing.T) {
	v1 := clinicalpath.Library()
	src := strings.Replace(readLibrary(t, "acute-simple-appendicitis.yaml"), `version: "2026.1"`, `version: "2026.2"`, 1)
	src = strings.Replace(src, "standard_stay: {min: 0, max: 7}", "standard_stay: {min: 0, max: 5}", 1)
	v2, errs := clinicalpath.Parse("v2.yaml", []byte(src))
	if errs != nil {
		t.Fatal(errs)
	}
	s := story(synth.Appendicitis, 1)
	p := storyPatient(t, s)
	mid := s.Admitted.Add(2 * time.Hour)
	first := replay(t, newEngine(t, v1...), p, until(storyArrivals(s), mid), mid)
	if x := instances(t, first.out.Records)[0]; x.Pathway.Version != "2026.1" {
		t.Fatalf("enrolled under %s", x.Pathway.Version)
	}
	both := newEngine(t, append(v1, v2)...)
	later := replayFrom(t, both, first.state, p, storyArrivals(s), s.Discharged.Add(time.Hour))
	x := instances(t, later.out.Records)[0]
	if x.Pathway.Version != "2026.1" || x.StandardStay.Max != 7 {
		t.Fatalf("the enrolled instance moved to %s (stay %+v)", x.Pathway.Version, x.StandardStay)
	}
	s2 := story(synth.Appendicitis, 2)
	fresh := replay(t, both, storyPatient(t, s2), storyArrivals(s2), s2.Discharged)
	if x := instances(t, fresh.out.Records)[0]; x.Pathway.Version != "2026.2" || x.StandardStay.Max != 5 {
		t.Fatalf("a new patient enrolled under %s (stay %+v)", x.Pathway.Version, x.StandardStay)
	}
	onlyV2 := newEngine(t, append(slices.DeleteFunc(slices.Clone(v1), func(d *clinicalpath.Definition) bool { return d.ID == v2.ID }), v2)...)
	if _, err := onlyV2.Apply(first.state, pathways.Input{Patient: p, Facts: first.facts, Now: mid}); err == nil {
		t.Fatal("an engine without the pinned version ran the instance")
	}
	if _, err := clinicalpath.New([]*clinicalpath.Definition{v2, v2}, clinicalpath.Config{}); err == nil {
		t.Fatal("the same version twice was accepted")
	}
}

// TestActions: clinician variances and withdrawal, their errors, and that they survive later
// facts.
func TestActions(t *testing.T) {
	eng := newEngine(t)
	s := story(synth.Appendicitis, 0)
	p := storyPatient(t, s)
	mid := s.Admitted.Add(90 * time.Minute)
	r := replay(t, eng, p, until(storyArrivals(s), mid), mid)
	x := instances(t, r.out.Records)[0]
	doctor := pathways.Actor{Name: "李医生", Role: "clinician", Departments: []string{x.Department}}
	at := mid.Add(10 * time.Minute)

	for _, tc := range []struct {
		name  string
		id    string
		by    pathways.Actor
		req   clinicalpath.VarianceRequest
		code  string
		field string
	}{
		{"no reason", x.ID, doctor, clinicalpath.VarianceRequest{Source: "patient", Direction: "negative"}, pathways.EINVALID, "reason"},
		{"bad source", x.ID, doctor, clinicalpath.VarianceRequest{Reason: "x", Source: "family", Direction: "negative"}, pathways.EINVALID, "source"},
		{"bad direction", x.ID, doctor, clinicalpath.VarianceRequest{Reason: "x", Source: "patient", Direction: "up"}, pathways.EINVALID, "direction"},
		{"unknown instance", "cp-0000", doctor, clinicalpath.VarianceRequest{Reason: "x", Source: "patient", Direction: "negative"}, pathways.ENOTFOUND, ""},
		{"other department", x.ID, pathways.Actor{Name: "王医生", Departments: []string{"CARDIO"}}, clinicalpath.VarianceRequest{Reason: "x", Source: "patient", Direction: "negative"}, pathways.EFORBIDDEN, ""},
	} {
		_, err := eng.RecordVariance(r.state, tc.id, tc.by, tc.req, at)
		var pe *pathways.Error
		if pathways.ErrorCode(err) != tc.code || (tc.field != "" && (!errorsAs(err, &pe) || pe.Field != tc.field)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	out, err := eng.RecordVariance(r.state, x.ID, doctor, clinicalpath.VarianceRequest{Reason: "患者要求延迟手术", Source: "patient", Direction: "negative"}, at)
	if err != nil {
		t.Fatal(err)
	}
	if names := noticeNames(out.Notices); !slices.Equal(names, []string{clinicalpath.NoticeVariance}) {
		t.Fatalf("notices %v", names)
	}
	x = instances(t, out.Records)[0]
	if v := x.Variances[len(x.Variances)-1]; v.Kind != "recorded" || v.By != "李医生" || v.Source != "patient" || !v.At.Equal(at) {
		t.Fatalf("variance %+v", v)
	}

	w, err := eng.Withdraw(out.State, x.ID, doctor, clinicalpath.WithdrawRequest{Reason: "转上级医院"}, at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	x = instances(t, w.Records)[0]
	if x.Status != "withdrawn" || x.Withdrawn.By != "李医生" || w.Records[0].Closed.IsZero() || !slices.Equal(noticeNames(w.Notices), []string{clinicalpath.NoticeWithdrawn}) {
		t.Fatalf("withdrawn: %s %+v notices %v", x.Status, x.Withdrawn, noticeNames(w.Notices))
	}
	for _, it := range x.Items {
		if it.Status == "pending" {
			t.Errorf("item %s still pending after withdrawal", it.ID)
		}
	}
	if _, err := eng.Withdraw(w.State, x.ID, doctor, clinicalpath.WithdrawRequest{Reason: "again"}, at.Add(2*time.Minute)); pathways.ErrorCode(err) != pathways.ECONFLICT {
		t.Errorf("second withdrawal: %v", err)
	}
	if _, err := eng.RecordVariance(w.State, x.ID, doctor, clinicalpath.VarianceRequest{Reason: "x", Source: "patient", Direction: "negative"}, at.Add(2*time.Minute)); pathways.ErrorCode(err) != pathways.ECONFLICT {
		t.Errorf("variance on a withdrawn instance: %v", err)
	}
	// The rest of the stay arrives: the withdrawal and the recorded variance stay.
	rest := replayFrom(t, eng, w.State, p, storyArrivals(s), s.Discharged.Add(time.Hour))
	x = instances(t, rest.out.Records)[0]
	if x.Status != "withdrawn" || !slices.ContainsFunc(x.Variances, func(v clinicalpath.Variance) bool { return v.Kind == "recorded" }) {
		t.Fatalf("after the stay: %s %+v", x.Status, x.Variances)
	}
	if slices.Contains(noticeNames(rest.notices), clinicalpath.NoticeCompleted) {
		t.Fatal("a withdrawn instance completed")
	}
	if err := fhirschema.Validate(clinicalpath.CarePlan(rest.out.Records[0].Body)); err != nil || !strings.Contains(string(clinicalpath.CarePlan(rest.out.Records[0].Body)), `"status":"revoked"`) {
		t.Errorf("CarePlan of a withdrawn instance: %v", err)
	}

	// Withdrawing a completed instance is a conflict (409).
	done := replay(t, eng, p, storyArrivals(s), s.Discharged.Add(time.Hour))
	_, err = eng.Withdraw(done.state, done.out.Records[0].ID, doctor, clinicalpath.WithdrawRequest{Reason: "late"}, s.Discharged.Add(2*time.Hour))
	if pathways.ErrorCode(err) != pathways.ECONFLICT {
		t.Fatalf("withdrawing a completed instance: %v", err)
	}
	// A recorded variance on a completed instance is taken and makes its completion variant.
	v, err := eng.RecordVariance(done.state, done.out.Records[0].ID, doctor, clinicalpath.VarianceRequest{Reason: "出院延迟", Source: "hospital", Direction: "negative", Controllable: true}, s.Discharged.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if x := instances(t, v.Records)[0]; x.Completion != "variant" || !x.NegativeVariance {
		t.Fatalf("completion %s after a negative variance", x.Completion)
	}
}

func TestQualifies(t *testing.T) {
	eng := newEngine(t)
	defs := map[string]*clinicalpath.Definition{}
	for _, d := range clinicalpath.Library() {
		defs[d.ID] = d
	}
	for _, tc := range []struct {
		scenario string
		index    int
		pathway  string
		want     bool
	}{
		{synth.ColonCancer, 0, "colon-cancer-radical-resection", true},
		{synth.ColonCancer, 11, "colon-cancer-radical-resection", false}, // not operated
		{synth.ColonCancer, 0, "stemi", false},
		{synth.STEMI, 1, "stemi", true},
		{synth.Appendicitis, 0, "acute-simple-appendicitis", true},
	} {
		s := story(tc.scenario, tc.index)
		p := storyPatient(t, s)
		r := replay(t, eng, p, storyArrivals(s), s.Discharged)
		got := clinicalpath.Qualifies(defs[tc.pathway], p, r.facts)
		if (len(got) == 1) != tc.want {
			t.Errorf("%s #%d for %s: %v", tc.scenario, tc.index, tc.pathway, got)
		}
	}
}

func TestFHIRViews(t *testing.T) {
	for _, d := range clinicalpath.Library() {
		pd := clinicalpath.PlanDefinition(d)
		if err := fhirschema.Validate(pd); err != nil {
			t.Errorf("PlanDefinition %s: %v", d.ID, err)
		}
		var v struct {
			Type   struct{ Coding []struct{ Code string } }
			Action []struct {
				Action []json.RawMessage
			}
		}
		if err := json.Unmarshal(pd, &v); err != nil || v.Type.Coding[0].Code != "clinical-protocol" || len(v.Action) != len(d.Stages) || len(v.Action[0].Action) != len(d.Stages[0].Items) {
			t.Errorf("PlanDefinition %s: %s", d.ID, pd)
		}
	}
	eng := newEngine(t)
	s := story(synth.ColonCancer, 8)
	mid := s.Admitted.Add(3 * 24 * time.Hour)
	r := replay(t, eng, storyPatient(t, s), until(storyArrivals(s), mid), mid)
	cp := clinicalpath.CarePlan(r.out.Records[0].Body)
	if err := fhirschema.Validate(cp); err != nil {
		t.Fatalf("CarePlan: %v\n%s", err, cp)
	}
	for _, want := range []string{`"status":"active"`, `"instantiatesCanonical":["http://lujing.example/fhir/PlanDefinition/colon-cancer-radical-resection|2026.1"]`, `"outcomeReference":[{"reference":"`} {
		if !strings.Contains(string(cp), want) {
			t.Errorf("CarePlan lacks %s", want)
		}
	}
	if clinicalpath.CarePlan([]byte(`{"id":"x"}`)) != nil || clinicalpath.CarePlan([]byte("not json")) != nil {
		t.Error("CarePlan of something that is no instance")
	}
}
