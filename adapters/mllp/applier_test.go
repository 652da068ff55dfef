package mllp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/hl7v2"
)

type noGauge struct{}

func (noGauge) Set(float64) {}

// applied records what an applier did: the control ids per patient in the order applied.
type applied struct {
	mu      sync.Mutex
	order   map[string][]string
	all     []string
	running atomic.Int32
	most    atomic.Int32 // the most applied at once
}

func (r *applied) do(delay time.Duration) func(job) bool {
	return func(j job) bool {
		n := r.running.Add(1)
		for m := r.most.Load(); n > m && !r.most.CompareAndSwap(m, n); m = r.most.Load() {
		}
		time.Sleep(delay)
		r.running.Add(-1)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.order == nil {
			r.order = map[string][]string{}
		}
		r.order[j.rec.Sender] = append(r.order[j.rec.Sender], j.rec.ControlID)
		r.all = append(r.all, j.rec.ControlID)
		return true
	}
}

// each makes a lane's do of one job's: false stops the lane there.
func each(do func(job) bool) func([]job) int {
	return func(jobs []job) int {
		for i, j := range jobs {
			if !do(j) {
				return i
			}
		}
		return len(jobs)
	}
}

func testJob(patient string, i int, urgent bool) job {
	return job{rec: Record{Sender: patient, ControlID: fmt.Sprintf("%s-%d", patient, i)}, urgent: urgent}
}

// TestApplierKeepsEachPatientsOrder: with several appliers, each patient's messages are
// applied in the order received, and all of them.
func TestApplierKeepsEachPatientsOrder(t *testing.T) {
	var r applied
	a := newApplier(each(r.do(100*time.Microsecond)), noGauge{}, 8, 2, 100000, -1)
	defer a.close()
	for i := range 50 {
		for p := range 20 {
			key := fmt.Sprintf("p%d", p)
			a.add(testJob(key, i, i%7 == 3), key, false)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.wait(ctx); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.all) != 1000 {
		t.Fatalf("%d applied, want 1000", len(r.all))
	}
	for p, ids := range r.order {
		for i, id := range ids {
			if id != fmt.Sprintf("%s-%d", p, i) {
				t.Fatalf("patient %s: %v", p, ids)
			}
		}
	}
	if r.most.Load() < 2 {
		t.Errorf("never more than %d applied at once with 8 appliers", r.most.Load())
	}
}

// TestApplierUrgentSkipsTheBacklog: while every ordinary applier is held up by other patients'
// backlog, an urgent message is applied at once, after its own patient's earlier messages.
func TestApplierUrgentSkipsTheBacklog(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	a := newApplier(each(func(j job) bool {
		if strings.HasPrefix(j.rec.Sender, "slow") {
			<-release
		}
		mu.Lock()
		got = append(got, j.rec.ControlID)
		mu.Unlock()
		return true
	}), noGauge{}, 2, 1, 100000, -1)
	defer a.close()
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // before close: a failure must not leave appliers blocked
	for i := range 4 {
		a.add(testJob("slow", i, false), "slow", false) // holds one applier
	}
	a.add(testJob("other", 0, false), "other", false)
	a.add(testJob("other", 1, false), "other", false)
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	// Hold the second ordinary applier too.
	a.add(testJob("slow2", 0, false), "slow2", false)
	waitUntil(t, func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.active == 2 })
	a.add(testJob("crit", 0, false), "crit", false)
	a.mu.Lock() // the urgent one and one after it, at once
	a.lanes["crit"].jobs = append(a.lanes["crit"].jobs, testJob("crit", 1, true), testJob("crit", 2, false))
	a.held += 2
	a.list("crit", a.lanes["crit"], true)
	a.mu.Unlock()
	waitUntil(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 4 })
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	if len(got) != 4 || got[2] != "crit-0" || got[3] != "crit-1" {
		t.Errorf("urgent patient applied as %v, want crit-0 then crit-1 (not crit-2, which waits its turn) while slow waits", got)
	}
	mu.Unlock()
	free()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestApplierBusy: while busy, one ordinary applier works; urgent ones are not limited.
func TestApplierBusy(t *testing.T) {
	var r applied
	a := newApplier(each(r.do(2*time.Millisecond)), noGauge{}, 6, 1, 100000, -1)
	defer a.close()
	a.setBusy(true)
	for p := range 30 {
		a.add(testJob(fmt.Sprintf("p%d", p), 0, false), fmt.Sprintf("p%d", p), false)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.wait(ctx); err != nil {
		t.Fatal(err)
	}
	if m := r.most.Load(); m != 1 {
		t.Errorf("busy: %d applied at once, want 1", m)
	}
	a.setBusy(false)
	for p := range 30 {
		a.add(testJob(fmt.Sprintf("q%d", p), 0, false), fmt.Sprintf("q%d", p), false)
	}
	if err := a.wait(ctx); err != nil {
		t.Fatal(err)
	}
	if m := r.most.Load(); m < 2 {
		t.Errorf("not busy: at most %d applied at once with 6 appliers", m)
	}
}

// TestApplierWatch: the arrival rate over BusyRate makes the applier busy, and its fall makes
// it idle again.
func TestApplierWatch(t *testing.T) {
	a := newApplier(each(func(job) bool { return true }), noGauge{}, 4, 1, 100000, 100)
	defer a.close()
	limit := func() int { a.mu.Lock(); defer a.mu.Unlock(); return a.limit }
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				a.arrived.Add(1) // ~1000/s, far over 100/s
			}
		}
	}()
	waitUntil(t, func() bool { return limit() == 1 })
	close(stop)
	waitUntil(t, func() bool { return limit() == 4 })
}

