package synth

import (
	"container/heap"
	"iter"
)

// Stream yields the hospital's traffic without end: first Facility, then the events of
// successive patients merged in clinical-time order, as the sources would send them over
// weeks — admissions, then orders and results, operations, discharges, many patients
// interleaved. Stop ranging to stop it. Memory stays bounded by the patients in hospital.
//
// Stream draws patients from the Generator, so two Streams of one Generator do not repeat
// each other; make a new Generator with the same seed for the same traffic.
func (g *Generator) Stream() iter.Seq[Resource] {
	return func(yield func(Resource) bool) {
		for _, r := range g.Facility() {
			if !yield(r) {
				return
			}
		}
		var h eventHeap
		seq := 0
		next := g.Patient()
		for {
			// Take in every patient who has arrived by the earliest pending event: no event of
			// a later patient can come before its arrival, so what is popped is final.
			for len(h) == 0 || !next.arrival.After(h[0].Time) {
				for _, e := range next.Events {
					heap.Push(&h, event{e, seq})
					seq++
				}
				next = g.Patient()
			}
			if !yield(heap.Pop(&h).(event).Resource) {
				return
			}
		}
	}
}

// Traffic groups Stream into chunks of size resources (size < 1 is 1) for Bundles.
//
// A transaction may not touch one resource twice, and the stream often has two versions of a
// resource close together (an Encounter on admission and again once its diagnosis is coded).
// So a newer version that meets an older one in the chunk waits for the next chunk, as do its
// later versions; everything else goes on filling the chunk. Chunks are therefore always full,
// the versions of a resource keep their order, and a resource is overtaken by less than a
// chunk's worth of others.
//
//	for chunk := range g.Traffic(100) {
//		body := synth.Transaction(chunk)
//		…
//	}
func (g *Generator) Traffic(size int) iter.Seq[[]Resource] {
	size = max(size, 1)
	return func(yield func([]Resource) bool) {
		chunk := make([]Resource, 0, size)
		in := make(map[string]bool, size)
		var waiting []Resource   // versions held back for a later chunk, in stream order
		held := map[string]int{} // how many versions of a resource are waiting
		for r := range g.Stream() {
			if in[r.Ref()] || held[r.Ref()] > 0 {
				waiting = append(waiting, r)
				held[r.Ref()]++
				continue
			}
			chunk = append(chunk, r)
			in[r.Ref()] = true
			for len(chunk) == size {
				if !yield(chunk) {
					return
				}
				chunk, in = make([]Resource, 0, size), make(map[string]bool, size)
				// The held-back versions start the next chunk, one version per resource.
				rest := waiting[:0:0]
				for _, w := range waiting {
					if in[w.Ref()] || len(chunk) == size {
						rest = append(rest, w)
						continue
					}
					chunk = append(chunk, w)
					in[w.Ref()] = true
					held[w.Ref()]--
				}
				waiting = rest
			}
		}
	}
}

type event struct {
	Resource
	seq int // push order: ties in time keep the order the stories made them in
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if c := h[i].Time.Compare(h[j].Time); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = event{}
	*h = old[:len(old)-1]
	return e
}
