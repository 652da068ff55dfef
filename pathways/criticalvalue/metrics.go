package criticalvalue

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/lujing-health/lujing/pathways"
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
	BackfilledExcluded      int      `json:"backfilled_excluded"`

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
	if b.Backfilled {
		c.BackfilledExcluded++
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

// QC indicator ids (pathways/quality has the catalogue).
const (
	IndicatorNotificationRate       = "cv-notification-rate"
	IndicatorNotificationTimeliness = "cv-notification-timeliness"
	IndicatorMedianAckMinutes       = "cv-median-ack-minutes"
	IndicatorSameDayHandling        = "cv-same-day-handling"
)

// Measures are a record's rows of the critical-value QC indicators, at its release time, by
// its department and care setting — the same rules as Counts, as rows the store sums:
//   - cv-notification-rate: in the denominator, in the numerator once notified;
//   - cv-notification-timeliness: in the numerator when notified within NotifyWithin of the
//     release;
//   - cv-median-ack-minutes: once acknowledged, the minutes from release to acknowledgement;
//   - cv-same-day-handling: an acknowledged inpatient value, in the numerator when handled
//     within HandleWithin of the acknowledgement.
//
// A recalled record is excluded from the first two (an excluded row) and absent from the
// others.
func (e *Engine) Measures(b RecordBody) []pathways.Measure {
	row := func(ind string, num int) pathways.Measure {
		return pathways.Measure{Indicator: ind, At: b.ReleasedAt, Department: b.Department, Setting: b.Setting,
			Subject: b.Patient, Denominator: 1, Numerator: num}
	}
	if b.Status == StatusRecalled {
		out := []pathways.Measure{row(IndicatorNotificationRate, 0), row(IndicatorNotificationTimeliness, 0)}
		for i := range out {
			out[i].Denominator, out[i].Excluded = 0, true
		}
		return out
	}
	notified, inTime := 0, 0
	if b.NotifiedAt != nil {
		notified = 1
		if b.NotifiedAt.Sub(b.ReleasedAt) <= e.cfg.NotifyWithin {
			inTime = 1
		}
	}
	out := []pathways.Measure{row(IndicatorNotificationRate, notified), row(IndicatorNotificationTimeliness, inTime)}
	if b.AcknowledgedAt == nil {
		return out
	}
	minutes := b.AcknowledgedAt.Sub(b.ReleasedAt).Minutes()
	m := row(IndicatorMedianAckMinutes, 0)
	m.Value = &minutes
	out = append(out, m)
	if b.Setting == Inpatient {
		handled := 0
		if b.HandledAt != nil && b.HandledAt.Sub(*b.AcknowledgedAt) <= e.cfg.HandleWithin {
			handled = 1
		}
		out = append(out, row(IndicatorSameDayHandling, handled))
	}
	return out
}
