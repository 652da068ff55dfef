package criticalvalue

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping/fhirschema"
)

// TestFHIRViews: in every status the Task and the Communications validate against the R4
// schema, the Task's status follows the loop, and there is one Communication per delivery.
func TestFHIRViews(t *testing.T) {
	type stage struct {
		name, task string
		comms      int
		step       func(r *run, id string)
	}
	stages := []stage{
		{StatusNotified, "received", 1, func(*run, string) {}},
		{StatusAcknowledged, "accepted", 2, func(r *run, id string) {
			r.apply(input(t0.Add(mins(6)), append(ward(), potassium("k1", "6.8", t0).event())...))
			if _, err := r.ack(id, nurse, AckRequest{Receiver: "护士王", ReadBack: "6.8"}, t0.Add(mins(7))); err != nil {
				t.Fatal(err)
			}
		}},
		{StatusClosed, "completed", 2, func(r *run, id string) {
			if _, err := r.handle(id, nurse, HandleRequest{Physician: "朱医生", Action: "补钾"}, t0.Add(mins(30))); err != nil {
				t.Fatal(err)
			}
		}},
	}
	r := &run{t: t, e: engine(t)}
	r.apply(input(t0, append(ward(), potassium("k1", "6.8", t0).event())...))
	rec, _ := r.only()
	for _, s := range stages {
		s.step(r, rec.ID)
		rec, b := r.only()
		if b.Status != s.name {
			t.Fatalf("status %s, want %s", b.Status, s.name)
		}
		checkViews(t, rec.Body, s.task, s.comms)
	}

	// Unreachable → failed; recalled → cancelled.
	u := &run{t: t, e: engine(t)}
	u.apply(input(t0.Add(time.Hour), append(ward(), potassium("k1", "6.8", t0).event())...))
	rec, _ = u.only()
	checkViews(t, rec.Body, "failed", 5)
	c := &run{t: t, e: engine(t)}
	c.apply(input(t0, append(ward(), potassium("k1", "6.8", t0).event())...))
	c.apply(input(t0.Add(mins(1)), append(ward(), cancelled("Observation/k1#result", t0, 2))...))
	rec, _ = c.only()
	checkViews(t, rec.Body, "cancelled", 1)
}

func checkViews(t *testing.T, body []byte, status string, comms int) {
	t.Helper()
	task, err := Task(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := fhirschema.Validate(task); err != nil {
		t.Errorf("Task does not validate: %v\n%s", err, task)
	}
	var tk struct {
		Status string
		Focus  struct{ Reference string }
		For    struct{ Reference string }
		Owner  struct{ Display string }
	}
	_ = json.Unmarshal(task, &tk)
	if tk.Status != status || tk.Focus.Reference != "Observation/k1" || tk.For.Reference != patient || tk.Owner.Display == "" {
		t.Errorf("Task %s", task)
	}
	cs, err := Communications(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != comms {
		t.Errorf("%d communications, want %d", len(cs), comms)
	}
	for _, c := range cs {
		if err := fhirschema.Validate(c); err != nil {
			t.Errorf("Communication does not validate: %v\n%s", err, c)
		}
	}
}

// TestCounts: notification rate and timeliness, median release → acknowledgement by setting,
// same-day handling of inpatients, by department; recalled records out.
func TestCounts(t *testing.T) {
	e := engine(t)
	body := func(dept, setting, status string, released time.Time, notified, acked, handled time.Duration) json.RawMessage {
		b := RecordBody{ID: "x", Status: status, Department: dept, Setting: setting, ReleasedAt: released, DetectedAt: released}
		at := func(d time.Duration) *time.Time {
			if d < 0 {
				return nil
			}
			x := released.Add(d)
			return &x
		}
		b.NotifiedAt, b.AcknowledgedAt, b.HandledAt = at(notified), at(acked), at(handled)
		j, _ := json.Marshal(b)
		return j
	}
	bodies := []json.RawMessage{
		body("GI", Inpatient, StatusClosed, t0, mins(1), mins(4), mins(60)),
		body("GI", Inpatient, StatusClosed, t0, mins(20), mins(30), 30*time.Hour),       // late notification, handled the next day
		body("GI", Inpatient, StatusAcknowledged, t0, mins(2), mins(10), -1),            // not handled
		body("ED", Emergency, StatusClosed, t0, mins(1), mins(3), mins(10)),             // emergency
		body("ED", Emergency, StatusUnreachable, t0, mins(1), -1, -1),                   // unreachable
		body("GI", Inpatient, StatusRecalled, t0, mins(1), -1, -1),                      // recalled: excluded
		body("GI", Inpatient, StatusClosed, t0.Add(-48*time.Hour), mins(1), mins(2), 1), // outside the period
	}
	m, err := e.Counts(bodies, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a := m.All
	if a.Detected != 5 || a.Notified != 5 || a.NotifiedInTime != 4 || *a.NotificationRate != 1 || *a.NotificationTimeliness != 0.8 ||
		a.RecalledExcluded != 1 || a.Unreachable != 1 || a.Acknowledged != 4 {
		t.Errorf("all: %+v", a)
	}
	if got := *a.MedianAckMinutes[Inpatient]; got != 10 {
		t.Errorf("median inpatient %v", got)
	}
	if got := *a.MedianAckMinutes[Emergency]; got != 3 {
		t.Errorf("median emergency %v", got)
	}
	if a.MedianAckMinutes[Outpatient] != nil {
		t.Error("median outpatient of nothing")
	}
	if a.InpatientAcknowledged != 3 || a.InpatientHandledSameDay != 1 || *a.SameDayHandlingRate != 1.0/3 {
		t.Errorf("same day: %d/%d", a.InpatientHandledSameDay, a.InpatientAcknowledged)
	}
	if len(m.Departments) != 2 || m.Departments[0].Department != "ED" || m.Departments[0].Detected != 2 || m.Departments[1].Detected != 3 {
		t.Errorf("departments %+v", m.Departments)
	}
	if _, err := json.Marshal(m); err != nil {
		t.Error(err)
	}
	if _, err := e.Counts([]json.RawMessage{[]byte("{")}, t0, t0); err == nil {
		t.Error("a broken body counted")
	}
}
