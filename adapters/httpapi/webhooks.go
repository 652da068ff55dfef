package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
)

type webhookJSON struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	Secret      string   `json:"secret,omitempty"` // write-only: shown once, when generated
	Events      []string `json:"events"`
	Departments []string `json:"departments"`
	CreatedAt   string   `json:"created_at,omitempty"`
}

var webhookID = regexp.MustCompile(`^[A-Za-z0-9\-_.]{1,64}$`)

func (s *Server) listWebhooks(c echo.Context) error {
	hooks, err := s.cfg.Cores.Webhooks(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]webhookJSON, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, webhookJSON{ID: h.ID, Name: h.Name, URL: h.URL, Events: nonNil(h.Events), Departments: nonNil(h.Departments), CreatedAt: instant(h.CreatedAt)})
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": out})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// putWebhook creates or replaces a subscription. Without a secret one is generated and
// returned once.
func (s *Server) putWebhook(c echo.Context) error {
	id := c.Param("id")
	if !webhookID.MatchString(id) {
		return badParam("id", "a webhook id is 1–64 letters, digits, '-', '_' or '.'")
	}
	var in webhookJSON
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return badParam("url", "url must be an absolute http or https URL")
	}
	generated := false
	if in.Secret == "" {
		b := make([]byte, 24)
		rand.Read(b)
		in.Secret, generated = hex.EncodeToString(b), true
	} else if len(in.Secret) < 16 {
		return badParam("secret", "a secret has at least 16 characters")
	}
	h := store.Webhook{ID: id, Name: in.Name, URL: in.URL, Secret: in.Secret, Events: in.Events, Departments: in.Departments}
	if err := s.cfg.Cores.PutWebhook(c.Request().Context(), h); err != nil {
		return err
	}
	s.log.Info("webhook saved", "webhook", id, "by", principal(c).Name)
	out := webhookJSON{ID: id, Name: in.Name, URL: in.URL, Events: nonNil(in.Events), Departments: nonNil(in.Departments)}
	if generated {
		out.Secret = in.Secret
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) deleteWebhook(c echo.Context) error {
	if err := s.cfg.Cores.DeleteWebhook(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type deliveryJSON struct {
	ID         int64  `json:"id"`
	Webhook    string `json:"webhook"`
	Event      string `json:"event"`
	EventID    int64  `json:"event_id"`
	Record     string `json:"record"`
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	NextAt     string `json:"next_at,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	LastStatus int    `json:"last_status,omitempty"`
	UpdatedAt  string `json:"updated_at"`
}

func toDeliveryJSON(d store.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, Webhook: d.Webhook, Event: d.Event.Name, EventID: d.Event.ID, Record: d.Event.Record, Status: d.Status,
		Attempts: d.Attempts, LastError: d.LastError, LastStatus: d.LastStatus, UpdatedAt: instant(d.UpdatedAt)}
	if d.Status == store.DeliveryPending {
		out.NextAt = instant(d.NextAt)
	}
	return out
}

// listDeliveries is the delivery log; ?status=dead is the dead-letter list.
func (s *Server) listDeliveries(c echo.Context) error {
	f := store.DeliveryFilter{Status: c.QueryParam("status"), Webhook: c.QueryParam("webhook")}
	switch f.Status {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryDead:
	default:
		return badParam("status", "status must be pending, delivered or dead")
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badParam("limit", "limit must be a number from 1 to 1000")
		}
		f.Limit = n
	}
	ds, err := s.cfg.Cores.Deliveries(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, toDeliveryJSON(d))
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": out})
}

// retryDelivery sends a dead (or waiting) delivery again now.
func (s *Server) retryDelivery(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return errBadID
	}
	d, err := s.cfg.Cores.RetryDelivery(c.Request().Context(), id, s.cfg.Now())
	if err != nil {
		return err
	}
	if s.cfg.Webhooks != nil {
		s.cfg.Webhooks.Published(d.Event.ID)
	}
	return c.JSON(http.StatusAccepted, toDeliveryJSON(d))
}
