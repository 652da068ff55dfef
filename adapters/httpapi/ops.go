package httpapi

import (
	_ "embed"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/resource"
)

// metadata is the CapabilityStatement: what this server really does.
func (s *Server) metadata(c echo.Context) error {
	types := resource.Types()
	res := make([]map[string]any, 0, len(types))
	views := map[string]string{
		"Task":           "Also the closed loop of each critical value (focus: the result) and each follow-up contact, read by their record ids.",
		"CarePlan":       "Also each patient's pathway instance (instantiatesCanonical: the PlanDefinition) and follow-up schedule (category follow-up).",
		"Communication":  "Also each delivery of a critical value (notification, escalations).",
		"PlanDefinition": "Also each localized clinical pathway (type clinical-protocol), by pathway id.",
	}
	for _, t := range types {
		r := map[string]any{
			"type": t,
			"interaction": []map[string]string{
				{"code": "read"}, {"code": "create"}, {"code": "update"},
			},
			"versioning":        "versioned-update",
			"readHistory":       false,
			"updateCreate":      true,
			"conditionalCreate": true,
			"conditionalUpdate": true,
			"conditionalDelete": "single",
		}
		if doc, ok := views[t]; ok && s.cfg.Clinical != nil {
			r["documentation"] = doc
			if t != "PlanDefinition" {
				r["interaction"] = append(r["interaction"].([]map[string]string), map[string]string{"code": "search-type"})
				r["searchParam"] = []map[string]string{{"name": "patient", "type": "reference", "documentation": "the patient's records seen as " + t}}
			}
		}
		res = append(res, r)
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         s.cfg.Now().UTC().Format("2006-01-02"),
		"publisher":    "Lujing",
		"kind":         "instance",
		"software":     map[string]any{"name": "Lujing 路径", "version": s.cfg.Version},
		"implementation": map[string]any{
			"description": "Lujing clinical-quality adapter: FHIR intake for HIS, LIS and PACS",
			"url":         s.baseURL(c),
		},
		"fhirVersion": "4.0.1",
		"format":      []string{"application/fhir+json", "json"},
		"rest": []map[string]any{{
			"mode": "server",
			"documentation": "Every R4 resource type is accepted and kept (raw JSON, versioned); clinically relevant types are mapped to events. " +
				"Conditional references and ifNoneExist support identifier=system|value only. DELETE is available inside batch and transaction Bundles.",
			"security": map[string]any{
				"cors":        false,
				"description": "Authorization: Bearer <token>; roles integration (write), clinician (read), qc (aggregates), admin.",
			},
			"resource":    res,
			"interaction": []map[string]string{{"code": "batch"}, {"code": "transaction"}},
		}},
	}
	return c.JSON(http.StatusOK, cs)
}

type messageJSON struct {
	ID          int64      `json:"id"`
	Source      string     `json:"source"`
	Resource    string     `json:"resource"`
	Version     int        `json:"version"`
	Deleted     bool       `json:"deleted,omitempty"`
	Status      string     `json:"status"`
	Error       string     `json:"error,omitempty"`
	Flags       []string   `json:"flags,omitempty"`
	Needs       []string   `json:"needs,omitempty"`
	ReceivedAt  time.Time  `json:"received_at"`
	ProcessedAt *time.Time `json:"processed_at,omitempty"`
}

func toMessageJSON(m store.Message) messageJSON {
	out := messageJSON{ID: m.ID, Source: m.Source, Resource: m.Type + "/" + m.ResourceID, Version: m.VersionID,
		Deleted: m.Deleted, Status: string(m.Status), Error: m.Error, Flags: m.Flags, Needs: m.Needs, ReceivedAt: m.ReceivedAt.UTC()}
	if !m.ProcessedAt.IsZero() {
		t := m.ProcessedAt.UTC()
		out.ProcessedAt = &t
	}
	return out
}

// listMessages is the integration console's view of the inbox: ids, types, statuses and
// errors, never the bodies.
func (s *Server) listMessages(c echo.Context) error {
	f := store.MessageFilter{Status: store.Status(c.QueryParam("status")), Source: c.QueryParam("source"), Limit: 100}
	switch f.Status {
	case "", store.StatusReceived, store.StatusProcessed, store.StatusFailed, store.StatusParked:
	default:
		return badParam("status", "status must be one of received, processed, failed, parked")
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badParam("limit", "limit must be a number from 1 to 1000")
		}
		f.Limit = n
	}
	if v := c.QueryParam("older_than"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return badParam("older_than", "older_than must be a duration such as 30m or 24h")
		}
		f.ReceivedBefore = s.cfg.Now().Add(-d)
	}
	if v := c.QueryParam("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badParam("after", "after must be a message id")
		}
		f.After = n
	}
	msgs, err := s.cfg.Store.Messages(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]messageJSON, len(msgs))
	for i, m := range msgs {
		out[i] = toMessageJSON(m)
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": out})
}

func (s *Server) messageCounts(c echo.Context) error {
	counts, err := s.cfg.Store.Counts(c.Request().Context())
	if err != nil {
		return err
	}
	type countJSON struct {
		Source string `json:"source"`
		Status string `json:"status"`
		N      int64  `json:"count"`
	}
	rows := make([]countJSON, len(counts))
	for i, c := range counts {
		rows[i] = countJSON{c.Source, string(c.Status), c.N}
	}
	depth, derr := s.cfg.Queue.Depth(c.Request().Context())
	out := map[string]any{"counts": rows}
	if derr == nil {
		out["queue_depth"] = depth
	}
	return c.JSON(http.StatusOK, out)
}

// replayMessage sets a failed or parked message back to received and queues it.
func (s *Server) replayMessage(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return errBadID
	}
	m, err := s.cfg.Store.Message(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if m.Status != store.StatusFailed && m.Status != store.StatusParked {
		return &resource.Error{Status: http.StatusConflict, Issues: []resource.Issue{{Severity: "error", Code: "conflict",
			Diagnostics: "only failed or parked messages are replayed; this one is " + string(m.Status)}}}
	}
	keys, err := s.cfg.Store.Requeue(c.Request().Context(), []int64{id})
	if err != nil {
		return err
	}
	if err := s.cfg.Queue.Publish(c.Request().Context(), keys...); err != nil {
		s.log.Warn("replay publish failed; the relay will republish", "err", err)
	}
	m, err = s.cfg.Store.Message(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, toMessageJSON(m))
}

//go:embed openapi.json
var openapiDoc []byte

func (s *Server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openapiDoc)
}
