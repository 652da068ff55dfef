package clinicalpath

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/pathways"
)

// VarianceRequest is a variance a clinician records
// (POST /api/v1/pathway-instances/{id}/variances).
type VarianceRequest struct {
	Reason       string `json:"reason"`
	Source       string `json:"source"`    // patient | clinician | hospital | external
	Direction    string `json:"direction"` // positive | negative
	Controllable bool   `json:"controllable"`
}

// WithdrawRequest withdraws an instance from its pathway
// (POST /api/v1/pathway-instances/{id}/withdraw).
type WithdrawRequest struct {
	Reason string `json:"reason"`
}

// RecordVariance adds a clinician's variance to instance id. A withdrawn instance refuses
// it (ECONFLICT); a completed one takes it, since variances are often analysed after
// discharge.
func (e *Engine) RecordVariance(raw json.RawMessage, id string, by pathways.Actor, req VarianceRequest, now time.Time) (pathways.Outcome, error) {
	st, x, err := e.action(raw, id, by, now)
	if err != nil {
		return pathways.Outcome{}, err
	}
	switch {
	case strings.TrimSpace(req.Reason) == "":
		return pathways.Outcome{}, pathways.Errorf(pathways.EINVALID, "reason", "required")
	case !slices.Contains(varianceSources, req.Source):
		return pathways.Outcome{}, pathways.Errorf(pathways.EINVALID, "source", "%q is not one of %s", req.Source, strings.Join(varianceSources, ", "))
	case !slices.Contains(varianceDirections, req.Direction):
		return pathways.Outcome{}, pathways.Errorf(pathways.EINVALID, "direction", "%q is not positive or negative", req.Direction)
	case x.Withdrawn != nil:
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "instance %s was withdrawn from the pathway", id)
	}
	at := now.UTC()
	x.Recorded = append(x.Recorded, Variance{
		ID:   varianceID(x.Encounter, fmt.Sprintf("recorded:%d:%s", len(x.Recorded), at.Format(time.RFC3339Nano))),
		Kind: VarianceRecorded, Reason: strings.TrimSpace(req.Reason), Source: req.Source, Direction: req.Direction,
		Controllable: req.Controllable, At: at, By: by.Name,
	})
	return e.finish(st, now)
}

// Withdraw takes instance id out of its pathway (退出路径). A completed or already withdrawn
// instance refuses it (ECONFLICT).
func (e *Engine) Withdraw(raw json.RawMessage, id string, by pathways.Actor, req WithdrawRequest, now time.Time) (pathways.Outcome, error) {
	st, x, err := e.action(raw, id, by, now)
	if err != nil {
		return pathways.Outcome{}, err
	}
	switch {
	case strings.TrimSpace(req.Reason) == "":
		return pathways.Outcome{}, pathways.Errorf(pathways.EINVALID, "reason", "required")
	case x.Withdrawn != nil:
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "instance %s was already withdrawn", id)
	case x.Derived.Discharged != nil:
		return pathways.Outcome{}, pathways.Errorf(pathways.ECONFLICT, "", "instance %s is completed: the patient was discharged", id)
	}
	x.Withdrawn = &Withdrawal{At: now.UTC(), By: by.Name, Role: by.Role, Reason: strings.TrimSpace(req.Reason)}
	return e.finish(st, now)
}

// action finds instance id in the state and checks that by may act on it.
func (e *Engine) action(raw json.RawMessage, id string, by pathways.Actor, now time.Time) (*state, *instance, error) {
	if now.IsZero() {
		return nil, nil, fmt.Errorf("clinicalpath: an action needs the time")
	}
	st, err := decodeState(raw)
	if err != nil {
		return nil, nil, err
	}
	for _, x := range st.Instances {
		if x.ID != id || x.Dropped {
			continue
		}
		if len(by.Departments) > 0 && !slices.Contains(by.Departments, x.Derived.Department) {
			return nil, nil, pathways.Errorf(pathways.EFORBIDDEN, "", "%s may not act on instance %s of department %s", by.Name, id, x.Derived.Department)
		}
		return st, x, nil
	}
	return nil, nil, pathways.Errorf(pathways.ENOTFOUND, "", "no pathway instance %s", id)
}
