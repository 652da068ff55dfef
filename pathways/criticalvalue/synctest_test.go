package criticalvalue

import (
	"encoding/json"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// driver is the adapter's timer loop in miniature: it applies at every Wake (sleeping until
// then on the bubble's fake clock) and takes acknowledgements from a channel meanwhile.
type driver struct {
	t       *testing.T
	e       *Engine
	facts   []mapping.Event
	state   json.RawMessage
	noticed []pathways.Notice
}

func (d *driver) take(out pathways.Outcome, err error) pathways.Outcome {
	d.t.Helper()
	if err != nil {
		d.t.Fatal(err)
	}
	d.state = out.State
	d.noticed = append(d.noticed, out.Notices...)
	return out
}

func (d *driver) loop(acks <-chan AckRequest) {
	out := d.take(d.e.Apply(d.state, input(time.Now(), d.facts...)))
	for !out.Wake.IsZero() {
		timer := time.NewTimer(time.Until(out.Wake))
		select {
		case <-timer.C:
			out = d.take(d.e.Apply(d.state, input(time.Now(), d.facts...)))
			for _, n := range out.Notices {
				if !n.At.Equal(time.Now().UTC()) {
					d.t.Errorf("%s at %v, woken at %v: a timer ran off its deadline", n.Name, n.At, time.Now())
				}
			}
		case req := <-acks:
			timer.Stop()
			id := out.Records[0].ID
			out = d.take(d.e.Acknowledge(d.state, id, nurse, req, time.Now()))
		}
	}
}

func (d *driver) times(release time.Time) (names []string, offsets []time.Duration) {
	for _, n := range d.noticed {
		names = append(names, n.Name)
		offsets = append(offsets, n.At.Sub(release))
	}
	return
}

// TestEscalationTimers: with no one answering, the chain runs on its timers to unreachable.
func TestEscalationTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := time.Now().UTC()
		k := potassium("k1", "7.1", release)
		d := &driver{t: t, e: engine(t), facts: []mapping.Event{admitted(enc, Inpatient, dept("GI-SURG", "胃肠外科"), "胃肠外科病区", "朱医生", release.Add(-time.Hour)), k.event()}}
		d.loop(nil)
		names, offsets := d.times(release)
		wantNames := []string{NoticeDetected, NoticeNotified, NoticeEscalated, NoticeEscalated, NoticeEscalated, NoticeEscalated, NoticeUnreachable}
		wantOffsets := []time.Duration{0, 0, mins(5), mins(10), mins(20), mins(30), mins(40)}
		if !slices.Equal(names, wantNames) || !slices.Equal(offsets, wantOffsets) {
			t.Errorf("notices %v at %v,\nwant %v at %v", names, offsets, wantNames, wantOffsets)
		}
		if got := time.Since(release); got != mins(40) {
			t.Errorf("the loop ran %v of fake time", got)
		}
	})
}

// TestEscalationTimersAcknowledged: a nurse answers 12 minutes in; the chain stops after two
// steps and the loop has nothing more to wait for.
func TestEscalationTimersAcknowledged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := time.Now().UTC()
		k := potassium("k1", "7.1", release)
		d := &driver{t: t, e: engine(t), facts: []mapping.Event{admitted(enc, Inpatient, dept("GI-SURG", "胃肠外科"), "胃肠外科病区", "朱医生", release.Add(-time.Hour)), k.event()}}
		acks := make(chan AckRequest)
		go func() {
			time.Sleep(mins(12))
			acks <- AckRequest{Receiver: "护士王", ReadBack: "7.1 mmol/L"}
		}()
		d.loop(acks)
		names, offsets := d.times(release)
		wantNames := []string{NoticeDetected, NoticeNotified, NoticeEscalated, NoticeEscalated, NoticeAcknowledged}
		wantOffsets := []time.Duration{0, 0, mins(5), mins(10), mins(12)}
		if !slices.Equal(names, wantNames) || !slices.Equal(offsets, wantOffsets) {
			t.Errorf("notices %v at %v,\nwant %v at %v", names, offsets, wantNames, wantOffsets)
		}
		synctest.Wait()
	})
}
