package criticalvalue

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/pathways"
)

// AckRequest is the body of POST …/{id}/acknowledge.
type AckRequest struct {
	Receiver string `json:"receiver"`  // who took the call / read the alert
	ReadBack string `json:"read_back"` // the value as the receiver repeats it
}

// HandleRequest is the body of POST …/{id}/handle.
type HandleRequest struct {
	Physician string `json:"physician"` // the responsible physician
	Action    string `json:"action"`    // what was done: an order, an assessment, a note
}

// CloseRequest closes a handled record when Config.AutoClose is off.
type CloseRequest struct {
	Note string `json:"note,omitempty"`
}

// act loads the state, finds the record and checks the actor's department; it brings the
// state to now first, so that escalation steps that fell due before the action (a timer the
// adapter ran late) fire before it, as they would have.
func (e *Engine) act(raw json.RawMessage, id string, by pathways.Actor, now time.Time) (*state, *rec, []pathways.Notice, error) {
	st, err := decodeState(raw)
	if err != nil {
		return nil, nil, nil, err
	}
	r := st.find(id)
	if r == nil {
		return nil, nil, nil, pathways.Errorf(pathways.ENOTFOUND, "", "no critical value %s", id)
	}
	if len(by.Departments) > 0 && !slices.Contains(by.Departments, r.Snap.Route.Department.Code) {
		return nil, nil, nil, pathways.Errorf(pathways.EFORBIDDEN, "", "critical value %s belongs to department %q, not to %s",
			r.ID, r.Snap.Route.Department.Code, strings.Join(by.Departments, ", "))
	}
	now = now.UTC()
	if now.Before(st.Now) {
		now = st.Now
	}
	st.Now = now
	return st, r, e.advance(st, now), nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return pathways.Errorf(pathways.EINVALID, field, "required")
	}
	return nil
}

// Acknowledge records that req.Receiver received the critical value id and read it back.
//
// Errors: ENOTFOUND, EFORBIDDEN (by is bound to other departments), ECONFLICT (the record was
// recalled), EINVALID naming receiver or read_back. A read-back that differs from the
// reported value is EINVALID (field read_back) AND is recorded in the record's events: in
// that one case the returned Outcome is complete (State non-nil) and the adapter must store
// it before answering 422. With any other error the Outcome is empty and nothing changed.
// Acknowledging an acknowledged record again changes nothing and is no error (an Outcome with
// no notices).
func (e *Engine) Acknowledge(raw json.RawMessage, id string, by pathways.Actor, req AckRequest, now time.Time) (pathways.Outcome, error) {
	st, r, notices, err := e.act(raw, id, by, now)
	if err != nil {
		return pathways.Outcome{}, err
	}
	switch {
	case r.Recalled != nil:
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "critical value %s was recalled: %s", r.ID, r.Recalled.Reason)
	case r.last("acknowledged") != nil:
		return e.outcome(st, notices)
	}
	if err := required("receiver", req.Receiver); err != nil {
		return pathways.Outcome{}, err
	}
	if err := required("read_back", req.ReadBack); err != nil {
		return pathways.Outcome{}, err
	}
	if ok, why := readBackMatches(req.ReadBack, r.Snap); !ok {
		r.Actions = append(r.Actions, action{Type: "read-back-failed", At: st.Now, Actor: by.Name, Role: by.Role,
			Receiver: req.Receiver, ReadBack: req.ReadBack,
			Detail: "receiver " + req.Receiver + " read back " + `"` + req.ReadBack + `"` + ": " + why})
		out, oerr := e.outcome(st, notices)
		if oerr != nil {
			return pathways.Outcome{}, oerr
		}
		return out, pathways.Errorf(pathways.EINVALID, "read_back", "%q does not repeat the reported value %s: %s",
			req.ReadBack, strings.TrimSpace(r.Snap.Value+" "+r.Snap.Unit), why)
	}
	r.Actions = append(r.Actions, action{Type: "acknowledged", At: st.Now, Actor: by.Name, Role: by.Role,
		Receiver: strings.TrimSpace(req.Receiver), ReadBack: req.ReadBack})
	notices = append(notices, e.notice(r, NoticeAcknowledged, st.Now))
	return e.outcome(st, notices)
}

// Handle records the physician's action on an acknowledged record; with Config.AutoClose
// (the default) it also closes it.
//
// Errors: ENOTFOUND, EFORBIDDEN, ECONFLICT (recalled, not acknowledged yet, or handled
// already with another physician or action), EINVALID naming physician or action. Handling
// again with the same physician and action changes nothing (an idempotent retry).
func (e *Engine) Handle(raw json.RawMessage, id string, by pathways.Actor, req HandleRequest, now time.Time) (pathways.Outcome, error) {
	st, r, notices, err := e.act(raw, id, by, now)
	if err != nil {
		return pathways.Outcome{}, err
	}
	if r.Recalled != nil {
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "critical value %s was recalled: %s", r.ID, r.Recalled.Reason)
	}
	if err := required("physician", req.Physician); err != nil {
		return pathways.Outcome{}, err
	}
	if err := required("action", req.Action); err != nil {
		return pathways.Outcome{}, err
	}
	if h := r.last("handled"); h != nil {
		if h.Physician == strings.TrimSpace(req.Physician) && h.Action == strings.TrimSpace(req.Action) {
			return e.outcome(st, notices)
		}
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "critical value %s was handled already by %s", r.ID, h.Physician)
	}
	if r.last("acknowledged") == nil {
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "critical value %s is %s: acknowledge it (with read-back) first", r.ID, r.status())
	}
	r.Actions = append(r.Actions, action{Type: "handled", At: st.Now, Actor: by.Name, Role: by.Role,
		Physician: strings.TrimSpace(req.Physician), Action: strings.TrimSpace(req.Action)})
	notices = append(notices, e.notice(r, NoticeHandled, st.Now))
	if e.cfg.AutoClose {
		r.Actions = append(r.Actions, action{Type: "closed", At: st.Now, Actor: by.Name, Role: by.Role, Detail: "closed on handling"})
		notices = append(notices, e.notice(r, NoticeClosed, st.Now))
	}
	return e.outcome(st, notices)
}

// Close closes a handled record (when Config.AutoClose is off). Errors: ENOTFOUND,
// EFORBIDDEN, ECONFLICT (recalled, or not handled yet). Closing a closed record changes
// nothing.
func (e *Engine) Close(raw json.RawMessage, id string, by pathways.Actor, req CloseRequest, now time.Time) (pathways.Outcome, error) {
	st, r, notices, err := e.act(raw, id, by, now)
	if err != nil {
		return pathways.Outcome{}, err
	}
	switch {
	case r.Recalled != nil:
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "critical value %s was recalled: %s", r.ID, r.Recalled.Reason)
	case r.last("closed") != nil:
		return e.outcome(st, notices)
	case r.last("handled") == nil:
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "critical value %s is %s: it is closed once handled", r.ID, r.status())
	}
	r.Actions = append(r.Actions, action{Type: "closed", At: st.Now, Actor: by.Name, Role: by.Role, Detail: strings.TrimSpace(req.Note)})
	notices = append(notices, e.notice(r, NoticeClosed, st.Now))
	return e.outcome(st, notices)
}
