package followup_test

import (
	"slices"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/pathways/followup"
)

// The synthetic HIS's colon-cancer stories, as the sources send them: the first patient who
// comes back within 31 days is followed up for both reasons and has a readmission finding,
// whatever order the resources arrive in.
func TestSynthColonCancer(t *testing.T) {
	g := synth.New(11, synth.Options{Mix: map[string]int{synth.ColonCancer: 1}})
	var story *synth.Story
	for range 400 {
		s := g.Patient()
		encounters := map[string]bool{}
		for _, r := range s.Events {
			if r.Type == "Encounter" {
				encounters[r.ID] = true
			}
		}
		if len(encounters) == 2 {
			story = s
			break
		}
	}
	if story == nil {
		t.Fatal("no colon-cancer story with a readmission in 400 patients")
	}
	var rs []resource
	for _, r := range g.Facility() {
		rs = append(rs, resource{r.Ref(), 1, r.JSON})
	}
	versions := map[string]int{}
	for _, r := range story.Events {
		versions[r.Ref()]++
		rs = append(rs, resource{r.Ref(), versions[r.Ref()], r.JSON})
	}
	now := story.Discharged.Add(24 * time.Hour)
	e := followup.New(nil)
	out := replay(t, e, rs, now)
	ss := stays(t, out)
	if len(ss) != 2 {
		t.Fatalf("%d stays", len(ss))
	}
	first := ss[0]
	if first.Status != followup.StatusEligible || !slices.Equal(first.Reasons, []string{followup.ReasonGrade4, followup.ReasonTumour}) {
		t.Errorf("first stay: %+v", first)
	}
	if len(first.Findings) == 0 || first.Findings[0].Kind != followup.FindingReadmission || first.Findings[0].Planned || first.Findings[0].Day > 31 {
		t.Errorf("findings %+v", first.Findings)
	}
	if len(contacts(t, out)) == 0 {
		t.Error("no contacts")
	}
	// Facility first (it is reference data), the story's resources in a shuffled order.
	for i := range 3 {
		shuffled := slices.Clone(rs)
		n := len(g.Facility())
		rnd := rngFor(i)
		rnd.Shuffle(len(shuffled)-n, func(a, b int) { shuffled[n+a], shuffled[n+b] = shuffled[n+b], shuffled[n+a] })
		if got := replay(t, e, shuffled, now); !sameRecords(out.Records, got.Records) {
			t.Errorf("shuffle %d: records differ", i)
		}
	}
}
