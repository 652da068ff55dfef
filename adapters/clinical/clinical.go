// Package clinical runs the pure clinical cores (pathways/clinicalpath, pathways/criticalvalue,
// pathways/followup) against the store and the queue: for a patient whose events changed, or
// whose timer fired, it reads the events in force, hands them to each core with the core's
// state, and stores what the core answers — state, records and stream events — in one
// transaction per core. It schedules the core's next run through the queue, so deadlines are
// rows in the store (core_state.wake) and survive a restart.
//
// Clinicians' actions (acknowledge a critical value, record a variance) go through Act: the
// same read–apply–store cycle, retried when the worker saved the same patient in between.
package clinical

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/pathways"
)

// Core is a pure clinical core.
type Core interface {
	Apply(state json.RawMessage, in pathways.Input) (pathways.Outcome, error)
}

// Store is what the runner needs of the store.
type Store interface {
	EventsSince(ctx context.Context, patientKey string, after int64) ([]store.Event, error)
	Resource(ctx context.Context, typ, id string) (store.Resource, error)
	CoreState(ctx context.Context, core, patient string) (store.CoreState, error)
	SaveCore(ctx context.Context, s store.CoreSave) ([]store.StreamEvent, error)
	Record(ctx context.Context, kind, id string) (store.Record, error)
	Wakes(ctx context.Context, limit int) ([]store.CoreState, error)
	PatientCores(ctx context.Context, patient string) ([]store.CoreState, error)
	Poke(ctx context.Context, core, patient string, at time.Time) (exists, moved bool, err error)
	MarkRecent(ctx context.Context, since, at time.Time) (int64, error)
	DueMarks(ctx context.Context, now time.Time, limit int) ([]store.CoreState, error)
	ClaimMark(ctx context.Context, core, patient string, was, until time.Time) (bool, error)
}

// Scheduler runs a key again at a time (the queue); urgent cores' timers (a critical value's
// escalation) go through its urgent lane.
type Scheduler interface {
	Schedule(ctx context.Context, id, key string, at time.Time) error
	ScheduleUrgent(ctx context.Context, id, key string, at time.Time) error
}

// Notifier is told when stream events were stored (the live stream's hub).
type Notifier interface {
	Published(last int64)
}

// Named is a core with the name its state is stored under.
type Named struct {
	Name string
	Core Core
	// Urgent are the event kinds that make the core run at once when new ones arrive (a
	// critical value: results, imaging, withdrawals). After other new events, or for a core
	// with none, the runner coalesces the core's runs: at most one per Options.Coalesce per
	// patient, the last at most Coalesce late — pathway items and follow-up schedules need
	// no sub-second answer, and a patient's burst of data then costs one run, not fifty.
	Urgent []string
}

// Runner drives the cores.
type Runner struct {
	cores []Named
	store Store
	sched Scheduler
	note  Notifier
	now   func() time.Time
	log   *slog.Logger

	coalesce time.Duration
	// marks remembers the coalescing marks this process set (core + patient → when due), so
	// that a patient's stream of messages pokes the store once per window, not per message.
	// A core's run for the patient forgets its mark; a mark whose time passed is not trusted.
	marksMu sync.Mutex
	marks   map[string]time.Time
	events  *eventCache
	runs    *prometheus.HistogramVec
	saves   *prometheus.CounterVec
}

// Options configure a Runner.
type Options struct {
	Scheduler Scheduler
	Notifier  Notifier
	Now       func() time.Time
	Logger    *slog.Logger
	// Coalesce is how long deferred cores' runs for one patient are gathered; default 30 s:
	// a pathway item or a follow-up schedule a few seconds late harms no one, and a patient
	// whose data keeps arriving (a lab run, a busy HIS) then costs two runs a minute, not one
	// per message.
	Coalesce time.Duration
	// Registerer takes the runner's metrics; nil: not registered.
	Registerer prometheus.Registerer
}

// New returns a runner of the cores, in order.
func New(st Store, cores []Named, opts Options) *Runner {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Coalesce <= 0 {
		opts.Coalesce = 30 * time.Second
	}
	r := &Runner{cores: cores, store: st, sched: opts.Scheduler, note: opts.Notifier, now: opts.Now, log: opts.Logger,
		coalesce: opts.Coalesce, marks: map[string]time.Time{}, events: newEventCache(2000, time.Minute),
		runs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lujing_clinical_run_seconds",
			Help: "Time of one core's run for one patient: read its state, apply, store.", Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12)}, []string{"core"}),
		saves: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lujing_clinical_saves_total",
			Help: "Core runs and actions that changed something and were stored."}, []string{"core"})}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(r.runs, r.saves)
	}
	return r
}

