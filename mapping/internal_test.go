package mapping

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	shanghai := defaultZone()
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC; "" for not a time
	}{
		{"2026-03-02T09:15:00+08:00", "2026-03-02T01:15:00Z"},
		{"2026-03-02T09:15:00Z", "2026-03-02T09:15:00Z"},
		{"2026-03-02T09:15:00.250-05:00", "2026-03-02T14:15:00.25Z"},
		{"2026-03-02", "2026-03-01T16:00:00Z"},          // a date: midnight in the hospital's zone
		{"2026-03", "2026-02-28T16:00:00Z"},             // a month: its first day
		{"2026", "2025-12-31T16:00:00Z"},                // a year: its first day
		{"2026-03-02T09:15:00", "2026-03-02T01:15:00Z"}, // no offset (not FHIR): the hospital's zone
		{"2026-03-02T09:15:00.5", "2026-03-02T01:15:00.5Z"},
		{"2026-02-30", ""},
		{"02/03/2026", ""},
		{"2026-03-02T09:15+08:00", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in, shanghai)
		if tt.want == "" {
			if ok {
				t.Errorf("parseTime(%q) = %v, want no time", tt.in, got)
			}
			continue
		}
		if !ok || got.Format(time.RFC3339Nano) != tt.want || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %s", tt.in, got, ok, tt.want)
		}
	}
}

func TestLiteral(t *testing.T) {
	tests := []struct{ in, typ, id string }{
		{"Patient/p1", "Patient", "p1"},
		{"http://his.example.cn/fhir/Encounter/e-1.2", "Encounter", "e-1.2"},
		{"Observation/o1/_history/3", "Observation", "o1"},
		{"https://x/fhir/Observation/o1/_history/3", "Observation", "o1"},
		{"#contained", "", ""},
		{"urn:uuid:0f309c8e-5834-59cd-9ba2-2491fcd0f045", "", ""},
		{"Patient?identifier=urn:oid:1|123", "", ""},
		{"Frobnicator/1", "", ""},
		{"Patient/has space", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		typ, id, ok := literal(tt.in)
		if typ != tt.typ || id != tt.id || ok != (tt.typ != "") {
			t.Errorf("literal(%q) = %q, %q, %v; want %q, %q", tt.in, typ, id, ok, tt.typ, tt.id)
		}
	}
}
