package clinical

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// eventCache keeps the events of the patients run lately, so that a run reads only the
// events stored since the last one: every run hands a core all the patient's facts, and
// reading a whole stay (hundreds of events) for each new result was most of a run's cost.
// Events are append-only, and one patient's are stored by one worker at a time, so the
// positions read are complete; an entry is still read in full again after ttl, in case a
// replica handing a patient over broke that.
type eventCache struct {
	max int
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*patientEvents
	// who keeps each patient's age and sex for ttl.
	who map[string]demographics
}

type demographics struct {
	p  pathways.Patient
	at time.Time
}

type patientEvents struct {
	events []mapping.Event // every version, in storing order
	pos    int64           // the position of the last one
	loaded time.Time       // when it was last read in full
	used   time.Time
}

func newEventCache(max int, ttl time.Duration) *eventCache {
	return &eventCache{max: max, ttl: ttl, m: map[string]*patientEvents{}, who: map[string]demographics{}}
}

// patient returns the patient's age and sex read within ttl.
func (c *eventCache) patient(key string, now time.Time) (pathways.Patient, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.who[key]
	if !ok || now.Sub(d.at) >= c.ttl {
		return pathways.Patient{}, false
	}
	return d.p, true
}

func (c *eventCache) setPatient(key string, p pathways.Patient, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.who) >= c.max {
		clear(c.who)
	}
	c.who[key] = demographics{p: pathways.Patient{BirthDate: p.BirthDate, Gender: p.Gender}, at: now}
}

// read returns every event of the patient, as stored, in storing order.
func (c *eventCache) read(ctx context.Context, st interface {
	EventsSince(ctx context.Context, patientKey string, after int64) ([]store.Event, error)
}, patient string, now time.Time) ([]mapping.Event, error) {
	var base []mapping.Event
	var after int64
	loaded := now
	c.mu.Lock()
	if e, ok := c.m[patient]; ok && now.Sub(e.loaded) < c.ttl {
		base, after, loaded = e.events, e.pos, e.loaded
	}
	c.mu.Unlock()
	evs, err := st.EventsSince(ctx, patient, after)
	if err != nil {
		return nil, err
	}
	all := slices.Clip(base) // appending copies: the cached slice is never written to
	pos := after
	for _, e := range evs {
		all = append(all, mapping.Event{Key: e.Key, Version: int(e.Version), Kind: e.Kind, Patient: e.Patient, Encounter: e.Encounter,
			Hospital: e.Hospital, Source: e.Source, At: e.At, Resource: e.Resource, Data: e.Data})
		pos = max(pos, e.Position)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.m[patient]; ok && cur.pos > pos {
		return all, nil // a concurrent run read further: keep its entry
	}
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if now.Sub(e.used) > c.ttl/2 {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[patient] = &patientEvents{events: slices.Clip(all), pos: pos, loaded: loaded, used: now}
	return all, nil
}
