package mllp

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lujing-health/lujing/adapters/hl7v2"
)

// The listener acknowledges a message once its raw text is committed, and hands its FHIR to the
// intake afterwards: the applier. Mapping a message into the intake costs several times what
// storing it does (a result is five or six resources, each hashed, checked and stored), and a
// sender waits for each ACK before its next message, so the intake in the ACK's path bounds
// what one connection can send. The store is the truth: a message acknowledged and not applied
// is StatusReceived there, and Resume applies those after a restart.
//
// Receiving comes first: while messages arrive faster than a hospital's ordinary traffic (busy),
// one applier at a time applies the ordinary backlog, and the rest of the machine answers the
// senders; the backlog is applied at full speed once the burst has passed. Urgent messages are
// applied at once whatever the load.
//
// One patient's messages are applied in the order they were received: they wait in the
// patient's lane, and one applier at a time takes a lane. A possible critical value (urgent)
// puts its lane in a list of its own that other appliers serve, so that it does not wait behind
// other patients' backlog; its patient's earlier messages are applied before it, and of the
// urgent lanes the shortest goes first (nextUrgent).

// job is one message to apply.
type job struct {
	rec    Record
	peer   *Peer
	urgent bool
}

type lane struct {
	jobs             []job
	busy             bool      // an applier holds it
	inReady, inHurry bool      // its key is in ready, in hurry
	hurried          time.Time // when its key was put in hurry
}

type applier struct {
	do      func([]job) int // applies them in order; how many it did (fewer: try the rest later)
	backlog interface{ Set(float64) }

	mu      sync.Mutex
	work    *sync.Cond // a key was listed, or closing
	room    *sync.Cond // a job was applied, or closing
	lanes   map[string]*lane
	ready   keyList // lanes with messages
	hurry   keyList // lanes with an urgent message
	held    int     // jobs in lanes, taken or not
	max     int
	closing bool
	wg      sync.WaitGroup
	idle    *sync.Cond // held reached 0
	retry   time.Duration

	// Ordinary appliers at work, and how many may be: all of them, or one while busy.
	active, limit, workers int
	busyRate               int // messages/s from which the listener is busy
	arrived                atomic.Int64
	stopWatch              chan struct{}
}

func newApplier(do func([]job) int, backlog interface{ Set(float64) }, workers, urgent, max, busyRate int) *applier {
	a := &applier{do: do, backlog: backlog, lanes: map[string]*lane{}, max: max, retry: time.Second,
		limit: workers, workers: workers, busyRate: busyRate, stopWatch: make(chan struct{})}
	a.work = sync.NewCond(&a.mu)
	a.room = sync.NewCond(&a.mu)
	a.idle = sync.NewCond(&a.mu)
	for range workers {
		a.wg.Go(func() { a.run(&a.ready) })
	}
	for range urgent {
		a.wg.Go(func() { a.run(&a.hurry) })
	}
	if busyRate > 0 {
		a.wg.Go(a.watch)
	}
	return a
}

// watch measures the arrival rate four times a second and sets how many ordinary appliers may
// work.
func (a *applier) watch() {
	const tick = 250 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	last := a.arrived.Load()
	for {
		select {
		case <-a.stopWatch:
			return
		case <-t.C:
		}
		n := a.arrived.Load()
		busy := float64(n-last)/tick.Seconds() >= float64(a.busyRate)
		last = n
		a.setBusy(busy)
	}
}

func (a *applier) setBusy(busy bool) {
	limit := a.workers
	if busy {
		limit = 1
	}
	a.mu.Lock()
	if a.limit != limit {
		a.limit = limit
		a.work.Broadcast()
	}
	a.mu.Unlock()
}

// add puts a job in its patient's lane. Unless forced, it waits while the lanes hold max jobs:
// a sender then waits for its ACK, which slows it to what the intake takes. False when closing.
func (a *applier) add(j job, key string, force bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.held >= a.max && !a.closing && !force {
		a.room.Wait()
	}
	if a.closing {
		return false
	}
	l := a.lanes[key]
	if l == nil {
		l = &lane{}
		a.lanes[key] = l
	}
	l.jobs = append(l.jobs, j)
	a.held++
	a.backlog.Set(float64(a.held))
	if !l.busy {
		a.list(key, l, j.urgent)
	}
	return true
}

// list puts a lane's key where an applier finds it. Caller holds mu.
func (a *applier) list(key string, l *lane, urgent bool) {
	switch {
	case urgent && !l.inHurry:
		l.inHurry, l.hurried = true, time.Now()
		a.hurry.push(key)
	case !urgent && !l.inReady:
		l.inReady = true
		a.ready.push(key)
	default:
		return
	}
	a.work.Broadcast()
}

func (a *applier) run(from *keyList) {
	for {
		key, l, ok := a.take(from)
		if !ok {
			return
		}
		n := len(l.jobs)
		if from == &a.hurry {
			// Up to the last urgent message: what follows it waits its turn.
			n = lastUrgent(l.jobs) + 1
		}
		jobs := l.jobs[:n:n]
		l.jobs = l.jobs[n:]
		a.mu.Unlock()
		done := a.do(jobs)
		a.mu.Lock()
		if from == &a.ready {
			a.active--
			a.work.Broadcast()
		}
		l.jobs = append(jobs[done:], l.jobs...)
		l.busy = false
		a.held -= done
		a.backlog.Set(float64(a.held))
		a.room.Broadcast()
		switch {
		case len(l.jobs) == 0:
			delete(a.lanes, key)
		case a.closing:
		default:
			a.list(key, l, urgentIn(l.jobs))
		}
		if a.held == 0 {
			a.idle.Broadcast()
		}
		a.mu.Unlock()
		if done < len(jobs) {
			// The intake or the store failed: the message waits in its lane and is tried
			// again after a pause, or applied from the store after a restart.
			time.Sleep(a.retry)
		}
	}
}

