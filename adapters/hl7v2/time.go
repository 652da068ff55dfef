package hl7v2

import (
	"strconv"
	"strings"
	"time"
)

// Precision of an HL7 date/time.
const (
	precYear = iota + 1
	precMonth
	precDay
	precHour
	precMinute
	precSecond
)

// Time is an HL7 DTM/TS value: YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ].
type Time struct {
	T        time.Time
	prec     int
	fraction string // the digits after the point, as sent
}

// ParseTime reads an HL7 date/time. One without a zone is in zone (the hospital's).
// Years before 1800 are refused: no patient data is that old, and FHIR has no year 0.
func ParseTime(s string, zone *time.Location) (Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Time{}, false
	}
	loc := zone
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		tz := s[i:]
		s = s[:i]
		if len(tz) != 5 || !digits(tz[1:]) {
			return Time{}, false
		}
		h, _ := strconv.Atoi(tz[1:3])
		m, _ := strconv.Atoi(tz[3:5])
		if h > 14 || h == 14 && m > 0 || m > 59 {
			return Time{}, false
		}
		off := h*3600 + m*60
		if tz[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	var frac string
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac = s[i+1:]
		s = s[:i]
		if frac == "" || len(frac) > 9 || !digits(frac) || len(s) != 14 {
			return Time{}, false
		}
	}
	if !digits(s) {
		return Time{}, false
	}
	var prec int
	switch len(s) {
	case 4:
		prec = precYear
	case 6:
		prec = precMonth
	case 8:
		prec = precDay
	case 10:
		prec = precHour
	case 12:
		prec = precMinute
	case 14:
		prec = precSecond
	default:
		return Time{}, false
	}
	n := func(lo, hi, def int) int {
		if len(s) < hi {
			return def
		}
		v, _ := strconv.Atoi(s[lo:hi])
		return v
	}
	y, mo, d, h, mi, sec := n(0, 4, 0), n(4, 6, 1), n(6, 8, 1), n(8, 10, 0), n(10, 12, 0), n(12, 14, 0)
	if y < 1800 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return Time{}, false
	}
	ns := 0
	if frac != "" {
		ns, _ = strconv.Atoi((frac + "000000000")[:9])
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc)
	if t.Day() != d { // 31 February
		return Time{}, false
	}
	if _, off := t.Zone(); off%60 != 0 {
		// A zone's local mean time before standard time (Shanghai's +08:05:43 before 1901)
		// has no FHIR form: write such a time in UTC.
		t = t.UTC()
	}
	return Time{T: t, prec: prec, fraction: frac}, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// DateTime is the FHIR dateTime: a year, year-month or date as precise as sent, else a time
// with seconds and the zone.
func (t Time) DateTime() string {
	switch t.prec {
	case precYear:
		return t.T.Format("2006")
	case precMonth:
		return t.T.Format("2006-01")
	case precDay:
		return t.T.Format("2006-01-02")
	}
	return t.instant()
}

// Instant is the FHIR instant, which needs a time: a date alone is its midnight. ok is false
// for a year or month alone.
func (t Time) Instant() (string, bool) {
	if t.prec < precDay {
		return "", false
	}
	return t.instant(), true
}

// Date is the FHIR date (birth dates).
func (t Time) Date() string {
	switch t.prec {
	case precYear:
		return t.T.Format("2006")
	case precMonth:
		return t.T.Format("2006-01")
	}
	return t.T.Format("2006-01-02")
}

func (t Time) instant() string {
	layout := "2006-01-02T15:04:05"
	if t.fraction != "" {
		layout += "." + strings.Repeat("0", len(t.fraction))
	}
	return t.T.Format(layout + "Z07:00")
}