// TestApplierRetries: a message whose apply fails is tried again, before the patient's later
// ones.
func TestApplierRetries(t *testing.T) {
	var failed atomic.Bool
	var mu sync.Mutex
	var got []string
	a := newApplier(each(func(j job) bool {
		if j.rec.ControlID == "p-0" && !failed.Swap(true) {
			return false
		}
		mu.Lock()
		got = append(got, j.rec.ControlID)
		mu.Unlock()
		return true
	}), noGauge{}, 2, 1, 100000, -1)
	a.retry = time.Millisecond
	defer a.close()
	a.add(testJob("p", 0, false), "p", false)
	a.add(testJob("p", 1, false), "p", false)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.wait(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "p-0" || got[1] != "p-1" {
		t.Errorf("applied %v, want p-0 (second try) then p-1", got)
	}
}

// TestApplierBacklogBound: beyond the bound an add waits until a message is applied; a
// forced one (Resume) does not; close frees a waiting add.
func TestApplierBacklogBound(t *testing.T) {
	release := make(chan struct{})
	a := newApplier(each(func(job) bool { <-release; return true }), noGauge{}, 1, 1, 2, -1)
	a.add(testJob("a", 0, false), "a", false)
	a.add(testJob("b", 0, false), "b", false)
	a.add(testJob("c", 0, false), "c", true)
	added := make(chan bool)
	go func() { added <- a.add(testJob("d", 0, false), "d", false) }()
	select {
	case <-added:
		t.Fatal("an add beyond the bound did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	release <- struct{}{}
	release <- struct{}{}
	if !<-added {
		t.Error("the add was refused once there was room")
	}
	close(release)
	a.close()
	if a.add(testJob("e", 0, false), "e", false) {
		t.Error("an add after close was taken")
	}
}

func TestUrgent(t *testing.T) {
	cases := []struct {
		obx  string
		want bool
	}{
		{"OBX|1|NM|2823-3^K^LN||6.9|mmol/L|3.5-5.5|HH|||F", true},
		{"OBX|1|NM|2823-3^K^LN||2.1|mmol/L|3.5-5.5|ll|||F", true},
		{"OBX|1|NM|2823-3^K^LN||6.9|mmol/L|3.5-5.5|H~AA|||F", true},
		{"OBX|1|NM|2823-3^K^LN||5.9|mmol/L|3.5-5.5|H|||F", false},
		{"OBX|1|NM|2823-3^K^LN||4.1|mmol/L|3.5-5.5|N|||C", true},
		{"OBX|1|NM|2823-3^K^LN||4.1|mmol/L|3.5-5.5||||W", true},
		{"OBX|1|NM|2823-3^K^LN||4.1|mmol/L|3.5-5.5||||P", false},
	}
	for _, c := range cases {
		m, err := hl7v2.Parse([]byte("MSH|^~\\&|LIS|H|LJ|H|20260301080000||ORU^R01|C1|P|2.5.1\rPID|1||100^^^H^MR\rOBR|1|||2823-3^K^LN\r"+c.obx+"\r"), hl7v2.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := Urgent(m); got != c.want {
			t.Errorf("%s: urgent %v, want %v", c.obx, got, c.want)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestShortestUrgentLaneFirst: of the lanes with an urgent message, the one with the fewest
// messages before it is applied first (a fresh patient's critical value does not wait behind
// patients with a backlog each), unless the longest waiting has waited hurryAge.
func TestShortestUrgentLaneFirst(t *testing.T) {
	a := newApplier(each(func(job) bool { return true }), noGauge{}, 0, 0, 1000, -1)
	defer a.close()
	for i := range 4 {
		a.add(testJob("long", i, false), "long", false)
	}
	a.add(testJob("long", 4, true), "long", false)
	a.add(testJob("mid", 0, false), "mid", false)
	a.add(testJob("mid", 1, true), "mid", false)
	a.add(testJob("short", 0, true), "short", false)
	next := func() string {
		a.mu.Lock()
		defer a.mu.Unlock()
		k, _ := a.nextUrgent()
		return k
	}
	if k := next(); k != "short" {
		t.Errorf("first %s, want short", k)
	}
	a.mu.Lock()
	a.lanes["long"].hurried = time.Now().Add(-hurryAge - time.Second)
	a.mu.Unlock()
	if k := next(); k != "long" {
		t.Errorf("then %s, want long: it waited past hurryAge", k)
	}
	if k := next(); k != "mid" {
		t.Errorf("then %s, want mid", k)
	}
	if k := next(); k != "" {
		t.Errorf("then %q, want none", k)
	}
}
