package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/resource"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
)

// KindPathway is the store document kind of an uploaded pathway definition; the document id
// is "<pathway id>@<version>", so every version is kept for the instances enrolled under it.
const KindPathway = "pathway"

type pathwayJSON struct {
	ID           string             `json:"id"`
	Version      string             `json:"version"`
	Title        clinicalpath.Text  `json:"title"`
	Basis        string             `json:"basis,omitempty"`
	StandardStay clinicalpath.Stay  `json:"standard_stay"`
	Stages       []pathwayStageJSON `json:"stages"`
	Versions     []string           `json:"versions,omitempty"`
	PlanDef      string             `json:"plan_definition"`
}

type pathwayStageJSON struct {
	ID     string            `json:"id"`
	Title  clinicalpath.Text `json:"title"`
	Anchor string            `json:"anchor"`
	Items  int               `json:"items"`
}

func toPathwayJSON(d *clinicalpath.Definition) pathwayJSON {
	out := pathwayJSON{ID: d.ID, Version: d.Version, Title: d.Title, Basis: d.Basis, StandardStay: d.StandardStay,
		PlanDef: "PlanDefinition/" + d.ID}
	for _, st := range d.Stages {
		out.Stages = append(out.Stages, pathwayStageJSON{ID: st.ID, Title: st.Title, Anchor: st.Anchor, Items: len(st.Items)})
	}
	return out
}

// listPathways lists the newest version of each pathway with the versions loaded.
func (s *Server) listPathways(c echo.Context) error {
	var out []pathwayJSON
	for _, d := range s.cfg.Clinical.Pathways().Definitions() {
		if n := len(out); n > 0 && out[n-1].ID == d.ID {
			out[n-1].Versions = append(out[n-1].Versions, d.Version)
			continue
		}
		p := toPathwayJSON(d)
		p.Versions = []string{d.Version}
		out = append(out, p)
	}
	return c.JSON(http.StatusOK, map[string]any{"pathways": out})
}

// getPathway serves one pathway (?version= for an older one).
func (s *Server) getPathway(c echo.Context) error {
	d := s.cfg.Clinical.Pathways().Definition(c.Param("id"), c.QueryParam("version"))
	if d == nil {
		return store.ErrNotFound
	}
	return c.JSON(http.StatusOK, toPathwayJSON(d))
}

// planDefinition serves GET /fhir/PlanDefinition/{id}: a pathway as FHIR, else a stored
// PlanDefinition of that id.
func (s *Server) planDefinition(c echo.Context) error {
	id := c.Param("id")
	if cl := s.cfg.Clinical; cl != nil && cl.Pathways != nil {
		if d := cl.Pathways().Definition(id, c.QueryParam("version")); d != nil {
			return c.Blob(http.StatusOK, fhirJSON+"; charset=utf-8", clinicalpath.PlanDefinition(d))
		}
	}
	return s.readStored(c, "PlanDefinition", id)
}

// putPathway stores a new version of a localized pathway (YAML, as `lujing check` validates
// it). A definition that does not validate is refused with its errors and nothing changes; a
// version already loaded may be sent again unchanged, never changed: instances enrolled under
// it must keep what they were enrolled under.
func (s *Server) putPathway(c echo.Context) error {
	id := c.Param("id")
	if !resource.ValidID(id) {
		return errBadID
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err != nil {
		return errTooLarge
	}
	name := id + ".yaml"
	d, errs := clinicalpath.Parse(name, body)
	if len(errs) > 0 {
		return invalidConfig(errs)
	}
	if d.ID != id {
		return invalidConfig([]error{fmt.Errorf("%s: id: %q differs from the URL's %q", name, d.ID, id)})
	}
	ctx := c.Request().Context()
	docID := d.ID + "@" + d.Version
	if s.cfg.Clinical.Pathways().Definition(d.ID, d.Version) != nil {
		old, err := s.cfg.Store.Document(ctx, KindPathway, docID)
		if err == nil && bytes.Equal(old.Body, body) {
			return c.JSON(http.StatusOK, toPathwayJSON(d)) // the same upload again
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return &resource.Error{Status: http.StatusConflict, Issues: []resource.Issue{{Severity: "error", Code: "conflict", Expression: "version",
			Diagnostics: fmt.Sprintf("pathway %s version %s is already loaded; patients may be enrolled under it: give the change a new version", d.ID, d.Version)}}}
	}
	if err := s.cfg.Store.PutDocument(ctx, store.Document{Kind: KindPathway, ID: docID, Version: d.Version, Body: body,
		UpdatedAt: s.cfg.Now().UTC(), UpdatedBy: principal(c).Name}); err != nil {
		return err
	}
	if f := s.cfg.Clinical.OnPathwayChange; f != nil {
		if err := f(ctx); err != nil {
			return fmt.Errorf("reload pathways after %s: %w", docID, err)
		}
	}
	s.log.Info("pathway definition stored", "pathway", docID, "by", principal(c).Name)
	return c.JSON(http.StatusCreated, toPathwayJSON(d))
}