// Run runs every core for the patient key. Keys that are not patients ("Organization/x") have
// nothing to run.
func (r *Runner) Run(ctx context.Context, key string) error {
	if !strings.HasPrefix(key, "Patient/") || len(r.cores) == 0 {
		return nil
	}
	return r.runCores(ctx, key, r.cores)
}

// AfterWork is the worker's after-hook.
//
// A delivery that applied messages but produced no events changes nothing the cores read:
// nothing runs. New events run at once the cores those kinds are urgent for; for the other
// cores the run is coalesced: marked due (core_state.dirty) Coalesce from now, keeping an
// earlier mark — a patient's burst of data then costs one run, not one per message — and the
// sweeper (Sweep) runs it, apart from the worker, so that coalesced work never queues ahead
// of a critical value. A core that never ran for the patient runs at once.
//
// A delivery that applied nothing — a core's timer, or a key published again whose messages
// an earlier delivery already took — runs the cores whose wake has passed, read from the
// store, so any replica's timer finds the work.
func (r *Runner) AfterWork(ctx context.Context, key string, messages int, kinds []string) error {
	if !strings.HasPrefix(key, "Patient/") || len(r.cores) == 0 {
		return nil
	}
	if messages > 0 && len(kinds) == 0 {
		return nil
	}
	now := r.now()
	var run []Named
	if messages == 0 {
		states, err := r.store.PatientCores(ctx, key)
		if err != nil {
			return err
		}
		for _, c := range r.cores {
			i := slices.IndexFunc(states, func(s store.CoreState) bool { return s.Core == c.Name })
			if i >= 0 && !states[i].Wake.IsZero() && !states[i].Wake.After(now) {
				run = append(run, c)
			}
		}
	} else {
		for _, c := range r.cores {
			if slices.ContainsFunc(kinds, func(k string) bool { return slices.Contains(c.Urgent, k) }) {
				run = append(run, c)
				continue
			}
			at := now.Add(r.coalesce)
			mk := c.Name + "|" + key
			r.marksMu.Lock()
			marked, ok := r.marks[mk]
			r.marksMu.Unlock()
			if ok && marked.After(now) {
				continue // marked already, its timer set
			}
			exists, moved, err := r.store.Poke(ctx, c.Name, key, at)
			if err != nil {
				return err
			}
			// Only a mark this poke set is remembered. One it kept is earlier, perhaps due
			// and being swept now on events read before these: remembering `at` would
			// skip the pokes that must follow that run.
			if moved {
				r.marksMu.Lock()
				if len(r.marks) > 100_000 {
					clear(r.marks) // a memo only: the store has the marks
				}
				r.marks[mk] = at
				r.marksMu.Unlock()
			}
			if !exists {
				run = append(run, c)
			}
		}
	}
	if len(run) == 0 {
		return nil
	}
	return r.runCores(ctx, key, run)
}

