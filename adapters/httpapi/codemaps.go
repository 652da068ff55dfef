package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/resource"
	"github.com/lujing-health/lujing/mapping/yamldoc"
)

// KindCodeMap is the document kind of code maps in the store.
const KindCodeMap = "code-map"

// CodeMaps returns the code maps in force: the built-in examples, replaced by id by those an
// administrator uploaded.
func CodeMaps(ctx context.Context, st interface {
	Documents(ctx context.Context, kind string) ([]store.Document, error)
}) ([]*codemap.Map, error) {
	builtin, err := codemap.Builtin()
	if err != nil {
		return nil, err
	}
	byID := map[string]*codemap.Map{}
	for _, m := range builtin {
		byID[m.ID] = m
	}
	docs, err := st.Documents(ctx, KindCodeMap)
	if err != nil {
		return nil, fmt.Errorf("read code maps: %w", err)
	}
	for _, d := range docs {
		m, err := codemap.Parse(d.ID+".yaml", d.Body)
		if err != nil { // cannot happen: it was checked when uploaded
			return nil, fmt.Errorf("stored code map %s: %w", d.ID, err)
		}
		byID[m.ID] = m
	}
	out := make([]*codemap.Map, 0, len(byID))
	for _, m := range byID {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

type codeMapJSON struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Title   string `json:"title"`
	Status  string `json:"status"`
	Groups  int    `json:"groups"`
	Codes   int    `json:"codes"`
}

func summarize(m *codemap.Map) codeMapJSON {
	n := 0
	for _, g := range m.Groups {
		n += len(g.Elements)
	}
	return codeMapJSON{m.ID, m.Version, m.Title, m.Status, len(m.Groups), n}
}

func (s *Server) listCodeMaps(c echo.Context) error {
	maps, err := CodeMaps(c.Request().Context(), s.cfg.Store)
	if err != nil {
		return err
	}
	out := make([]codeMapJSON, len(maps))
	for i, m := range maps {
		out[i] = summarize(m)
	}
	return c.JSON(http.StatusOK, map[string]any{"code_maps": out})
}

// getCodeMap exports a code map as a FHIR R4 ConceptMap.
func (s *Server) getCodeMap(c echo.Context) error {
	maps, err := CodeMaps(c.Request().Context(), s.cfg.Store)
	if err != nil {
		return err
	}
	for _, m := range maps {
		if m.ID == c.Param("id") {
			b, err := m.ConceptMap()
			if err != nil {
				return err
			}
			return c.Blob(http.StatusOK, fhirJSON+"; charset=utf-8", b)
		}
	}
	return store.ErrNotFound
}

// putCodeMap checks and stores an uploaded code map (YAML). A map that does not check is
// refused with every problem, naming line and field, and the map in force stays.
func (s *Server) putCodeMap(c echo.Context) error {
	id := c.Param("id")
	if !resource.ValidID(id) {
		return errBadID
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 4<<20))
	if err != nil {
		return errTooLarge
	}
	name := id + ".yaml"
	m, err := codemap.Parse(name, body)
	if err != nil {
		return invalidConfig([]error{err})
	}
	if m.ID != id {
		return invalidConfig([]error{fmt.Errorf("%s: id: %q differs from the URL's %q", name, m.ID, id)})
	}
	err = s.cfg.Store.PutDocument(c.Request().Context(), store.Document{Kind: KindCodeMap, ID: id, Version: m.Version,
		Body: body, UpdatedAt: s.cfg.Now().UTC(), UpdatedBy: principal(c).Name})
	if err != nil {
		return err
	}
	if s.cfg.OnConfigChange != nil {
		if err := s.cfg.OnConfigChange(c.Request().Context()); err != nil {
			return fmt.Errorf("reload after code map %s: %w", id, err)
		}
	}
	s.log.Info("code map stored", "id", id, "version", m.Version, "by", principal(c).Name)
	return c.JSON(http.StatusOK, summarize(m))
}

func invalidConfig(errs []error) error {
	issues := make([]resource.Issue, 0, len(errs))
	for _, err := range errs {
		for _, e := range unjoin(err) {
			issues = append(issues, resource.Issue{Severity: "error", Code: "invalid", Diagnostics: e.Error(), Expression: fieldOf(e)})
		}
	}
	return &resource.Error{Status: http.StatusUnprocessableEntity, Issues: issues}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// fieldOf names the field of a configuration error when it says which.
func fieldOf(err error) string {
	var ye *yamldoc.Error
	if errors.As(err, &ye) {
		return ye.Field
	}
	return ""
}

type unmappedJSON struct {
	System    string    `json:"system"`
	Code      string    `json:"code"`
	Display   string    `json:"display,omitempty"`
	Source    string    `json:"source"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// unmappedCodes lists the codes no map knew, so that IT can complete the maps.
func (s *Server) unmappedCodes(c echo.Context) error {
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return badParam("limit", "limit must be a number from 1 to 10000")
		}
		limit = n
	}
	codes, err := s.cfg.Store.UnmappedCodes(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	out := make([]unmappedJSON, len(codes))
	for i, u := range codes {
		out[i] = unmappedJSON{u.System, u.Code, u.Display, u.Source, u.Count, u.FirstSeen.UTC(), u.LastSeen.UTC()}
	}
	return c.JSON(http.StatusOK, map[string]any{"unmapped": out})
}

// replayAll sets every failed (or parked) message back to received and queues it, after a
// code map was fixed. The worker applies each message at most once, so a replay cannot double
// an event.
func (s *Server) replayAll(c echo.Context) error {
	status := store.Status(c.QueryParam("status"))
	if status != store.StatusFailed && status != store.StatusParked {
		return badParam("status", "status must be failed or parked")
	}
	keys, err := s.cfg.Store.RequeueAll(c.Request().Context(), status, c.QueryParam("source"))
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		if err := s.cfg.Queue.Publish(c.Request().Context(), keys...); err != nil {
			s.log.Warn("replay publish failed; the relay will republish", "err", err)
		}
	}
	s.log.Info("replay", "status", status, "patients", len(keys), "by", principal(c).Name)
	return c.JSON(http.StatusAccepted, map[string]any{"status": status, "patients": len(keys)})
}

func badParam(name, diag string) error {
	return &resource.Error{Status: http.StatusBadRequest, Issues: []resource.Issue{{Severity: "error", Code: "value", Expression: name, Diagnostics: diag}}}
}
