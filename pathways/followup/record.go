package followup

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lujing-health/lujing/pathways"
)

// RecordRequest is the body of POST /api/v1/follow-ups/{id}/record: one attempt to reach the
// patient and, when reached, what was learnt.
type RecordRequest struct {
	// By is who made the attempt; default the authenticated actor.
	By string `json:"by"`
	// Method is how: phone, clinic or online; default the contact's.
	Method  string   `json:"method"`
	Reached *bool    `json:"reached"` // required
	Outcome *Outcome `json:"outcome"` // required when reached, refused when not
	// Note is about the attempt itself ("no answer", "wrong number").
	Note string `json:"note,omitempty"`
	// AttemptID is the client's id of the attempt: the same id again is the same attempt, and
	// recording it again changes nothing. Without it, an attempt identical to the contact's
	// last one within duplicateWithin is taken as a resubmission of it.
	AttemptID string `json:"attempt_id,omitempty"`
}

// duplicateWithin is how close an identical attempt without an attempt_id must follow the
// last one to be a resubmission (a double click, a retried request) rather than a new call.
const duplicateWithin = time.Minute

const maxNote = 4000

// icd10 is the shape of an ICD-10 code: WHO (C18, C18.2) and the Chinese clinical editions'
// extensions (C18.200x001, K35.800x002).
var icd10 = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?(x[0-9]{3})?$`)

// Record records an attempt on contact id. It returns the patient's whole new outcome, or a
// *pathways.Error: ENOTFOUND for an unknown contact, EFORBIDDEN outside the actor's
// departments, ECONFLICT on a cancelled or done contact (or an unreached attempt on a missed
// one), EINVALID naming the field at fault. Recording the same attempt again is a no-op.
func (e *Engine) Record(raw json.RawMessage, id string, by pathways.Actor, req RecordRequest, now time.Time) (pathways.Outcome, error) {
	st, err := loadState(raw)
	if err != nil {
		return pathways.Outcome{}, err
	}
	vs := e.views(st, now)
	i := slices.IndexFunc(vs, func(v *view) bool { return v.ID == id })
	if i < 0 {
		return pathways.Outcome{}, pathways.Errorf(pathways.ENOTFOUND, "", "no follow-up contact %q", id)
	}
	v := vs[i]
	if len(by.Departments) > 0 && !slices.Contains(by.Departments, v.Department) {
		return pathways.Outcome{}, pathways.Errorf(pathways.EFORBIDDEN, "", "contact %s belongs to department %q", id, v.Department)
	}
	now = now.UTC()
	a := &Attempt{ID: req.AttemptID, At: now, By: cmpOr(strings.TrimSpace(req.By), by.Name), RecordedBy: by.Name,
		Method: cmpOr(req.Method, v.Method), Note: req.Note, Outcome: req.Outcome}
	if req.Reached != nil {
		a.Reached = *req.Reached
	}
	if prev := st.Actions[id]; prev != nil && duplicate(prev.Attempts, a) {
		return e.finish(st, now, nil)
	}
	switch {
	case v.status == StatusCancelled:
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "contact %s is cancelled: %s", id, v.reason)
	case v.status == StatusDone:
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "contact %s is done already", id)
	case v.status == StatusMissed && !a.Reached:
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "contact %s is missed after %d failed attempts; record only a late reach", id, e.cfg.MaxAttempts)
	}
	if err := e.validate(req, v, now); err != nil {
		return pathways.Outcome{}, err
	}
	if st.Actions == nil {
		st.Actions = map[string]*actions{}
	}
	act := st.Actions[id]
	if act == nil {
		act = &actions{Contact: v.Contact}
		st.Actions[id] = act
	}
	act.Attempts = append(act.Attempts, *a)
	// The recorded notice carries the contact as it is after the attempt; finish fills Data.
	recorded := pathways.Notice{Name: NoticeRecorded, Record: id, Patient: st.Patient, Department: v.Department, At: now}
	return e.finish(st, now, []pathways.Notice{recorded})
}

// duplicate reports whether a repeats an attempt already recorded: the same attempt_id, or,
// without one, the same content as the last attempt within duplicateWithin.
func duplicate(prev []Attempt, a *Attempt) bool {
	if a.ID != "" {
		return slices.ContainsFunc(prev, func(p Attempt) bool { return p.ID == a.ID })
	}
	if len(prev) == 0 {
		return false
	}
	last := prev[len(prev)-1]
	if last.ID != "" || a.At.Sub(last.At) > duplicateWithin || a.At.Before(last.At) {
		return false
	}
	x, y := last, *a
	x.At, y.At = time.Time{}, time.Time{}
	return reflect.DeepEqual(x, y)
}

func (e *Engine) validate(req RecordRequest, v *view, now time.Time) error {
	bad := func(field, format string, args ...any) error {
		return pathways.Errorf(pathways.EINVALID, field, format, args...)
	}
	if req.Reached == nil {
		return bad("reached", "required: true or false")
	}
	if req.Method != "" && !slices.Contains(methods, req.Method) {
		return bad("method", "%q is not %s", req.Method, strings.Join(methods, ", "))
	}
	if utf8.RuneCountInString(req.By) > 200 {
		return bad("by", "longer than 200 characters")
	}
	if utf8.RuneCountInString(req.Note) > maxNote {
		return bad("note", "longer than %d characters", maxNote)
	}
	if len(req.AttemptID) > 200 {
		return bad("attempt_id", "longer than 200 characters")
	}
	o := req.Outcome
	if !*req.Reached {
		if o != nil {
			return bad("outcome", "only a reached patient has an outcome")
		}
		return nil
	}
	if o == nil {
		return bad("outcome", "required when reached")
	}
	switch o.Status {
	case "alive":
		if o.DiedOn != "" {
			return bad("outcome.died_on", "given with status alive")
		}
	case "died":
		if o.DiedOn == "" {
			return bad("outcome.died_on", "required with status died")
		}
		on, err := time.ParseInLocation(time.DateOnly, o.DiedOn, e.cfg.Zone)
		if err != nil {
			return bad("outcome.died_on", "%q is not a date YYYY-MM-DD", o.DiedOn)
		}
		if discharged := civil(v.Discharged, e.cfg.Zone); o.DiedOn < discharged {
			return bad("outcome.died_on", "%s is before the discharge on %s", o.DiedOn, discharged)
		}
		if on.After(now) {
			return bad("outcome.died_on", "%s is in the future", o.DiedOn)
		}
	case "":
		return bad("outcome.status", "required: alive or died")
	default:
		return bad("outcome.status", "%q is not alive or died", o.Status)
	}
	for i, c := range o.Complications {
		if !icd10.MatchString(c) {
			return bad(fmt.Sprintf("outcome.complications[%d]", i), "%q is not an ICD-10 code", c)
		}
	}
	if utf8.RuneCountInString(o.NewTreatment) > maxNote {
		return bad("outcome.new_treatment", "longer than %d characters", maxNote)
	}
	if utf8.RuneCountInString(o.Note) > maxNote {
		return bad("outcome.note", "longer than %d characters", maxNote)
	}
	return nil
}
