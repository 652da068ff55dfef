package main

import (
	"log/slog"
	"time"

	"github.com/lujing-health/lujing/adapters/clinical"
	"github.com/lujing-health/lujing/adapters/synth"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/bundle"
	"github.com/lujing-health/lujing/pathways"
)

// warmUp sends a few synthetic patients through the Bundle parser, the mapping and the
// clinical cores in memory — nothing is stored — so that the JSON decoders they compile on
// first use are ready before traffic comes. The fast decoder (sonic) JIT-compiles one per Go
// type; on the first seconds of a busy server that took 1.5 s of CPU and made the first
// critical values wait over a second. It returns how many patients it ran.
func warmUp(m *liveMapper, cores []clinical.Named, zone *time.Location, log *slog.Logger) int {
	start := time.Now()
	now := start.UTC()
	g := synth.New(1, synth.Options{Start: now.AddDate(0, 0, -6), Zone: zone, AdmissionsPerDay: 2})
	facts := map[string][]mapping.Event{}
	var chunk []synth.Resource
	for r := range g.Stream() {
		if r.Time.After(now) {
			break
		}
		if len(chunk) < 100 {
			chunk = append(chunk, r)
		}
		res, err := m.cur.Load().Preview(mapping.Input{Type: r.Type, ID: r.ID, Version: 1, Body: r.JSON, Source: string(r.Source)}, nil)
		if err != nil {
			continue
		}
		for _, e := range res.Events {
			facts[e.Patient] = append(facts[e.Patient], e)
		}
	}
	bundle.Parse(synth.Transaction(chunk), bundle.Limits{})
	for patient, evs := range facts {
		in := pathways.Input{Patient: pathways.Patient{Ref: patient}, Facts: pathways.InForce(evs), Now: now}
		for _, c := range cores {
			// Twice: the second run decodes the state the first one wrote.
			if out, err := c.Core.Apply(nil, in); err == nil {
				c.Core.Apply(out.State, in)
			}
		}
	}
	log.Debug("warmed up the decoders", "patients", len(facts), "took", time.Since(start))
	return len(facts)
}