// take returns, with mu held, a lane with jobs from list, marked busy. False when closing.
func (a *applier) take(from *keyList) (string, *lane, bool) {
	a.mu.Lock()
	for {
		if a.closing {
			a.mu.Unlock()
			return "", nil, false
		}
		if from == &a.ready && a.active >= a.limit {
			a.work.Wait()
			continue
		}
		var key string
		var ok bool
		if from == &a.hurry {
			key, ok = a.nextUrgent()
		} else {
			key, ok = from.pop()
		}
		if !ok {
			a.work.Wait()
			continue
		}
		l := a.lanes[key]
		if l == nil {
			continue
		}
		if from == &a.hurry {
			l.inHurry = false
		} else {
			l.inReady = false
		}
		if l.busy || len(l.jobs) == 0 {
			continue // taken from the other list; its applier lists it again if needed
		}
		l.busy = true
		if from == &a.ready {
			a.active++
		}
		return key, l, true
	}
}

// wait returns once every job added so far is applied, or ctx ends.
func (a *applier) wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.idle.Broadcast()
		a.mu.Unlock()
	})
	defer stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.held > 0 && ctx.Err() == nil && !a.closing {
		a.idle.Wait()
	}
	return ctx.Err()
}

// close stops the appliers once each has finished the message in hand; what is left stays
// StatusReceived in the store, applied after the next start.
func (a *applier) close() {
	close(a.stopWatch)
	a.mu.Lock()
	a.closing = true
	a.work.Broadcast()
	a.room.Broadcast()
	a.idle.Broadcast()
	a.mu.Unlock()
	a.wg.Wait()
}

// lastUrgent is the index of the last urgent job, or len(jobs)-1 when none is.
func lastUrgent(jobs []job) int {
	for i := len(jobs) - 1; i >= 0; i-- {
		if jobs[i].urgent {
			return i
		}
	}
	return len(jobs) - 1
}

func urgentIn(jobs []job) bool {
	for _, j := range jobs {
		if j.urgent {
			return true
		}
	}
	return false
}

// nextUrgent picks the urgent lane to apply next: the one with the fewest messages to apply
// before its urgent one, unless the longest waiting has waited hurryAge. In a burst every
// patient's lane grows, each urgent message drags its patient's backlog, and in the order
// listed a fresh patient's critical potassium waited behind lanes of twenty messages each,
// past ten seconds; the age bounds how long a long lane may be passed over. Caller holds mu.
func (a *applier) nextUrgent() (string, bool) {
	q := &a.hurry
	if q.head == len(q.keys) {
		return "", false
	}
	best, cost := q.head, -1
	if l := a.lanes[q.keys[q.head]]; l == nil || time.Since(l.hurried) < hurryAge {
		for i := q.head; i < len(q.keys); i++ {
			c := 0 // a stale key: taken at once, and dropped
			if l := a.lanes[q.keys[i]]; l != nil && !l.busy {
				c = lastUrgent(l.jobs) + 1
			}
			if cost < 0 || c < cost {
				best, cost = i, c
			}
			if c <= 1 {
				break
			}
		}
	}
	k := q.keys[best]
	q.keys = append(q.keys[:best], q.keys[best+1:]...)
	if q.head == len(q.keys) {
		q.keys, q.head = q.keys[:0], 0
	}
	return k, true
}

// hurryAge is how long an urgent lane may be passed over by shorter ones.
const hurryAge = 30 * time.Second

// keyList is a FIFO of lane keys.
type keyList struct {
	keys []string
	head int
}

func (q *keyList) push(k string) { q.keys = append(q.keys, k) }

func (q *keyList) pop() (string, bool) {
	if q.head == len(q.keys) {
		return "", false
	}
	k := q.keys[q.head]
	q.keys[q.head] = ""
	q.head++
	if q.head == len(q.keys) {
		q.keys, q.head = q.keys[:0], 0
	}
	return k, true
}

// laneKey is the patient a message is about: the first identifier of PID-3 with its assigning
// authority, the same whichever system sends it. A message without one has a lane of its own.
func laneKey(m *hl7v2.Message, rec Record) string {
	if pid, ok := m.Segment("PID"); ok {
		if reps := pid.Field(3).Reps(); len(reps) > 0 {
			if id := strings.TrimSpace(reps[0].C(1)); id != "" {
				return "pid:" + strings.TrimSpace(reps[0].C(4)) + "|" + id
			}
		}
	}
	return "msg:" + rec.Sender + "|" + rec.ControlID
}

// urgentFlags are the abnormal flags (OBX-8, table 0078) of a critical value, and urgentStatuses
// the result statuses (OBX-11) that correct or withdraw one.
var (
	urgentFlags    = map[string]bool{"HH": true, "LL": true, "AA": true}
	urgentStatuses = map[string]bool{"C": true, "D": true, "W": true}
)

// Urgent reports whether a message may make, change or withdraw a critical value: a result
// flagged HH, LL or AA, or a corrected or withdrawn result. The default triage of the listener;
// a result that only a local rule finds critical, unflagged, is applied in its turn.
func Urgent(m *hl7v2.Message) bool {
	for _, s := range m.Segments {
		if s.Name != "OBX" {
			continue
		}
		for _, f := range s.Field(8).Reps() {
			if urgentFlags[strings.ToUpper(strings.TrimSpace(f.String()))] {
				return true
			}
		}
		if urgentStatuses[strings.ToUpper(strings.TrimSpace(s.Field(11).String()))] {
			return true
		}
	}
	return false
}
