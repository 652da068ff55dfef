package followup_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways/followup"
)

// The index stay of most tests: admitted 2 March, a right hemicolectomy (45.73) on 5 March,
// discharged 12 March 2026.
var (
	admitAt     = at("2026-03-02 09:00")
	operatedAt  = at("2026-03-05 08:40")
	dischargeAt = at("2026-03-12 10:00")
	before      = at("2026-03-12 12:00") // just after discharge: nothing due yet
)

func grade4Stay() []mapping.Event {
	return append(stay("Encounter/e1", admitAt, dischargeAt), operated("op1", "Encounter/e1", operatedAt, "45.73", 4, ptr(true)))
}

func tumourStay() []mapping.Event {
	return append(stay("Encounter/e1", admitAt, dischargeAt), diagnosed("c1", "Encounter/e1", admitAt, "C18.200x001"))
}

var tumourDates = []string{
	"2026-06-12", "2026-09-12", "2026-12-12", "2027-03-12", "2027-06-12", "2027-09-12", "2027-12-12", "2028-03-12", // every 3 months, years 1–2
	"2028-09-12", "2029-03-12", "2029-09-12", "2030-03-12", "2030-09-12", "2031-03-12", // every 6 months to year 5
	"2032-03-12", "2033-03-12", "2034-03-12", "2035-03-12", "2036-03-12", // yearly to year 10
}

func TestTemplates(t *testing.T) {
	merged := []string{"2026-03-19", "2026-04-11", "2026-06-10"}
	merged = append(merged, tumourDates[1:3]...)
	merged = append(merged, "2027-03-12")
	merged = append(merged, tumourDates[4:]...)
	tests := []struct {
		name    string
		facts   []mapping.Event
		due     []string
		windows map[string][2]string // due → window
		reasons map[string][]string  // due → reasons
		methods map[string]string
	}{
		{
			name:  "grade-four surgery: 7, 30, 90, 365 days; ±3 days to day 30, ±14 after",
			facts: grade4Stay(),
			due:   []string{"2026-03-19", "2026-04-11", "2026-06-10", "2027-03-12"},
			windows: map[string][2]string{
				"2026-03-19": {"2026-03-16", "2026-03-22"}, "2026-04-11": {"2026-04-08", "2026-04-14"},
				"2026-06-10": {"2026-05-27", "2026-06-24"}, "2027-03-12": {"2027-02-26", "2027-03-26"},
			},
			reasons: map[string][]string{"2026-03-19": {followup.ReasonGrade4}},
			methods: map[string]string{"2026-03-19": "phone", "2026-06-10": "clinic"},
		},
		{
			name:    "malignant tumour: every 3 months to year 2, every 6 to year 5, yearly to year 10; ±14 days",
			facts:   tumourStay(),
			due:     tumourDates,
			windows: map[string][2]string{"2026-06-12": {"2026-05-29", "2026-06-26"}, "2036-03-12": {"2036-02-27", "2036-03-26"}},
			reasons: map[string][]string{"2026-06-12": {followup.ReasonTumour}},
			methods: map[string]string{"2026-06-12": "clinic", "2036-03-12": "phone"},
		},
		{
			name:  "both: one merged schedule, close contacts carry both reasons",
			facts: append(grade4Stay(), diagnosed("c1", "Encounter/e1", admitAt, "C18.2")),
			due:   merged,
			// day 90 (10 June) and month 3 (12 June) are one contact: the earlier date, both windows
			windows: map[string][2]string{"2026-06-10": {"2026-05-27", "2026-06-26"}},
			reasons: map[string][]string{
				"2026-03-19": {followup.ReasonGrade4},
				"2026-06-10": {followup.ReasonGrade4, followup.ReasonTumour},
				"2027-03-12": {followup.ReasonGrade4, followup.ReasonTumour},
				"2026-09-12": {followup.ReasonTumour},
			},
			methods: map[string]string{"2026-06-10": "clinic"},
		},
	}
	e := followup.New(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := apply(t, e, nil, input(before, tt.facts...))
			cs := contacts(t, out)
			if got := dueDates(cs); !slices.Equal(got, tt.due) {
				t.Fatalf("due dates\n got %v\nwant %v", got, tt.due)
			}
			for _, c := range cs {
				if c.Status != followup.StatusScheduled || c.Encounter != "Encounter/e1" || c.Assignee != "team:GI-SURG" ||
					c.Department != "GI-SURG" || !c.DischargedAt.Equal(dischargeAt) || c.Template != "follow-up-default@2026.1" {
					t.Errorf("contact %s: %+v", c.DueOn, c)
				}
				if w, ok := tt.windows[c.DueOn]; ok && (c.WindowStart != w[0] || c.WindowEnd != w[1]) {
					t.Errorf("%s: window %s–%s, want %s–%s", c.DueOn, c.WindowStart, c.WindowEnd, w[0], w[1])
				}
				if r, ok := tt.reasons[c.DueOn]; ok && !slices.Equal(c.Reasons, r) {
					t.Errorf("%s: reasons %v, want %v", c.DueOn, c.Reasons, r)
				}
				if m, ok := tt.methods[c.DueOn]; ok && c.Method != m {
					t.Errorf("%s: method %s, want %s", c.DueOn, c.Method, m)
				}
			}
			// No two contacts closer than the merge gap when they are of different groups.
			for i := 1; i < len(cs); i++ {
				a, _ := time.Parse(time.DateOnly, cs[i-1].DueOn)
				b, _ := time.Parse(time.DateOnly, cs[i].DueOn)
				if b.Sub(a) < 14*24*time.Hour && !slices.Equal(cs[i-1].Reasons, cs[i].Reasons) {
					t.Errorf("%s and %s are closer than 14 days", cs[i-1].DueOn, cs[i].DueOn)
				}
			}
			if !out.Wake.Equal(at("2026-03-16 00:00")) && tt.name[0] != 'm' {
				t.Errorf("wake %v, want the first window start", out.Wake)
			}
		})
	}
}

// A month after 31 January is the end of February; months from a discharge on the 31st.
func TestMonthEnds(t *testing.T) {
	facts := append(stay("Encounter/e1", at("2026-10-20 09:00"), at("2026-10-31 10:00")),
		diagnosed("c1", "Encounter/e1", at("2026-10-20 09:00"), "C50.9"))
	cs := contacts(t, apply(t, followup.New(nil), nil, input(at("2026-10-31 12:00"), facts...)))
	if got := dueDates(cs)[:4]; !slices.Equal(got, []string{"2027-01-31", "2027-04-30", "2027-07-31", "2027-10-31"}) {
		t.Errorf("due %v", got)
	}
}

func TestMergeGapConfigurable(t *testing.T) {
	cfg, err := followup.Parse("f.yaml", []byte(strings.Replace(string(defaultYAML(t)), "merge_within_days: 14", "merge_within_days: 0", 1)))
	if err != nil {
		t.Fatal(err)
	}
	facts := append(grade4Stay(), diagnosed("c1", "Encounter/e1", admitAt, "C18.2"))
	cs := contacts(t, apply(t, followup.New(cfg), nil, input(before, facts...)))
	if len(cs) != 4+19 {
		t.Errorf("with no merge gap: %d contacts, want 23", len(cs))
	}
}
