package mapping

import (
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// parseTime reads a FHIR date, dateTime or instant as a UTC instant. A value without a time
// ("2026-03-02", "2026-03", "2026") is the start of that day, month or year in zone; a time
// without an offset, which FHIR forbids but some systems send, is read in zone too.
func parseTime(s string, zone *time.Location) (time.Time, bool) {
	var layout string
	local := false
	switch n := len(s); {
	case n == 4:
		layout, local = "2006", true
	case n == 7:
		layout, local = "2006-01", true
	case n == 10:
		layout, local = "2006-01-02", true
	case n == 19:
		layout, local = "2006-01-02T15:04:05", true
	case n > 19 && (s[n-1] == 'Z' || s[n-6] == '+' || s[n-6] == '-'):
		layout = time.RFC3339Nano
	case n > 20 && s[19] == '.':
		layout, local = "2006-01-02T15:04:05.999999999", true
	default:
		return time.Time{}, false
	}
	var t time.Time
	var err error
	if local {
		t, err = time.ParseInLocation(layout, s, zone)
	} else {
		t, err = time.Parse(layout, s)
	}
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// time reads an optional FHIR time, flagging one it cannot read.
func (j *job) time(s *string) *time.Time {
	if s == nil || *s == "" {
		return nil
	}
	t, ok := parseTime(*s, j.c.zone)
	if !ok {
		j.flag("invalid-date")
		return nil
	}
	return &t
}

func (j *job) periodStart(p *fhir.Period) *time.Time {
	if p == nil {
		return nil
	}
	return j.time(p.Start)
}

func (j *job) periodEnd(p *fhir.Period) *time.Time {
	if p == nil {
		return nil
	}
	return j.time(p.End)
}

// at is an event's time: the first of the candidates given, else the resource's
// meta.lastUpdated (flagged), else the zero time (flagged "time-unknown").
func (j *job) at(candidates ...*time.Time) time.Time {
	for _, t := range candidates {
		if t != nil {
			return *t
		}
	}
	if !j.r.Meta.LastUpdated.IsZero() {
		j.flag("time-from-last-updated")
		return j.r.Meta.LastUpdated.UTC()
	}
	j.flag("time-unknown")
	return time.Time{}
}
