package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
	"github.com/lujing-health/lujing/pathways/followup"
)

// The cores' records seen as FHIR: a follow-up contact or a critical value's loop is a Task, a
// pathway instance or a follow-up schedule a CarePlan. These views share the /fhir/{type}/{id}
// space with stored resources: a record's id answers first, else the stored resource of that
// type and id.

// view renders one record as the FHIR resources of a type it stands for (a critical value is
// one Task and a Communication per delivery); id maps a resource id to its record's id.
type view struct {
	render func(c echo.Context, r store.Record) ([][]byte, error)
	id     func(resourceID string) string
}

func one(f func(c echo.Context, r store.Record) ([]byte, error)) func(c echo.Context, r store.Record) ([][]byte, error) {
	return func(c echo.Context, r store.Record) ([][]byte, error) {
		b, err := f(c, r)
		if err != nil || b == nil {
			return nil, err
		}
		return [][]byte{b}, nil
	}
}

func same(id string) string { return id }

// viewTypes are the FHIR types the cores' records are seen as.
var viewTypes = []string{"Task", "CarePlan", "Communication"}

// views lists, per FHIR type, the record kinds that render as it.
func (s *Server) views() map[string]map[string]view {
	out := map[string]map[string]view{}
	for _, t := range viewTypes {
		out[t] = map[string]view{}
	}
	cl := s.cfg.Clinical
	if cl == nil {
		return out
	}
	if cl.CriticalValues != nil {
		out["Task"][criticalvalue.RecordKind] = view{render: one(func(c echo.Context, r store.Record) ([]byte, error) {
			return criticalvalue.Task(r.Body)
		}), id: same}
		out["Communication"][criticalvalue.RecordKind] = view{render: func(c echo.Context, r store.Record) ([][]byte, error) {
			return criticalvalue.Communications(r.Body)
		}, id: func(id string) string {
			if i := strings.Index(id, "-notified"); i > 0 {
				return id[:i]
			}
			if i := strings.Index(id, "-escalated-"); i > 0 {
				return id[:i]
			}
			return id
		}}
	}
	if cl.Pathways != nil {
		out["CarePlan"][clinicalpath.RecordKind] = view{render: one(func(c echo.Context, r store.Record) ([]byte, error) {
			b := clinicalpath.CarePlan(r.Body)
			if b == nil {
				return nil, store.ErrNotFound
			}
			return b, nil
		}), id: same}
	}
	if fu := cl.FollowUp; fu != nil {
		out["Task"][followup.KindContact] = view{render: one(func(c echo.Context, r store.Record) ([]byte, error) {
			state, err := s.coreState(c.Request().Context(), CoreFollowUp, r.Patient)
			if err != nil {
				return nil, err
			}
			tasks, err := fu.Tasks(state, r.Encounter, s.cfg.Now())
			if err != nil {
				return nil, err
			}
			for _, t := range tasks {
				var head struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(t, &head) == nil && head.ID == r.ID {
					return t, nil
				}
			}
			return nil, store.ErrNotFound
		}), id: same}
		out["CarePlan"][followup.KindEligibility] = view{render: one(func(c echo.Context, r store.Record) ([]byte, error) {
			if r.Status != followup.StatusEligible {
				return nil, store.ErrNotFound
			}
			state, err := s.coreState(c.Request().Context(), CoreFollowUp, r.Patient)
			if err != nil {
				return nil, err
			}
			return fu.CarePlan(state, r.Encounter, s.cfg.Now())
		}), id: same}
	}
	return out
}

// readView serves GET /fhir/{Type}/{id} for the types with views.
func (s *Server) readView(typ string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		if s.cfg.Cores != nil {
			for kind, v := range s.views()[typ] {
				r, err := s.record(c, kind, v.id(id))
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				bodies, err := v.render(c, r)
				if err != nil {
					return fhirViewError(err)
				}
				for _, b := range bodies {
					var head struct {
						ID string `json:"id"`
					}
					if json.Unmarshal(b, &head) == nil && head.ID == id {
						return c.Blob(http.StatusOK, fhirJSON+"; charset=utf-8", b)
					}
				}
				return store.ErrNotFound
			}
		}
		return s.readStored(c, typ, id)
	}
}

// searchView serves GET /fhir/{Type}?patient= for the types with views: a searchset Bundle of
// the patient's records rendered.
func (s *Server) searchView(typ string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.Cores == nil {
			return echo.ErrNotFound
		}
		p := c.QueryParam("patient")
		if p == "" {
			p = c.QueryParam("subject")
		}
		if p == "" {
			return badParam("patient", "search by patient: ?patient=Patient/<id>")
		}
		if !strings.HasPrefix(p, "Patient/") {
			p = "Patient/" + p
		}
		t := principal(c)
		if err := s.audit(c, "search", typ+"?patient="+p, p); err != nil {
			return err
		}
		var entries []map[string]any
		for kind, v := range s.views()[typ] {
			rs, err := s.cfg.Cores.Records(c.Request().Context(), store.RecordFilter{Kind: kind, Patient: p, Departments: t.Departments, Limit: 1000})
			if err != nil {
				return err
			}
			for _, r := range rs {
				bodies, err := v.render(c, r)
				if errors.Is(err, store.ErrNotFound) || pathways.ErrorCode(err) == pathways.ENOTFOUND {
					continue
				}
				if err != nil {
					return err
				}
				for _, b := range bodies {
					var head struct {
						ID string `json:"id"`
					}
					json.Unmarshal(b, &head)
					entries = append(entries, map[string]any{"fullUrl": typ + "/" + head.ID, "resource": json.RawMessage(b), "search": map[string]string{"mode": "match"}})
				}
			}
		}
		slices.SortFunc(entries, func(a, b map[string]any) int { return strings.Compare(a["fullUrl"].(string), b["fullUrl"].(string)) })
		bundle := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(entries)}
		if len(entries) > 0 {
			bundle["entry"] = entries
		}
		return c.JSON(http.StatusOK, bundle)
	}
}

// fhirViewError turns a core's "not found" into the store's, so /fhir answers 404 with an
// OperationOutcome.
func fhirViewError(err error) error {
	if pathways.ErrorCode(err) == pathways.ENOTFOUND {
		return store.ErrNotFound
	}
	return err
}
