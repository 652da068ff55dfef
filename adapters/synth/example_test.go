package synth_test

import (
	"fmt"
	"time"

	"github.com/lujing-health/lujing/adapters/synth"
)

// A demo replays a ward that opened two weeks ago: everything up to now at once, the rest as
// its time comes.
func ExampleGenerator_Stream() {
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	now := start.Add(14 * 24 * time.Hour)
	g := synth.New(1, synth.Options{Start: start})
	history := 0
	for r := range g.Stream() {
		if r.Time.After(now) {
			break // from here on, send r (and the rest) when r.Time comes
		}
		history++ // send r now
	}
	fmt.Println(history > 1000)
	// Output: true
}

func ExampleTransaction() {
	g := synth.New(1, synth.Options{})
	story := g.Patient()
	body := synth.Transaction(story.Events[:2]) // Patient and Encounter, PUT by id
	fmt.Println(story.Events[0].Type, story.Events[1].Type, len(body) > 0)
	// Output: Patient Encounter true
}