// runCores runs the cores for the patient on one reading of the events.
func (r *Runner) runCores(ctx context.Context, key string, cores []Named) error {
	in, err := r.input(ctx, key)
	if err != nil {
		return err
	}
	for _, c := range cores {
		if err := r.runCore(ctx, c, in); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) runCore(ctx context.Context, c Named, in pathways.Input) error {
	return r.runCoreClaimed(ctx, c, in, time.Time{})
}

// runCoreClaimed runs a core; claimed, when set, is the mark the sweeper claimed: the save
// clears the mark only if no new one was set since.
func (r *Runner) runCoreClaimed(ctx context.Context, c Named, in pathways.Input, claimed time.Time) error {
	r.marksMu.Lock()
	delete(r.marks, c.Name+"|"+in.Patient.Ref)
	r.marksMu.Unlock()
	start := time.Now()
	defer func() { r.runs.WithLabelValues(c.Name).Observe(time.Since(start).Seconds()) }()
	for attempt := 0; ; attempt++ {
		// A run's own saves need not wait for the disk: the events it read are stored, and the
		// next run recomputes the same; a save with stream events always does (SaveCore).
		_, err := r.cycle(ctx, c.Name, in.Patient, false, claimed, func(state json.RawMessage, now time.Time) (pathways.Outcome, error) {
			in.Now = now
			return c.Core.Apply(state, in)
		})
		if errors.Is(err, store.ErrConflict) && attempt < 5 {
			continue // a clinician's action saved the patient in between: run on the new state
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", c.Name, in.Patient.Ref, err)
		}
		return nil
	}
}

// Act runs a clinician's action on one core's state of a patient: fn gets the state and the
// time and answers like the core's action methods. When fn returns a *pathways.Error together
// with an Outcome that has a State (a refused read-back the core records), the outcome is
// stored and the error returned.
func (r *Runner) Act(ctx context.Context, core, patient string, fn func(state json.RawMessage, now time.Time) (pathways.Outcome, error)) (pathways.Outcome, error) {
	in, err := r.input(ctx, patient)
	if err != nil {
		return pathways.Outcome{}, err
	}
	for attempt := 0; ; attempt++ {
		out, err := r.cycle(ctx, core, in.Patient, true, time.Time{}, fn) // a clinician's action is on disk before the answer
		if errors.Is(err, store.ErrConflict) && attempt < 5 {
			continue
		}
		return out, err
	}
}

// cycle reads the state, applies fn, and stores the outcome unless it changes nothing.
func (r *Runner) cycle(ctx context.Context, core string, p pathways.Patient, durable bool, claimed time.Time, fn func(json.RawMessage, time.Time) (pathways.Outcome, error)) (pathways.Outcome, error) {
	prev, err := r.store.CoreState(ctx, core, p.Ref)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return pathways.Outcome{}, err
	}
	now := r.now().UTC()
	out, ferr := fn(prev.State, now)
	var refusal *pathways.Error
	if ferr != nil && !(errors.As(ferr, &refusal) && out.State != nil) {
		return out, ferr
	}
	if out.State == nil {
		return out, fmt.Errorf("%s returned no state", core)
	}
	if !out.Wake.IsZero() && !out.Wake.After(now) {
		// A core must move its wake past the time it was given; guard against a loop.
		r.log.Warn("core wake not in the future", "core", core, "wake", out.Wake, "now", now)
		out.Wake = now.Add(time.Second)
	}
	// A run read every event stored before it: its save clears a coalesced mark. An action
	// (durable) read no events, and leaves the mark for the run it waits for.
	save := store.CoreSave{Core: core, Patient: p.Ref, Version: prev.Version, State: out.State, Wake: out.Wake, Durable: durable, Clean: !durable, CleanIf: claimed}
	for _, rec := range out.Records {
		save.Records = append(save.Records, store.Record{Kind: rec.Kind, ID: rec.ID, Patient: p.Ref, Encounter: rec.Encounter,
			Department: rec.Department, Status: rec.Status, Hospital: p.Hospital, Opened: rec.Opened, Closed: rec.Closed, Body: rec.Body,
			Measures: measures(rec.Measures, p)})
	}
	save.Digest = digest(save)
	if len(out.Notices) == 0 && prev.Version > 0 && save.Digest == prev.Digest && (durable || prev.Dirty.IsZero()) && claimed.IsZero() {
		return out, ferr // nothing changed (and no mark to clear): no write
	}
	for _, n := range out.Notices {
		save.Events = append(save.Events, store.StreamEvent{Name: n.Name, Record: n.Record, Patient: n.Patient,
			Department: n.Department, At: n.At, Data: n.Data})
	}
	evs, err := r.store.SaveCore(ctx, save)
	if err != nil {
		return out, err
	}
	r.saves.WithLabelValues(core).Inc()
	if len(evs) > 0 && r.note != nil {
		r.note.Published(evs[len(evs)-1].ID)
	}
	if r.sched != nil && !out.Wake.IsZero() && !out.Wake.Equal(prev.Wake) {
		if err := r.schedule(ctx, core, p.Ref, out.Wake); err != nil {
			// The wake is stored: Reschedule at the next start, or the next event, picks it up.
			r.log.Warn("schedule core wake", "core", core, "err", err)
		}
	}
	return out, ferr
}

// schedule sets the timer of a core's wake for a patient, in the urgent lane for a core that
// runs at once on its events (a critical value's escalation must not queue behind a backlog).
func (r *Runner) schedule(ctx context.Context, core, patient string, at time.Time) error {
	id := "core:" + core + ":" + patient
	if i := slices.IndexFunc(r.cores, func(c Named) bool { return c.Name == core }); i >= 0 && len(r.cores[i].Urgent) > 0 {
		return r.sched.ScheduleUrgent(ctx, id, patient, at)
	}
	return r.sched.Schedule(ctx, id, patient, at)
}

