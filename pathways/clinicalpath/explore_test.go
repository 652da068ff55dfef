package clinicalpath_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/pathways"
)

func TestExplore(t *testing.T) {
	eng := newEngine(t)
	for _, sc := range []string{synth.ColonCancer, synth.STEMI, synth.Appendicitis} {
		g := synth.New(3, synth.Options{Mix: map[string]int{sc: 1}})
		for i := range 12 {
			s := g.Patient()
			r := replay(t, eng, storyPatient(t, s), storyArrivals(s), s.Discharged.Add(48*time.Hour))
			for _, x := range instances(t, r.out.Records) {
				st := map[string]int{}
				for _, it := range x.Items {
					st[it.Status]++
				}
				var vs []string
				for _, v := range x.Variances {
					vs = append(vs, v.Kind+":"+v.Item)
				}
				fmt.Printf("%s #%d %s %s %s stage=%s los=%d day=%d items=%v var=%v notices=%d\n", sc, i, x.Pathway.ID, x.Status, x.Completion, x.Stage, x.LengthOfStay, x.Day, st, vs, len(r.notices))
			}
			for _, n := range r.notices {
				if sc == synth.STEMI && (i == 9 || i == 1) {
					fmt.Printf("   notice %s %s %s\n", n.Name, n.At.Format(time.RFC3339), n.Record)
					for _, x := range instances(t, []pathways.Record{{Body: n.Data}}) {
						for _, it := range x.Items {
							if it.Status == "overdue" {
								fmt.Printf("      overdue %s due %v; day %d, admitted %v\n", it.ID, it.DueAt, x.Day, x.AdmittedAt)
							}
						}
					}
				}
			}
			if len(r.out.Records) == 0 {
				fmt.Printf("%s #%d: no instance\n", sc, i)
			}
		}
	}
}
