package criticalvalue

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// Metrics are the critical-value QC indicators of a period (domain.md §2), for the whole
// hospital (All) and by department. Records count in the period of their release time;
// recalled records are excluded (and counted apart).
type Metrics struct {
	From                time.Time `json:"from"`
	To                  time.Time `json:"to"`
	NotifyWithinMinutes float64   `json:"notify_within_minutes"`
	HandleWithinHours   float64   `json:"handle_within_hours"`
	All                 Counts    `json:"all"`
	Departments         []Counts  `json:"departments"`
}

// Counts are the indicators of one department ("" in All).
type Counts struct {
	Department string `json:"department"`
	Detected   int    `json:"detected"`
	Notified   int    `json:"notified"`
	// NotifiedInTime: notified within the limit of the release.
	NotifiedInTime int `json:"notified_in_time"`
	// NotificationRate = notified / detected; NotificationTimeliness = notified in time /
	// detected. Null with nothing detected.
	NotificationRate       *float64 `json:"notification_rate"`
	NotificationTimeliness *float64 `json:"notification_timeliness"`
	Acknowledged           int      `json:"acknowledged"`
	// MedianAckMinutes is the median release → acknowledgement time by care setting
	// (inpatient, outpatient, emergency), null where none was acknowledged.
	MedianAckMinutes map[string]*float64 `json:"median_release_to_ack_minutes"`
	// Same-day handling (inpatients): handled within the limit of acknowledgement /
	// acknowledged.
	InpatientAcknowledged   int      `json:"inpatient_acknowledged"`
	InpatientHandledSameDay int      `json:"inpatient_handled_same_day"`
	SameDayHandlingRate     *float64 `json:"same_day_handling_rate"`
	Unreachable             int      `json:"unreachable"`
	RecalledExcluded        int      `json:"recalled_excluded"`

	ackMinutes map[string][]float64
}

// Counts computes the indicators over record bodies (RecordBody JSON) released in [from, to).
// It is a pure function; the limits are the engine's configuration.
func (e *Engine) Counts(bodies []json.RawMessage, from, to time.Time) (Metrics, error) {
	m := Metrics{From: from.UTC(), To: to.UTC(), NotifyWithinMinutes: e.cfg.NotifyWithin.Minutes(),
		HandleWithinHours: e.cfg.HandleWithin.Hours(), All: newCounts("")}
	byDept := map[string]*Counts{}
	for i, raw := range bodies {
		var b RecordBody
		if err := json.Unmarshal(raw, &b); err != nil {
			return Metrics{}, fmt.Errorf("criticalvalue: counts: record %d: %w", i, err)
		}
		if b.ReleasedAt.Before(from) || !b.ReleasedAt.Before(to) {
			continue
		}
		d := byDept[b.Department]
		if d == nil {
			c := newCounts(b.Department)
			d = &c
			byDept[b.Department] = d
		}
		for _, c := range []*Counts{&m.All, d} {
			e.count(c, b)
		}
	}
	m.All.finish()
	for _, k := range slices.Sorted(maps.Keys(byDept)) {
		byDept[k].finish()
		m.Departments = append(m.Departments, *byDept[k])
	}
	if m.Departments == nil {
		m.Departments = []Counts{}
	}
	return m, nil
}

func newCounts(dept string) Counts {
	return Counts{Department: dept, ackMinutes: map[string][]float64{}, MedianAckMinutes: map[string]*float64{}}
}

func (e *Engine) count(c *Counts, b RecordBody) {
	if b.Status == StatusRecalled {
		c.RecalledExcluded++
		return
	}
	c.Detected++
	if b.Status == StatusUnreachable {
		c.Unreachable++
	}
	if b.NotifiedAt != nil {
		c.Notified++
		if b.NotifiedAt.Sub(b.ReleasedAt) <= e.cfg.NotifyWithin {
			c.NotifiedInTime++
		}
	}
	if b.AcknowledgedAt == nil {
		return
	}
	c.Acknowledged++
	c.ackMinutes[b.Setting] = append(c.ackMinutes[b.Setting], b.AcknowledgedAt.Sub(b.ReleasedAt).Minutes())
	if b.Setting == Inpatient {
		c.InpatientAcknowledged++
		if b.HandledAt != nil && b.HandledAt.Sub(*b.AcknowledgedAt) <= e.cfg.HandleWithin {
			c.InpatientHandledSameDay++
		}
	}
}

func (c *Counts) finish() {
	c.NotificationRate = ratio(c.Notified, c.Detected)
	c.NotificationTimeliness = ratio(c.NotifiedInTime, c.Detected)
	c.SameDayHandlingRate = ratio(c.InpatientHandledSameDay, c.InpatientAcknowledged)
	for _, s := range []string{Inpatient, Outpatient, Emergency} {
		c.MedianAckMinutes[s] = median(c.ackMinutes[s])
	}
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

func median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return &m
}
