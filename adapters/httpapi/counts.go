package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
	"github.com/lujing-health/lujing/pathways/followup"
)

// period reads ?from=&to=: dates in the hospital's zone (to is inclusive: the whole day) or
// RFC 3339 times (to exclusive). Without from, the last 30 days up to today.
func (s *Server) period(c echo.Context) (time.Time, time.Time, error) {
	now := s.cfg.Now().In(s.cfg.Zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.cfg.Zone)
	from, to := today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)
	if v := c.QueryParam("from"); v != "" {
		t, err := parseDateOrTime(v, s.cfg.Zone)
		if err != nil {
			return from, to, badParam("from", "from must be a date (2026-03-01) or an RFC 3339 time")
		}
		from = t
	}
	if v := c.QueryParam("to"); v != "" {
		t, err := parseDateOrTime(v, s.cfg.Zone)
		if err != nil {
			return from, to, badParam("to", "to must be a date (2026-03-31, inclusive) or an RFC 3339 time")
		}
		if !strings.Contains(v, "T") {
			t = t.AddDate(0, 0, 1)
		}
		to = t
	}
	if !from.Before(to) {
		return from, to, badParam("from", "from must be before to")
	}
	return from, to, nil
}

// bodies reads every record of the kinds (bound to the caller's departments).
func (s *Server) bodies(c echo.Context, kinds ...string) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for _, k := range kinds {
		rs, err := s.cfg.Cores.Records(c.Request().Context(), store.RecordFilter{Kind: k, Departments: principal(c).Departments, Limit: 10_000_000})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, r.Body)
		}
	}
	return out, nil
}

// criticalValueCounts serves the critical-value indicators of a period by department.
func (s *Server) criticalValueCounts(c echo.Context) error {
	from, to, err := s.period(c)
	if err != nil {
		return err
	}
	bodies, err := s.bodies(c, criticalvalue.RecordKind)
	if err != nil {
		return err
	}
	m, err := s.cfg.Clinical.CriticalValues.Counts(bodies, from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

// followUpCounts serves the follow-up indicators of a period: the hospital, then departments.
func (s *Server) followUpCounts(c echo.Context) error {
	from, to, err := s.period(c)
	if err != nil {
		return err
	}
	bodies, err := s.bodies(c, followup.KindContact, followup.KindEligibility)
	if err != nil {
		return err
	}
	rows, err := s.cfg.Clinical.FollowUp.Count(bodies, from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"from": from.UTC(), "to": to.UTC(), "rows": rows})
}
