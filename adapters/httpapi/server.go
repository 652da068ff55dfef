// Package httpapi is Lujing's HTTP face: the FHIR R4 endpoints under /fhir, the native JSON API
// under /api/v1 and the operational endpoints. Echo lives here and nowhere else, so a move to a
// new Echo major version touches one package.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/store"
)

// Store is what the HTTP layer reads directly.
type Store interface {
	Resource(ctx context.Context, typ, id string) (store.Resource, error)
	TokenByHash(ctx context.Context, hash string) (store.Token, error)
	Audit(ctx context.Context, e store.AuditEntry) error
	Messages(ctx context.Context, f store.MessageFilter) ([]store.Message, error)
	Message(ctx context.Context, id int64) (store.Message, error)
	Counts(ctx context.Context) ([]store.Count, error)
	Requeue(ctx context.Context, ids []int64) ([]string, error)
	RequeueAll(ctx context.Context, status store.Status, source string) ([]string, error)
	UnmappedCodes(ctx context.Context, limit int) ([]store.UnmappedCode, error)
	PutDocument(ctx context.Context, d store.Document) error
	Document(ctx context.Context, kind, id string) (store.Document, error)
	Documents(ctx context.Context, kind string) ([]store.Document, error)
	Ping(ctx context.Context) error
}

// Queue is what the HTTP layer needs of the queue: readiness, depth and replays.
type Queue interface {
	Publish(ctx context.Context, keys ...string) error
	Depth(ctx context.Context) (int64, error)
	Ping(ctx context.Context) error
}

// Config wires a Server.
type Config struct {
	Store    Store
	Queue    Queue
	Intake   *intake.Service
	Registry *prometheus.Registry // /metrics serves it; HTTP metrics are registered on it
	Logger   *slog.Logger
	MaxBody  int64 // request body limit in bytes, default 16 MiB
	Version  string
	Now      func() time.Time
	// Zone is the hospital's time zone: a date in a query means that day there. Default
	// Asia/Shanghai.
	Zone *time.Location
	// Cores, Hub and Webhooks serve the clinical records, the live stream and webhook admin;
	// nil Cores leaves those routes answering 404.
	Cores    CoreStore
	Hub      StreamHub
	Webhooks interface{ Published(last int64) }
	Clinical *Clinical
	Quality  *Quality // the QC indicators; nil: no /quality routes
	// OnConfigChange runs after a configuration document (a code map…) was stored, so that
	// the mapping picks it up.
	OnConfigChange func(ctx context.Context) error
	// Web is the web workspace, served under /ui; nil serves none (see web.go).
	Web WebUI
}

// Server is the HTTP API.
type Server struct {
	cfg    Config
	echo   *echo.Echo
	tokens *tokenCache
	log    *slog.Logger
	// streams ends the live-stream connections on shutdown: they would otherwise hold
	// http.Server.Shutdown until its deadline.
	streams     context.Context
	stopStreams context.CancelFunc
}

// CloseStreams ends every live-stream connection (before http.Server.Shutdown); readers
// reconnect elsewhere with their Last-Event-ID.
func (s *Server) CloseStreams() { s.stopStreams() }

