package followup_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/fhirschema"
	"github.com/lujing-health/lujing/mapping/grading"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/followup"
)

// store is mapping.Resources over the resources arrived so far: the highest version of each.
type store struct {
	body    map[string][]byte
	version map[string]int
	order   []string
}

func newStore() *store { return &store{body: map[string][]byte{}, version: map[string]int{}} }

func (s *store) Get(_ context.Context, typ, id string) ([]byte, bool, error) {
	b, ok := s.body[typ+"/"+id]
	return b, ok, nil
}

func (s *store) put(ref string, version int, body []byte) {
	if _, ok := s.body[ref]; !ok {
		s.order = append(s.order, ref)
	}
	if version >= s.version[ref] {
		s.body[ref], s.version[ref] = body, version
	}
}

// mapper is the mapping as Lujing runs it, with a generic profile reading the surgery grade and
// planned extensions, the built-in code maps (SNOMED → ICD-10) and the example grading catalogue.
func mapper(t testing.TB, res mapping.Resources) *mapping.Clinical {
	t.Helper()
	maps, err := codemap.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	grades, err := grading.Example()
	if err != nil {
		t.Fatal(err)
	}
	generic := mapping.Profile{
		Name:       "generic",
		Department: mapping.DepartmentRule{ServiceTypeSystem: "*"},
		Procedure: mapping.ProcedureRule{
			GradeExtension:   "http://lujing.example/fhir/StructureDefinition/surgery-grade",
			PlannedExtension: "http://lujing.example/fhir/StructureDefinition/planned-surgery",
		},
		Discharge: mapping.DischargeRule{Death: []mapping.Code{{System: "http://terminology.hl7.org/CodeSystem/discharge-disposition", Code: "exp"}}},
		CodeMaps:  []string{"snomed-icd10", "snomed-icd9cm3"},
	}
	m, err := mapping.New(res, mapping.Options{Profiles: map[string]mapping.Profile{"generic": generic}, CodeMaps: maps, Grades: grades})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type resource struct {
	ref     string
	version int
	body    []byte
}

func bundle(t testing.TB, file string) []resource {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var out []resource
	for _, e := range b.Entry {
		var r struct {
			Type string `json:"resourceType"`
			ID   string `json:"id"`
			Meta struct {
				VersionID string `json:"versionId"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.Atoi(r.Meta.VersionID)
		out = append(out, resource{r.Type + "/" + r.ID, v, e.Resource})
	}
	return out
}

// replay stores the resources in the order given and, after each arrival, maps what is
// stored (a resource still missing a dependency is parked: skipped until it arrives) and
// applies follow-up, as the worker does.
func replay(t testing.TB, e *followup.Engine, rs []resource, now time.Time) pathways.Outcome {
	t.Helper()
	st := newStore()
	m := mapper(t, st)
	// A resource mapped once all it needs is stored maps the same later (its dependencies'
	// later versions here change nothing it reads), so results are kept by version.
	mapped := map[string][]mapping.Event{}
	var out pathways.Outcome
	for _, r := range rs {
		st.put(r.ref, r.version, r.body)
		var events []mapping.Event
		for _, ref := range st.order {
			key := ref + "@" + strconv.Itoa(st.version[ref])
			if evs, ok := mapped[key]; ok {
				events = append(events, evs...)
				continue
			}
			typ, id, _ := strings.Cut(ref, "/")
			res, err := m.Map(context.Background(), mapping.Input{Type: typ, ID: id, Version: st.version[ref], Body: st.body[ref], Source: "his"})
			if mapping.IsMissing(err) {
				continue
			}
			if err != nil {
				t.Fatalf("map %s: %v", ref, err)
			}
			mapped[key] = res.Events
			events = append(events, res.Events...)
		}
		var err error
		out, err = e.Apply(out.State, pathways.Input{Patient: pathways.Patient{Ref: patient}, Facts: pathways.InForce(events), Now: now})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// A colon-cancer patient (SNOMED-coded, mapped to ICD-10 C18.9) has a grade-four right
// hemicolectomy, is discharged, readmitted as an emergency on day 14 and operated on again.
func TestFromFHIR(t *testing.T) {
	e := followup.New(nil)
	now := at("2026-04-03 09:00")
	rs := bundle(t, "testdata/colon-cancer-readmission.json")
	out := replay(t, e, rs, now)

	ss := stays(t, out)
	if len(ss) != 2 {
		t.Fatalf("%d stays", len(ss))
	}
	e1, e2 := ss[0], ss[1]
	if e1.Encounter != "Encounter/e1" || !slices.Equal(e1.Reasons, []string{followup.ReasonGrade4, followup.ReasonTumour}) || e1.Department != "GI-SURG" ||
		e1.IndexOperation != "Procedure/op1" {
		t.Errorf("e1: %+v", e1)
	}
	if b, _ := json.Marshal(e1.Eligibility); !strings.Contains(string(b), "procedure 45.73 is grade 4 (sent on the Procedure)") ||
		!strings.Contains(string(b), "diagnosis C18.9 is a malignant tumour") {
		t.Errorf("e1 eligibility %s", b)
	}
	if len(e1.Findings) != 2 {
		t.Fatalf("e1 findings %+v", e1.Findings)
	}
	re, rtt := e1.Findings[0], e1.Findings[1]
	if re.Kind != followup.FindingReadmission || re.Day != 14 || re.Split != "2-15" || re.Planned || re.Evidence != "Encounter/e2" {
		t.Errorf("readmission %+v", re)
	}
	if rtt.Kind != followup.FindingReturnToTheatre || rtt.Day != 22 || rtt.WithinHours || rtt.SameAdmission || rtt.Evidence != "Procedure/op2" {
		t.Errorf("return to theatre %+v", rtt)
	}
	// The readmission's own reason is the tumour; the grade-four schedule continues from it.
	if e2.Encounter != "Encounter/e2" || !slices.Equal(e2.Reasons, []string{followup.ReasonGrade4, followup.ReasonTumour}) {
		t.Errorf("e2: %+v", e2)
	}

	cs := contacts(t, out)
	wantDue := []string{"2026-03-19", "2026-05-02", "2026-07-01", "2026-10-02", "2027-01-02", "2027-04-02"}
	if got := dueDates(cs); len(got) < len(wantDue) || !slices.Equal(got[:len(wantDue)], wantDue) {
		t.Fatalf("due %v", got)
	}
	d7 := cs[0]
	if d7.Encounter != "Encounter/e1" || d7.Status != followup.StatusOverdue || len(d7.Findings) != 2 {
		t.Errorf("day 7: %s %s findings %d", d7.Encounter, d7.Status, len(d7.Findings))
	}
	if cs[2].Encounter != "Encounter/e2" || !slices.Equal(cs[2].Reasons, []string{followup.ReasonGrade4, followup.ReasonTumour}) {
		t.Errorf("merged: %+v", cs[2])
	}

	// Record the overdue day-7 contact, then view the schedules as FHIR.
	out, err := e.Record(out.State, d7.ID, clinician, followup.RecordRequest{Reached: ptr(true), Method: "phone", AttemptID: "x1",
		Outcome: &followup.Outcome{Status: "alive", Complications: []string{"T81.4"}, NewTreatment: "抗感染", Readmitted: ptr(true),
			ReturnedToTheatre: ptr(true), Note: "切口感染已愈"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{"Encounter/e1", "Encounter/e2"} {
		cp, err := e.CarePlan(out.State, enc, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := fhirschema.Validate(cp); err != nil {
			t.Errorf("CarePlan %s: %v\n%s", enc, err, cp)
		}
		if !strings.Contains(string(cp), `"code":"follow-up"`) {
			t.Errorf("CarePlan category: %s", cp)
		}
		tasks, err := e.Tasks(out.State, enc, now)
		if err != nil || len(tasks) == 0 {
			t.Fatalf("tasks %v", err)
		}
		for _, task := range tasks {
			if err := fhirschema.Validate(task); err != nil {
				t.Errorf("Task: %v\n%s", err, task)
			}
		}
		if enc == "Encounter/e1" {
			var task struct {
				Status      string `json:"status"`
				Restriction struct {
					Period struct{ Start, End string }
				}
				Output []json.RawMessage
			}
			_ = json.Unmarshal(tasks[0], &task)
			if task.Status != "completed" || task.Restriction.Period.Start != "2026-03-16" || task.Restriction.Period.End != "2026-03-22" || len(task.Output) != 6 {
				t.Errorf("day-7 task %s", tasks[0])
			}
		}
	}
	// Death: the care plans are revoked, the tasks cancelled, still valid FHIR.
	dead := replay(t, e, append(rs, resource{"Patient/p1", 2, []byte(`{"resourceType":"Patient","id":"p1","meta":{"versionId":"2"},"deceasedDateTime":"2026-04-20T05:00:00+08:00"}`)}), at("2026-04-21 09:00"))
	cp, err := e.CarePlan(dead.State, "Encounter/e2", at("2026-04-21 09:00"))
	if err != nil || fhirschema.Validate(cp) != nil || !strings.Contains(string(cp), `"status":"revoked"`) {
		t.Errorf("after death: %v %s", err, cp)
	}
	tasks, _ := e.Tasks(dead.State, "Encounter/e2", at("2026-04-21 09:00"))
	for _, task := range tasks {
		if err := fhirschema.Validate(task); err != nil || !strings.Contains(string(task), `"status":"cancelled"`) {
			t.Errorf("task after death: %v %s", err, task)
		}
	}
	if _, err := e.CarePlan(dead.State, "Encounter/nope", now); pathways.ErrorCode(err) != pathways.ENOTFOUND {
		t.Errorf("unknown stay: %v", err)
	}
}

// Whatever the arrival order, the records after the last arrival are the same.
func TestShuffledArrival(t *testing.T) {
	e := followup.New(nil)
	now := at("2026-04-03 09:00")
	rs := bundle(t, "testdata/colon-cancer-readmission.json")
	want := replay(t, e, rs, now)
	r := rand.New(rand.NewPCG(6, 6))
	for i := range 20 {
		shuffled := slices.Clone(rs)
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		got := replay(t, e, shuffled, now)
		if !sameRecords(want.Records, got.Records) {
			var order []string
			for _, x := range shuffled {
				order = append(order, x.ref+"@"+strconv.Itoa(x.version))
			}
			t.Fatalf("order %d %v: records differ\n got %d\nwant %d", i, order, len(got.Records), len(want.Records))
		}
	}
}

func rngFor(i int) *rand.Rand { return rand.New(rand.NewPCG(uint64(i), 42)) }
