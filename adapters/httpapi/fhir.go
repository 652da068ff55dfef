package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/resource"
)

const fhirJSON = "application/fhir+json"

// fhirBody checks the media type and reads the body within the size limit.
func (s *Server) fhirBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
		if err != nil {
			return errMediaType
		}
		switch mt {
		case fhirJSON, "application/json", "application/json+fhir":
		default:
			return errMediaType
		}
		if c.Request().ContentLength > s.cfg.MaxBody {
			return errTooLarge
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, s.cfg.MaxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errTooLarge
			}
			return fmt.Errorf("read body: %w", err)
		}
		c.Set("body", body)
		return next(c)
	}
}

func (s *Server) source(c echo.Context) intake.Source {
	t := principal(c)
	src := intake.Source{System: t.Source, Hospital: t.Hospital}
	if src.System == "" {
		src.System = "generic"
	}
	return src
}

func (s *Server) postResource(c echo.Context) error {
	return s.writeResource(c, c.Param("type"), "")
}

func (s *Server) putResource(c echo.Context) error {
	return s.writeResource(c, c.Param("type"), c.Param("id"))
}

func (s *Server) writeResource(c echo.Context, typ, id string) error {
	body := c.Get("body").([]byte)
	res, err := s.cfg.Intake.Resource(c.Request().Context(), s.source(c), typ, id, body)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderLocation, s.baseURL(c)+"/"+res.Location())
	h.Set("ETag", fmt.Sprintf(`W/"%d"`, res.VersionID))
	h.Set(echo.HeaderLastModified, res.LastUpdated.UTC().Format(http.TimeFormat))
	if res.Outcome == store.OutcomeStale {
		return c.JSON(http.StatusOK, operationOutcome([]resource.Issue{{Severity: "warning", Code: "conflict",
			Diagnostics: "an older version than the one stored (meta.lastUpdated): kept in the inbox, not applied"}}))
	}
	out, err := withMeta(body, typ, res.ID, res.VersionID, res.LastUpdated)
	if err != nil {
		return err
	}
	return c.Blob(res.Status, fhirJSON+"; charset=utf-8", out)
}

func (s *Server) postBundle(c echo.Context) error {
	body := c.Get("body").([]byte)
	b, results, err := s.cfg.Intake.Bundle(c.Request().Context(), s.source(c), body)
	if err != nil {
		return err
	}
	respType := "batch-response"
	if b.Transaction() {
		respType = "transaction-response"
	}
	out := bundleResponse{ResourceType: "Bundle", Type: respType, Entry: make([]responseEntry, len(results))}
	for i, r := range results {
		e := &out.Entry[i]
		e.FullURL = b.Entries[i].FullURL
		e.Response = entryResponse{Status: statusLine(r.Status), Location: r.Location()}
		if r.VersionID > 0 {
			e.Response.Etag = fmt.Sprintf(`W/"%d"`, r.VersionID)
			e.Response.LastModified = instant(r.LastUpdated)
		}
		if r.Err != nil {
			e.Response.Outcome = operationOutcome(r.Err.Issues)
		} else if r.Outcome == store.OutcomeStale {
			e.Response.Outcome = operationOutcome([]resource.Issue{{Severity: "warning", Code: "conflict",
				Diagnostics: "an older version than the one stored: kept, not applied"}})
		}
	}
	return c.JSON(http.StatusOK, out)
}

// bundleResponse is a batch-response or transaction-response: structs, not maps, because
// encoding a Bundle of 100 answers as maps (sorted keys, values behind interfaces) cost a
// millisecond of every request.
type bundleResponse struct {
	ResourceType string          `json:"resourceType"`
	Type         string          `json:"type"`
	Entry        []responseEntry `json:"entry"`
}

type responseEntry struct {
	FullURL  string        `json:"fullUrl,omitempty"`
	Response entryResponse `json:"response"`
}

type entryResponse struct {
	Status       string         `json:"status"`
	Location     string         `json:"location,omitempty"`
	Etag         string         `json:"etag,omitempty"`
	LastModified string         `json:"lastModified,omitempty"`
	Outcome      map[string]any `json:"outcome,omitempty"`
}

func (s *Server) readResource(c echo.Context) error {
	return s.readStored(c, c.Param("type"), c.Param("id"))
}

func (s *Server) readStored(c echo.Context, typ, id string) error {
	if !resource.KnownType(typ) {
		return &resource.Error{Status: http.StatusNotFound, Issues: []resource.Issue{{Severity: "error", Code: "not-supported",
			Diagnostics: fmt.Sprintf("%q is not an R4 resource type", typ)}}}
	}
	if t := principal(c); t.Role == store.RoleClinician && len(t.Departments) > 0 {
		// A token bound to departments acts only in them, and a raw resource does not say
		// which department it belongs to: such tokens read through the department views.
		return errForbidden
	}
	r, err := s.cfg.Store.Resource(c.Request().Context(), typ, id)
	if err != nil {
		return err
	}
	// The read is recorded before any patient data leaves: no audit, no data.
	if err := s.audit(c, "read", typ+"/"+id, r.PatientKey); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", fmt.Sprintf(`W/"%d"`, r.VersionID))
	h.Set(echo.HeaderLastModified, r.LastUpdated.UTC().Format(http.TimeFormat))
	if r.Deleted {
		return &resource.Error{Status: http.StatusGone, Issues: []resource.Issue{{Severity: "error", Code: "deleted",
			Diagnostics: fmt.Sprintf("%s/%s was deleted (version %d)", typ, id, r.VersionID)}}}
	}
	out, err := withMeta(r.Body, typ, id, r.VersionID, r.LastUpdated)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, fhirJSON+"; charset=utf-8", out)
}

func (s *Server) audit(c echo.Context, action, what, patientKey string) error {
	t := principal(c)
	err := s.cfg.Store.Audit(c.Request().Context(), store.AuditEntry{
		At: s.cfg.Now().UTC(), Actor: t.Name, Role: t.Role, Action: action, Resource: what,
		PatientKey: patientKey, RemoteAddr: c.RealIP(), RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// withMeta returns the stored JSON with the server's id, meta.versionId and meta.lastUpdated,
// keeping everything else the sender sent (contained, extensions, unknown elements). It writes
// resourceType, id and meta first, as people reading FHIR expect, then the rest in key order.
func withMeta(body []byte, typ, id string, version int, updated time.Time) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", typ, err)
	}
	meta := map[string]any{}
	if raw, ok := m["meta"]; ok {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&meta); err != nil || meta == nil {
			meta = map[string]any{}
		}
	}
	meta["versionId"] = strconv.Itoa(version)
	meta["lastUpdated"] = instant(updated)
	delete(m, "resourceType")
	delete(m, "id")
	delete(m, "meta")

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	put := func(k string, v any) error {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encode %s.%s: %w", typ, k, err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		return nil
	}
	buf.WriteByte('{')
	if err := put("resourceType", typ); err != nil {
		return nil, err
	}
	if err := put("id", id); err != nil {
		return nil, err
	}
	if err := put("meta", meta); err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		buf.WriteByte(',')
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(m[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// instant formats a FHIR instant in UTC.
func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func statusLine(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

func (s *Server) baseURL(c echo.Context) string {
	return c.Scheme() + "://" + c.Request().Host + "/fhir"
}