// digest identifies a save's content: state, wake, records and their measures.
func digest(s store.CoreSave) string {
	h := sha256.New()
	h.Write(s.State)
	fmt.Fprintf(h, "\x00%d", s.Wake.UnixMicro())
	for _, r := range s.Records {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00", r.Kind, r.ID, r.Encounter, r.Department, r.Status, r.Opened.UnixMicro(), r.Closed.UnixMicro())
		h.Write(r.Body)
		for _, m := range r.Measures {
			v := "-"
			if m.Value != nil {
				v = fmt.Sprint(*m.Value)
			}
			fmt.Fprintf(h, "\x01%s\x00%d\x00%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00%t\x00%s", m.Indicator, m.At.UnixMicro(), m.Hospital,
				m.Department, m.Setting, m.Subject, m.Denominator, m.Numerator, m.Excluded, v)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// measures converts a record's QC rows for the store: the subject and hospital default to the
// patient's.
func measures(ms []pathways.Measure, p pathways.Patient) []store.Measure {
	if len(ms) == 0 {
		return nil
	}
	out := make([]store.Measure, len(ms))
	for i, m := range ms {
		out[i] = store.Measure{Indicator: m.Indicator, At: m.At, Hospital: cmp.Or(m.Hospital, p.Hospital), Department: m.Department,
			Setting: m.Setting, Subject: cmp.Or(m.Subject, p.Ref), Denominator: m.Denominator, Numerator: m.Numerator,
			Value: m.Value, Excluded: m.Excluded}
	}
	return out
}

// Reschedule schedules every stored wake again: after a restart the in-process queue has no
// timers, and a Redis queue may have lost them with a flush.
func (r *Runner) Reschedule(ctx context.Context) (int, error) {
	if r.sched == nil {
		return 0, nil
	}
	// Marks are written without waiting for the disk; a crash may have lost the last ones.
	// The patients processed in the minutes before this start are run again to be sure.
	now := r.now()
	if _, err := r.store.MarkRecent(ctx, now.Add(-10*time.Minute), now); err != nil {
		return 0, err
	}
	wakes, err := r.store.Wakes(ctx, 1_000_000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, w := range wakes {
		if w.Wake.IsZero() {
			continue // only a mark: the sweeper runs it
		}
		if err := r.schedule(ctx, w.Core, w.Patient, w.Wake); err != nil {
			return 0, fmt.Errorf("reschedule %s: %w", w.Core, err)
		}
		n++
	}
	return n, nil
}

// input reads the patient and the events in force.
func (r *Runner) input(ctx context.Context, key string) (pathways.Input, error) {
	in := pathways.Input{Patient: pathways.Patient{Ref: key}}
	all, err := r.events.read(ctx, r.store, key, r.now())
	if err != nil {
		return in, fmt.Errorf("events: %w", err)
	}
	for _, e := range all {
		if e.Hospital != "" {
			in.Patient.Hospital = e.Hospital
		}
	}
	in.Facts = pathways.InForce(all)
	// Age and sex come from the Patient resource, read again at most once a minute: they
	// change rarely, and a change makes no event that would run the cores anyway.
	if p, ok := r.events.patient(key, r.now()); ok {
		in.Patient.BirthDate, in.Patient.Gender = p.BirthDate, p.Gender
		return in, nil
	}
	res, err := r.store.Resource(ctx, "Patient", strings.TrimPrefix(key, "Patient/"))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return in, fmt.Errorf("patient: %w", err)
	case !res.Deleted:
		var p struct {
			BirthDate string `json:"birthDate"`
			Gender    string `json:"gender"`
		}
		if json.Unmarshal(res.Body, &p) == nil {
			in.Patient.Gender = p.Gender
			for _, layout := range []string{"2006-01-02", "2006-01", "2006"} {
				if t, err := time.Parse(layout, p.BirthDate); err == nil {
					in.Patient.BirthDate = t
					break
				}
			}
		}
	}
	r.events.setPatient(key, in.Patient, r.now())
	return in, nil
}

// Sweep runs the coalesced work (due marks) until ctx ends, one patient at a time: apart
// from the worker, so that it never delays a critical value, and at a pace the cores allow.
// Every replica sweeps; a mark is claimed (leased for a minute) before it is run, so one
// replica runs it, and a claim whose run died is run again when its lease ends.
func (r *Runner) Sweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := r.SweepOnce(ctx)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("sweep coalesced runs", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepOnce runs the due marks of one batch and reports how many core runs it made. The marks
// of one patient are run on one reading of the patient's events.
func (r *Runner) SweepOnce(ctx context.Context) (int, error) {
	now := r.now()
	due, err := r.store.DueMarks(ctx, now, 50)
	if err != nil {
		return 0, err
	}
	var order []string
	byPatient := map[string][]Named{}
	lease := now.Add(time.Minute).Truncate(time.Microsecond)
	for _, m := range due {
		i := slices.IndexFunc(r.cores, func(c Named) bool { return c.Name == m.Core })
		if i < 0 {
			continue // a core this process does not run
		}
		ok, err := r.store.ClaimMark(ctx, m.Core, m.Patient, m.Dirty, lease)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue // another replica, or a new mark
		}
		if byPatient[m.Patient] == nil {
			order = append(order, m.Patient)
		}
		byPatient[m.Patient] = append(byPatient[m.Patient], r.cores[i])
	}
	ran := 0
	for _, p := range order {
		in, err := r.input(ctx, p)
		if err != nil {
			return ran, err
		}
		for _, c := range byPatient[p] {
			if err := r.runCoreClaimed(ctx, c, in, lease); err != nil {
				return ran, err
			}
			ran++
		}
	}
	return ran, nil
}
