package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/resource"
	"github.com/lujing-health/lujing/pathways"
)

var (
	errMediaType = errors.New("the body must be application/fhir+json or application/json")
	errTooLarge  = errors.New("the body is larger than the limit")
	errBadID     = errors.New("not a valid id")
	errConflict  = errors.New("the request conflicts with the current state")
)

// problem is one row of the table from an error to what the client is told.
type problem struct {
	status int
	code   string // OperationOutcome issue type
	text   string
}

// classify is the one table mapping errors to HTTP. Anything not listed is a 500 whose detail
// stays in the server log: the client is not shown internals.
func classify(err error) (problem, []resource.Issue) {
	var re *resource.Error
	var he *echo.HTTPError
	var mbe *http.MaxBytesError
	var pe *pathways.Error
	switch {
	case errors.As(err, &pe):
		return coreProblem(pe)
	case errors.As(err, &re):
		return problem{re.Status, "invalid", "the request was rejected"}, re.Issues
	case errors.As(err, &mbe), errors.Is(err, errTooLarge):
		return problem{http.StatusRequestEntityTooLarge, "too-costly", errTooLarge.Error()}, nil
	case errors.Is(err, errMediaType):
		return problem{http.StatusUnsupportedMediaType, "not-supported", errMediaType.Error()}, nil
	case errors.Is(err, errUnauthorized):
		return problem{http.StatusUnauthorized, "login", errUnauthorized.Error()}, nil
	case errors.Is(err, errForbidden):
		return problem{http.StatusForbidden, "forbidden", errForbidden.Error()}, nil
	case errors.Is(err, store.ErrNotFound):
		return problem{http.StatusNotFound, "not-found", "not found"}, nil
	case errors.Is(err, errBadID):
		return problem{http.StatusBadRequest, "value", errBadID.Error()}, nil
	case errors.Is(err, errConflict), errors.Is(err, store.ErrConflict):
		return problem{http.StatusConflict, "conflict", errConflict.Error()}, nil
	case errors.As(err, &he):
		// Echo's own errors (no route, wrong method): say only the status text, not parser
		// internals.
		return problem{he.Code, "processing", strings.ToLower(http.StatusText(he.Code))}, nil
	}
	return problem{http.StatusInternalServerError, "exception", "internal error; the request id is in the server log"}, nil
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p, issues := classify(err)
	if p.status >= 500 {
		s.log.Error("request failed", "route", c.Path(), "err", err,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if p.status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="lujing"`)
	}
	if len(issues) == 0 {
		issues = []resource.Issue{{Severity: "error", Code: p.code, Diagnostics: p.text}}
	}
	var body any
	ctype := "application/fhir+json"
	if strings.HasPrefix(c.Request().URL.Path, "/fhir") {
		body = operationOutcome(issues)
	} else {
		ctype = "application/problem+json"
		body = problemJSON(p, issues)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.status)
		return
	}
	b, _ := json.Marshal(body)
	_ = c.Blob(p.status, ctype+"; charset=utf-8", b)
}

// operationOutcome renders issues as a FHIR OperationOutcome.
func operationOutcome(issues []resource.Issue) map[string]any {
	out := make([]map[string]any, 0, len(issues))
	for _, is := range issues {
		sev := is.Severity
		if sev == "" {
			sev = "error"
		}
		m := map[string]any{"severity": sev, "code": is.Code}
		if is.Diagnostics != "" {
			m["diagnostics"] = is.Diagnostics
		}
		if is.Expression != "" {
			m["expression"] = []string{is.Expression}
		}
		out = append(out, m)
	}
	return map[string]any{"resourceType": "OperationOutcome", "issue": out}
}

// problemJSON renders an RFC 9457 problem for the native API.
func problemJSON(p problem, issues []resource.Issue) map[string]any {
	m := map[string]any{"type": "about:blank", "title": http.StatusText(p.status), "status": p.status, "detail": p.text}
	if len(issues) > 0 && issues[0].Diagnostics != "" {
		m["detail"] = issues[0].Diagnostics
	}
	var fields []map[string]string
	for _, is := range issues {
		if is.Expression != "" {
			fields = append(fields, map[string]string{"field": is.Expression, "reason": is.Diagnostics})
		}
	}
	if len(fields) > 0 {
		m["errors"] = fields
	}
	return m
}
