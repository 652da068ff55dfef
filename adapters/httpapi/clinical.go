package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
	"github.com/lujing-health/lujing/pathways/followup"
)

// Clinical gives the API the clinical cores: their engines (for actions and FHIR views) and
// the runner that applies an action to a patient's stored state.
type Clinical struct {
	Actions        Actions
	CriticalValues *criticalvalue.Engine
	FollowUp       *followup.Engine
	// Pathways returns the pathway engine of the moment (uploads rebuild it).
	Pathways func() *clinicalpath.Engine
	// OnPathwayChange rebuilds the pathway engine after an upload.
	OnPathwayChange func(ctx context.Context) error
}

// Actions runs a clinician's action on a core's state (clinical.Runner.Act).
type Actions interface {
	Act(ctx context.Context, core, patient string, fn func(state json.RawMessage, now time.Time) (pathways.Outcome, error)) (pathways.Outcome, error)
}

// Core names, as the runner stores their state.
const (
	CoreCriticalValue = "criticalvalue"
	CoreClinicalPath  = "clinicalpath"
	CoreFollowUp      = "followup"
)

// actor is the caller as the cores see it.
func actor(c echo.Context) pathways.Actor {
	t := principal(c)
	return pathways.Actor{Name: t.Name, Role: string(t.Role), Departments: t.Departments}
}

// action serves POST /api/v1/<records>/{id}/<verb>: it reads the record (department binding,
// audit), decodes the request into R, runs do on the core's state of the record's patient and
// answers the record as it now is. A refusal the core records (a wrong read-back) is stored
// and answered with its error.
func action[R any](s *Server, kind, core string, do func(state json.RawMessage, id string, by pathways.Actor, req R, now time.Time) (pathways.Outcome, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		var req R
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		r, err := s.record(c, kind, id)
		if err != nil {
			return err
		}
		by := actor(c)
		out, err := s.cfg.Clinical.Actions.Act(c.Request().Context(), core, r.Patient, func(state json.RawMessage, now time.Time) (pathways.Outcome, error) {
			return do(state, id, by, req, now)
		})
		if err != nil {
			return err
		}
		s.log.Info("clinical action", "kind", kind, "record", id, "route", c.Path(), "by", by.Name)
		for _, rec := range out.Records {
			if rec.Kind == kind && rec.ID == id {
				return c.JSONBlob(http.StatusOK, rec.Body)
			}
		}
		r, err = s.cfg.Cores.Record(c.Request().Context(), kind, id)
		if err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, r.Body)
	}
}

// clinicalRoutes adds the cores' native API.
func (s *Server) clinicalRoutes(api *echo.Group) {
	cl := s.cfg.Clinical
	if cl == nil || s.cfg.Cores == nil {
		return
	}
	readers := s.auth(store.RoleClinician, store.RoleAdmin)
	actors := s.auth(store.RoleClinician)
	if cl.CriticalValues != nil {
		s.criticalValueRoutes(api, cl.CriticalValues)
	}
	if cl.Pathways != nil {
		s.pathwayRoutes(api)
	}
	if cl.FollowUp != nil {
		k := recordKind{kind: followup.KindContact, beforeParam: "due_before",
			statuses: []string{followup.StatusScheduled, followup.StatusDue, followup.StatusOverdue, followup.StatusDone, followup.StatusMissed, followup.StatusCancelled}}
		api.GET("/follow-ups", s.listRecords(k), readers)
		api.GET("/follow-ups/counts", s.followUpCounts, s.auth(store.RoleQC, store.RoleAdmin, store.RoleClinician))
		api.GET("/follow-ups/:id", s.getRecord(followup.KindContact), readers)
		api.POST("/follow-ups/:id/record", action(s, followup.KindContact, CoreFollowUp, cl.FollowUp.Record), actors)
		api.GET("/follow-up-eligibility", s.listRecords(recordKind{kind: followup.KindEligibility,
			statuses: []string{followup.StatusEligible, followup.StatusNotEligible}}), readers)
	}
}

// coreState reads a core's state of a patient (nil when the core never ran for them).
func (s *Server) coreState(ctx context.Context, core, patient string) (json.RawMessage, error) {
	st, err := s.cfg.Cores.CoreState(ctx, core, patient)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return st.State, err
}

// criticalValueRoutes: the worklist, one value, acknowledge with read-back, handle.
func (s *Server) criticalValueRoutes(api *echo.Group, cv *criticalvalue.Engine) {
	readers := s.auth(store.RoleClinician, store.RoleAdmin)
	actors := s.auth(store.RoleClinician)
	k := recordKind{kind: criticalvalue.RecordKind, statuses: []string{criticalvalue.StatusDetected, criticalvalue.StatusNotified,
		criticalvalue.StatusAcknowledged, criticalvalue.StatusHandled, criticalvalue.StatusClosed, criticalvalue.StatusRecalled, criticalvalue.StatusUnreachable}}
	api.GET("/critical-values", s.listRecords(k), readers)
	api.GET("/critical-values/counts", s.criticalValueCounts, s.auth(store.RoleQC, store.RoleAdmin, store.RoleClinician))
	api.GET("/critical-values/:id", s.getRecord(criticalvalue.RecordKind), readers)
	api.POST("/critical-values/:id/acknowledge", action(s, criticalvalue.RecordKind, CoreCriticalValue, cv.Acknowledge), actors)
	api.POST("/critical-values/:id/handle", action(s, criticalvalue.RecordKind, CoreCriticalValue, cv.Handle), actors)
	api.POST("/critical-values/:id/close", action(s, criticalvalue.RecordKind, CoreCriticalValue, cv.Close), actors)
}

// pathwayRoutes: definitions (read by all, uploaded by admins) and instances.
func (s *Server) pathwayRoutes(api *echo.Group) {
	readers := s.auth(store.RoleClinician, store.RoleAdmin)
	actors := s.auth(store.RoleClinician)
	api.GET("/pathways", s.listPathways, s.auth(store.RoleClinician, store.RoleQC, store.RoleAdmin))
	api.GET("/pathways/:id", s.getPathway, s.auth(store.RoleClinician, store.RoleQC, store.RoleAdmin))
	api.PUT("/pathways/:id", s.putPathway, s.auth(store.RoleAdmin))
	api.GET("/pathways/:id/counts", s.pathwayCounts, s.auth(store.RoleClinician, store.RoleQC, store.RoleAdmin))
	k := recordKind{kind: clinicalpath.RecordKind, statuses: []string{clinicalpath.StatusActive, clinicalpath.StatusCompleted, clinicalpath.StatusWithdrawn}}
	api.GET("/pathway-instances", s.listRecords(k), readers)
	api.GET("/pathway-instances/:id", s.getRecord(clinicalpath.RecordKind), readers)
	// The engine is looked up per request: an uploaded definition rebuilds it.
	api.POST("/pathway-instances/:id/variances", action(s, clinicalpath.RecordKind, CoreClinicalPath,
		func(state json.RawMessage, id string, by pathways.Actor, req clinicalpath.VarianceRequest, now time.Time) (pathways.Outcome, error) {
			return s.cfg.Clinical.Pathways().RecordVariance(state, id, by, req, now)
		}), actors)
	api.POST("/pathway-instances/:id/withdraw", action(s, clinicalpath.RecordKind, CoreClinicalPath,
		func(state json.RawMessage, id string, by pathways.Actor, req clinicalpath.WithdrawRequest, now time.Time) (pathways.Outcome, error) {
			return s.cfg.Clinical.Pathways().Withdraw(state, id, by, req, now)
		}), actors)
}
