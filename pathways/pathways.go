// Package pathways is Lujing's clinical core: localized clinical pathways
// (pathways/clinicalpath), critical values (pathways/criticalvalue) and follow-up
// (pathways/followup). This root package holds the vocabulary they share with the adapter that
// drives them: what a core is given for one patient (Input), what it answers (Outcome), and the
// errors its actions return.
//
// Every core is pure: it imports no adapter, does no I/O and reads the time only from its
// input. A core keeps the whole state of one patient in one JSON document it owns; the adapter
// stores that document, the Records projected from it (for lists and counts) and the Notices
// (for the live stream and webhooks) in one transaction, and runs the core again at Wake.
package pathways

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/bytedance/sonic"

	"github.com/lujing-health/lujing/mapping"
)

// Patient is what a core may know of the patient besides the events.
type Patient struct {
	Ref       string    `json:"ref"`                 // "Patient/123"
	BirthDate time.Time `json:"birth_date,omitzero"` // zero when not known
	Gender    string    `json:"gender,omitempty"`    // FHIR administrative gender
	Hospital  string    `json:"hospital,omitempty"`
}

// Input is one patient's situation: the events in force and the time.
type Input struct {
	Patient Patient
	// Facts are the patient's events in force: for each Key the event of the highest Version
	// (see mapping.Event), ordered by At then Key. A fact of kind mapping.KindCancelled
	// withdraws what its Key stated earlier; it is passed on so that a core can say why
	// (a recalled critical value), and a core that only needs what holds skips it.
	Facts []mapping.Event
	Now   time.Time
}

// Record is one row of a core's read side: a pathway instance, a critical value, a follow-up
// contact. The adapter indexes the typed fields and serves Body as the record's JSON.
type Record struct {
	Kind       string    // "pathway-instance", "critical-value", "follow-up"
	ID         string    // stable, unique across patients
	Patient    string    // "Patient/123"
	Encounter  string    // "Encounter/e1", "" when none
	Department string    // responsible department code, "" when unknown
	Status     string    // the record's status in its own vocabulary
	Opened     time.Time // when it began: enrolment, detection, due date of a contact
	Closed     time.Time // when it ended; zero while open
	Body       json.RawMessage
	// Measures are the record's contributions to the QC indicators (pathways/quality has
	// the catalogue): one per indicator the record belongs to. The adapter stores them with
	// the record, replaced with it, and the indicators are sums over them.
	Measures []Measure
}

// Measure is one record's row of one QC indicator: in its denominator (Denominator 1), its
// numerator too (Numerator 1), or excluded from it (Excluded, both 0), at the indicator's
// time (the discharge unless the indicator says otherwise). A continuous indicator (a
// median) has Value. A row may also count in the numerator alone (an adverse-event report
// counted against discharges), when the indicator's numerator and denominator are
// different things.
type Measure struct {
	Indicator   string    // an id of the catalogue, e.g. "cv-notification-timeliness"
	At          time.Time // the indicator's time dimension: the discharge, the release…
	Department  string    // stratifier: the responsible department code
	Setting     string    // stratifier: inpatient, outpatient, emergency
	Denominator int
	Numerator   int
	Value       *float64 // continuous indicators: e.g. minutes from release to acknowledgement
	Excluded    bool     // in the initial population but excluded (a recalled critical value)
	Subject     string   // "Patient/x"; the adapter fills in the record's patient when empty
	Hospital    string   // the adapter fills in the patient's hospital when empty
}

// Notice is something that happened, for the live stream and webhooks.
type Notice struct {
	Name       string    // e.g. "critical-value.notified", "pathway.item_overdue"
	Record     string    // the Record.ID it is about
	Patient    string    // "Patient/123"
	Department string    // for routing and department-bound readers
	At         time.Time // when it happened (in the core's time)
	Data       json.RawMessage
}

// Outcome is a core's answer for one patient.
type Outcome struct {
	State   json.RawMessage // the patient's new state; the adapter stores it as is
	Records []Record        // every record of the patient, as it is now
	Notices []Notice        // what happened since the state given
	Wake    time.Time       // the next time the core must run for the patient; zero: none
}

// Actor is who does an action, as authenticated by the adapter.
type Actor struct {
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	Departments []string `json:"departments,omitempty"` // empty: hospital-wide
}

// Error codes, mapped to HTTP statuses in one table by the HTTP adapter.
const (
	EINVALID   = "invalid"   // 422: the request is understood but wrong (a read-back that differs)
	ENOTFOUND  = "not_found" // 404
	ECONFLICT  = "conflict"  // 409: not possible in the record's state (acknowledging a recalled value)
	EFORBIDDEN = "forbidden" // 403: the actor may not act on this record
)

// Error is a core's refusal of an action.
type Error struct {
	Code    string
	Field   string // the request field at fault, when there is one
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an *Error in err's chain, "" when there is none.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// InForce reduces events (all versions, any order) to the facts in force: the latest event
// of each Key by Version, ties broken by the later position in events, ordered by At then Key.
func InForce(events []mapping.Event) []mapping.Event {
	idx := make(map[string]int, len(events))
	out := make([]mapping.Event, 0, len(events))
	for _, e := range events {
		i, ok := idx[e.Key]
		if !ok {
			idx[e.Key] = len(out)
			out = append(out, e)
			continue
		}
		if e.Version >= out[i].Version {
			out[i] = e
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Holding returns the facts that state something: InForce without the cancelled ones.
func Holding(facts []mapping.Event) []mapping.Event {
	out := make([]mapping.Event, 0, len(facts))
	for _, f := range facts {
		if f.Kind != mapping.KindCancelled {
			out = append(out, f)
		}
	}
	return out
}

// Department returns the department code of the encounter's latest placement among facts
// (admission, then transfers in time order), "" when none is known. Cores route by it.
func Department(facts []mapping.Event, encounter string) string {
	dept := ""
	for _, f := range facts {
		if f.Encounter != encounter {
			continue
		}
		var p struct {
			Department *mapping.Code `json:"department"`
			To         struct {
				Department *mapping.Code `json:"department"`
			} `json:"to"`
		}
		switch f.Kind {
		case mapping.KindAdmitted, mapping.KindDischarged:
			if json.Unmarshal(f.Data, &p) == nil && p.Department != nil {
				dept = p.Department.Code
			}
		case mapping.KindTransferred:
			if json.Unmarshal(f.Data, &p) == nil && p.To.Department != nil {
				dept = p.To.Department.Code
			}
		}
	}
	return dept
}

// Decode decodes JSON as encoding/json does (the same struct tags, numbers, errors for the
// same inputs), faster: the cores decode every fact's Data on every run, and that decoding
// is most of a run's time.
func Decode(data []byte, v any) error { return decoder.Unmarshal(data, v) }

var decoder = sonic.ConfigStd

// Matches reports whether the concept — its standard code or any coding as received — is one
// of the codes: rules are written in standard codes or in a source's local ones.
func Matches(c mapping.Concept, codes []mapping.Code) bool {
	for _, x := range codes {
		if c.System == x.System && c.Code == x.Code {
			return true
		}
		for _, y := range c.Codings {
			if y.System == x.System && y.Code == x.Code {
				return true
			}
		}
	}
	return false
}

// DayNumber is the calendar day of t counted from the day of from, in zone, from's day being
// day 1: the same day is 1, the next day 2 — how "day 31 after discharge" is counted.
func DayNumber(from, t time.Time, zone *time.Location) int {
	a, b := from.In(zone), t.In(zone)
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da)/(24*time.Hour)) + 1
}
