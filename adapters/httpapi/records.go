package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
)

// recordKind describes one family of clinical records served under /api/v1.
type recordKind struct {
	kind     string   // store record kind
	statuses []string // the statuses a client may filter on, besides "open"
	// beforeParam, when set, names the query parameter that bounds Record.Opened from above
	// (follow-ups: due_before).
	beforeParam string
}

// listRecords serves ?patient=&department=&status=&encounter=&limit= (+ the kind's time bound).
// A department-bound clinician sees only their departments; every list is audited.
func (s *Server) listRecords(k recordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := c.QueryParams()
		f := store.RecordFilter{Kind: k.kind, Patient: q.Get("patient"), Encounter: q.Get("encounter"), Department: q.Get("department")}
		if f.Patient != "" && !strings.HasPrefix(f.Patient, "Patient/") {
			f.Patient = "Patient/" + f.Patient
		}
		if f.Encounter != "" && !strings.HasPrefix(f.Encounter, "Encounter/") {
			f.Encounter = "Encounter/" + f.Encounter
		}
		for _, st := range q["status"] {
			for _, v := range strings.Split(st, ",") {
				switch {
				case v == "open":
					f.OpenOnly = true
				case slices.Contains(k.statuses, v):
					f.Statuses = append(f.Statuses, v)
				default:
					return badParam("status", "status must be open or one of "+strings.Join(k.statuses, ", "))
				}
			}
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 5000 {
				return badParam("limit", "limit must be a number from 1 to 5000")
			}
			f.Limit = n
		}
		if k.beforeParam != "" {
			if v := q.Get(k.beforeParam); v != "" {
				t, err := parseDateOrTime(v, s.cfg.Zone)
				if err != nil {
					return badParam(k.beforeParam, k.beforeParam+" must be a date (2026-03-01) or an RFC 3339 time")
				}
				f.OpenedTo = t
			}
		}
		if t := principal(c); len(t.Departments) > 0 {
			if f.Department != "" && !slices.Contains(t.Departments, f.Department) {
				return errForbidden
			}
			f.Departments = t.Departments
		}
		if err := s.audit(c, "search", c.Request().URL.Path+"?"+c.Request().URL.RawQuery, f.Patient); err != nil {
			return err
		}
		rs, err := s.cfg.Cores.Records(c.Request().Context(), f)
		if err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, itemsJSON(rs))
	}
}

// itemsJSON is {"items": [bodies…], "count": n}, the bodies as the cores wrote them.
func itemsJSON(rs []store.Record) []byte {
	b := make([]byte, 0, 256*len(rs)+32)
	b = append(b, `{"items":[`...)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r.Body...)
	}
	b = append(b, `],"count":`...)
	b = strconv.AppendInt(b, int64(len(rs)), 10)
	return append(b, '}')
}

// record reads one record of the kind for the caller, enforcing department binding, and
// audits the read.
func (s *Server) record(c echo.Context, kind, id string) (store.Record, error) {
	r, err := s.cfg.Cores.Record(c.Request().Context(), kind, id)
	if err != nil {
		return r, err
	}
	if t := principal(c); len(t.Departments) > 0 && !slices.Contains(t.Departments, r.Department) {
		return r, errForbidden
	}
	if err := s.audit(c, "read", kind+"/"+id, r.Patient); err != nil {
		return r, err
	}
	return r, nil
}

func (s *Server) getRecord(kind string) echo.HandlerFunc {
	return func(c echo.Context) error {
		r, err := s.record(c, kind, c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, r.Body)
	}
}

// parseDateOrTime reads an RFC 3339 time, or a date meaning its start in the hospital's zone.
func parseDateOrTime(v string, zone *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02", v, zone)
}
