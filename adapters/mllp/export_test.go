package mllp

// ApplyLane applies records of one peer as an applier applies a patient's lane.
func (h *Handler) ApplyLane(p *Peer, recs []Record) int {
	jobs := make([]job, len(recs))
	for i, r := range recs {
		jobs[i] = job{rec: r, peer: p}
	}
	return h.applyLane(jobs)
}
