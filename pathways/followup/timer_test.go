package followup_test

import (
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/followup"
)

// The adapter's timer loop in a bubble: sleep to Outcome.Wake, apply again. Every contact goes
// scheduled → due → overdue exactly at its window's start and end, each notice published at
// its own time, once.
func TestTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := followup.New(nil)
		start := time.Now() // the bubble's clock: 2000-01-01 00:00 UTC, 08:00 in Shanghai
		admitted, discharged := start.Add(-10*24*time.Hour), start.Add(-time.Hour)
		facts := append(stay("Encounter/e1", admitted, discharged), operated("op1", "Encounter/e1", admitted.Add(48*time.Hour), "45.73", 4, nil))
		var state json.RawMessage
		type published struct {
			name string
			at   time.Time
			when time.Time // the bubble's time when published
		}
		var got []published
		var first []followup.ContactView
		for i := 0; ; i++ {
			out, err := e.Apply(state, pathways.Input{Patient: pathways.Patient{Ref: patient}, Facts: pathways.InForce(facts), Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = contacts(t, out)
			}
			state = out.State
			for _, n := range out.Notices {
				got = append(got, published{n.Name, n.At, time.Now()})
			}
			if out.Wake.IsZero() {
				break
			}
			if !out.Wake.After(time.Now()) {
				t.Fatalf("wake %v is not in the future", out.Wake)
			}
			time.Sleep(time.Until(out.Wake))
			if i > 100 {
				t.Fatal("no end")
			}
		}
		if len(first) != 4 {
			t.Fatalf("%d contacts", len(first))
		}
		var want []published
		for _, c := range first {
			from, _ := time.ParseInLocation(time.DateOnly, c.WindowStart, cst)
			to, _ := time.ParseInLocation(time.DateOnly, c.WindowEnd, cst)
			want = append(want, published{followup.NoticeDue, from.UTC(), from.UTC()}, published{followup.NoticeOverdue, to.AddDate(0, 0, 1).UTC(), to.AddDate(0, 0, 1).UTC()})
		}
		if len(got) != len(want) {
			t.Fatalf("published %v\nwant %v", got, want)
		}
		for i := range want {
			if got[i].name != want[i].name || !got[i].at.Equal(want[i].at) || !got[i].when.Equal(want[i].when) {
				t.Errorf("notice %d: %s at %v published %v, want %s at %v", i, got[i].name, got[i].at, got[i].when, want[i].name, want[i].at)
			}
		}
	})
}