// New builds the server and its routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 16 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Zone == nil {
		if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
			cfg.Zone = z
		} else {
			cfg.Zone = time.FixedZone("CST", 8*3600)
		}
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Client addresses go into the audit log; only the direct peer is trusted until a proxy
	// setting says otherwise.
	e.IPExtractor = echo.ExtractIPDirect()
	s := &Server{cfg: cfg, echo: e, tokens: newTokenCache(cfg.Store, 30*time.Second, cfg.Now), log: cfg.Logger}
	s.streams, s.stopStreams = context.WithCancel(context.Background())
	e.HTTPErrorHandler = s.handleError

	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lujing_http_requests_total", Help: "HTTP requests by method, route and status code.",
	}, []string{"method", "route", "code"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "lujing_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
	}, []string{"method", "route"})
	cfg.Registry.MustRegister(reqs, dur)

	e.Use(middleware.RequestID())
	e.Use(middleware.Recover())
	e.Use(s.observe(reqs, dur))

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})), s.auth(store.RoleAdmin))

	writers := []store.Role{store.RoleIntegration, store.RoleAdmin}
	readers := []store.Role{store.RoleClinician, store.RoleAdmin, store.RoleIntegration}
	f := e.Group("/fhir")
	f.GET("/metadata", s.metadata, s.auth(store.RoleIntegration, store.RoleClinician, store.RoleQC, store.RoleAdmin))
	f.POST("", s.postBundle, s.auth(writers...), s.fhirBody)
	f.POST("/", s.postBundle, s.auth(writers...), s.fhirBody)
	f.POST("/:type", s.postResource, s.auth(writers...), s.fhirBody)
	f.PUT("/:type/:id", s.putResource, s.auth(writers...), s.fhirBody)
	f.GET("/:type/:id", s.readResource, s.auth(readers...))
	f.GET("/PlanDefinition/:id", s.planDefinition, s.auth(readers...))
	for _, typ := range viewTypes {
		f.GET("/"+typ+"/:id", s.readView(typ), s.auth(readers...))
		f.GET("/"+typ, s.searchView(typ), s.auth(store.RoleClinician, store.RoleAdmin))
	}

	api := e.Group("/api/v1")
	api.GET("/openapi.json", s.openapi, s.auth(store.RoleIntegration, store.RoleClinician, store.RoleQC, store.RoleAdmin))
	api.GET("/messages", s.listMessages, s.auth(store.RoleAdmin))
	api.GET("/messages/counts", s.messageCounts, s.auth(store.RoleAdmin))
	api.POST("/messages/:id/replay", s.replayMessage, s.auth(store.RoleAdmin))
	api.POST("/messages/replay", s.replayAll, s.auth(store.RoleAdmin))
	api.GET("/code-maps", s.listCodeMaps, s.auth(store.RoleAdmin))
	api.GET("/code-maps/unmapped", s.unmappedCodes, s.auth(store.RoleAdmin))
	api.GET("/code-maps/:id", s.getCodeMap, s.auth(store.RoleAdmin, store.RoleIntegration))
	api.PUT("/code-maps/:id", s.putCodeMap, s.auth(store.RoleAdmin))
	api.GET("/events", s.events, s.auth(store.RoleClinician, store.RoleAdmin))
	s.clinicalRoutes(api)
	s.qualityRoutes(api, f)
	if cfg.Cores != nil {
		api.GET("/webhooks", s.listWebhooks, s.auth(store.RoleAdmin))
		api.PUT("/webhooks/:id", s.putWebhook, s.auth(store.RoleAdmin))
		api.DELETE("/webhooks/:id", s.deleteWebhook, s.auth(store.RoleAdmin))
		api.GET("/webhook-deliveries", s.listDeliveries, s.auth(store.RoleAdmin))
		api.POST("/webhook-deliveries/:id/retry", s.retryDelivery, s.auth(store.RoleAdmin))
	}
	if cfg.Web != nil {
		s.mountWeb(cfg.Web)
	}
	return s
}

// Routes lists the routes as "METHOD /path/{param}", for documentation checks.
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		out = append(out, r.Method+" "+strings.Join(parts, "/"))
	}
	return out
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// observe records metrics and one log line per request. It logs the route template, never the
// path: paths carry resource ids.
func (s *Server) observe(reqs *prometheus.CounterVec, dur *prometheus.HistogramVec) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			code := c.Response().Status
			elapsed := time.Since(start)
			reqs.WithLabelValues(c.Request().Method, route, strconv.Itoa(code)).Inc()
			dur.WithLabelValues(c.Request().Method, route).Observe(elapsed.Seconds())
			level := slog.LevelDebug
			if code >= 500 {
				level = slog.LevelError
			} else if code >= 400 {
				level = slog.LevelInfo
			}
			s.log.Log(c.Request().Context(), level, "http",
				"method", c.Request().Method, "route", route, "status", code,
				"ms", float64(elapsed.Microseconds())/1000, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			return nil
		}
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{"store": "ok", "queue": "ok"}
	code := http.StatusOK
	if err := s.cfg.Store.Ping(ctx); err != nil {
		status["store"], code = "unreachable", http.StatusServiceUnavailable
		s.log.Warn("readiness: store unreachable", "err", err)
	}
	if err := s.cfg.Queue.Ping(ctx); err != nil {
		status["queue"], code = "unreachable", http.StatusServiceUnavailable
		s.log.Warn("readiness: queue unreachable", "err", err)
	}
	return c.JSON(code, status)
}
