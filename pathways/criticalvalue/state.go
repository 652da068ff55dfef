package criticalvalue

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// stateVersion is the version of the state document; a state of another version is refused
// rather than misread.
const stateVersion = 1

// state is one patient's critical values: the JSON document the core owns.
type state struct {
	V       int       `json:"v"`
	Patient string    `json:"patient,omitempty"`
	Now     time.Time `json:"now"` // the latest time the core has run at
	Records []*rec    `json:"records,omitempty"`
	Skipped []Skip    `json:"skipped,omitempty"` // rules that could not judge, as of the last Apply
}

// rec is one record's state. Its facts (snapshot) are derived again at every Apply while
// its results are critical, and kept as they were once they are not (a recalled record).
// What cannot be derived from the facts is kept: when it was first seen and notified, how
// far the chain went, the corrections seen, the recall, and every human action.
type rec struct {
	ID          string    `json:"id"`
	Aliases     []string  `json:"aliases,omitempty"` // earlier ids, when a back-filled result re-anchored it
	Index       string    `json:"index"`             // Key of the first result, the one reported
	Snap        snapshot  `json:"snap"`
	DetectedAt  time.Time `json:"detected_at"`
	NotifiedAt  time.Time `json:"notified_at,omitzero"`
	Fired       int       `json:"fired,omitempty"` // escalation steps fired
	Unreachable bool      `json:"unreachable,omitempty"`
	Backfilled  bool      `json:"backfilled,omitempty"` // history: closed on arrival, never notified
	Updates     []update  `json:"updates,omitempty"`
	Recalled    *recall   `json:"recalled,omitempty"`
	Actions     []action  `json:"actions,omitempty"`
}

// snapshot is what the facts say about a record.
type snapshot struct {
	Patient  string       `json:"patient"`
	Result   string       `json:"result"`
	Kind     string       `json:"kind"`
	Source   string       `json:"source,omitempty"`
	Code     mapping.Code `json:"code"`
	Value    string       `json:"value"`
	Number   string       `json:"number,omitempty"`
	Unit     string       `json:"unit,omitempty"`
	Released time.Time    `json:"released"`
	Rule     string       `json:"rule"`
	Status   string       `json:"status"`
	Route    route        `json:"route"`
	Results  []Member     `json:"results"`
}

// Member is one result of a record.
type Member struct {
	Key        string    `json:"key"`
	Result     string    `json:"result"`
	Value      string    `json:"value"`
	Unit       string    `json:"unit,omitempty"`
	Status     string    `json:"status"`
	ReleasedAt time.Time `json:"released_at"`
	Rule       string    `json:"rule"`
}

type update struct {
	Key     string    `json:"key"`
	Version int       `json:"version"`
	At      time.Time `json:"at"`
	Detail  string    `json:"detail"`
}

type recall struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// action is a human action, and a failed read-back.
type action struct {
	Type      string    `json:"type"` // acknowledged | read-back-failed | handled | closed
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Role      string    `json:"role,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Receiver  string    `json:"receiver,omitempty"`
	ReadBack  string    `json:"read_back,omitempty"`
	Physician string    `json:"physician,omitempty"`
	Action    string    `json:"action,omitempty"`
}

func decodeState(raw json.RawMessage) (*state, error) {
	st := &state{V: stateVersion}
	if len(raw) == 0 || string(raw) == "null" {
		return st, nil
	}
	if err := pathways.Decode(raw, st); err != nil {
		return nil, fmt.Errorf("criticalvalue: decode state: %w", err)
	}
	if st.V != stateVersion {
		return nil, fmt.Errorf("criticalvalue: state version %d, this core reads %d", st.V, stateVersion)
	}
	return st, nil
}

func (st *state) encode() (json.RawMessage, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("criticalvalue: encode state: %w", err)
	}
	return b, nil
}

// find returns the record of id or of one of its earlier ids.
func (st *state) find(id string) *rec {
	for _, r := range st.Records {
		if r.ID == id || slices.Contains(r.Aliases, id) {
			return r
		}
	}
	return nil
}

// last returns the latest action of type t, nil when there is none.
func (r *rec) last(t string) *action {
	for i := len(r.Actions) - 1; i >= 0; i-- {
		if r.Actions[i].Type == t {
			return &r.Actions[i]
		}
	}
	return nil
}

// Statuses of a record.
const (
	StatusDetected     = "detected"
	StatusNotified     = "notified"
	StatusAcknowledged = "acknowledged"
	StatusHandled      = "handled"
	StatusClosed       = "closed"
	StatusRecalled     = "recalled"
	StatusUnreachable  = "unreachable"
)

func (r *rec) status() string {
	switch {
	case r.Recalled != nil:
		return StatusRecalled
	case r.last("closed") != nil:
		return StatusClosed
	case r.last("handled") != nil:
		return StatusHandled
	case r.last("acknowledged") != nil:
		return StatusAcknowledged
	case r.Unreachable:
		return StatusUnreachable
	case !r.NotifiedAt.IsZero():
		return StatusNotified
	}
	return StatusDetected
}

// waiting reports whether the record waits for an acknowledgement (so escalates).
func (r *rec) waiting() bool {
	return r.Recalled == nil && !r.Backfilled && r.last("acknowledged") == nil
}

// closedAt is when the record ended: closed or recalled; zero while open.
func (r *rec) closedAt() time.Time {
	if r.Recalled != nil {
		return r.Recalled.At
	}
	if a := r.last("closed"); a != nil {
		return a.At
	}
	return time.Time{}
}
