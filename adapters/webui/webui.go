// Package webui is Lujing's web workspace for clinicians, QC staff and hospital IT: pages
// rendered on the server with html/template from the same store reads the JSON API uses,
// assets embedded in the binary, and a little hand-written JavaScript that sends every action
// to the JSON API under /api/v1 with the session cookie and the CSRF header, so a page can do
// nothing its user's role and departments could not do through the API.
//
// It is plain net/http: adapters/httpapi mounts it (echo.WrapHandler) and asks it, through
// Session, who a request's cookie belongs to.
package webui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

// Prefix is where the workspace is mounted.
const Prefix = "/ui"

// Store is what the pages read: accounts and sessions, the FHIR resources (names, beds), the
// clinical records, the audit log, and for the integration console the message counts,
// failed messages, tokens and configuration documents.
type Store interface {
	UserByName(ctx context.Context, name string) (account.User, error)
	UserByID(ctx context.Context, id string) (account.User, error)
	Users(ctx context.Context) ([]account.User, error)
	CreateSession(ctx context.Context, s account.Session) error
	Session(ctx context.Context, hash string) (account.Session, error)
	TouchSession(ctx context.Context, hash string, at time.Time) error
	DeleteSession(ctx context.Context, hash string) error

	Resource(ctx context.Context, typ, id string) (store.Resource, error)
	Record(ctx context.Context, kind, id string) (store.Record, error)
	Records(ctx context.Context, f store.RecordFilter) ([]store.Record, error)
	Audit(ctx context.Context, e store.AuditEntry) error

	Counts(ctx context.Context) ([]store.Count, error)
	Messages(ctx context.Context, f store.MessageFilter) ([]store.Message, error)
	Tokens(ctx context.Context) ([]store.Token, error)
	Documents(ctx context.Context, kind string) ([]store.Document, error)
}

// Quality reads the QC indicators for a period (the same computation as
// GET /api/v1/quality/report). Department "" is the whole hospital.
type Quality interface {
	Indicators(ctx context.Context, from, to time.Time, department string) ([]Indicator, error)
}

// Indicator is one QC indicator over a period, as the quality report's JSON has it.
type Indicator struct {
	ID           string    `json:"id"`
	Title        Text      `json:"title"`
	Numerator    float64   `json:"numerator"`
	Denominator  float64   `json:"denominator"`
	Value        *float64  `json:"value"` // nil when the denominator is 0
	Unit         string    `json:"unit"`  // "%", "min", "d"…
	Target       *float64  `json:"target"`
	Met          *bool     `json:"met"`
	HigherBetter *bool     `json:"higher_is_better,omitempty"`
	Strata       []Stratum `json:"strata"`
}

// Stratum is an indicator's value for one department (or another stratum).
type Stratum struct {
	Key         string   `json:"key"`
	Label       string   `json:"label"`
	Numerator   float64  `json:"numerator"`
	Denominator float64  `json:"denominator"`
	Value       *float64 `json:"value"`
}

// Config wires a UI.
type Config struct {
	Store   Store
	Quality Quality // nil: the quality page says there is no data yet
	// Zone is the hospital's time zone, for display and "today". Default Asia/Shanghai.
	Zone *time.Location
	// IdleTimeout ends a session after this long without a request (default 30 min);
	// MaxLifetime ends it however active (default 12 h, a long shift).
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	// SecureCookies marks cookies Secure even for plain-HTTP requests: set it when a proxy in
	// front terminates TLS. Requests that arrive over TLS get Secure cookies anyway.
	SecureCookies bool
	// SSO, when set, offers OpenID Connect single sign-on beside the password form (NewSSO).
	SSO    *SSO
	Now    func() time.Time
	Logger *slog.Logger
}

// UI is the web workspace, an http.Handler for everything under Prefix.
type UI struct {
	cfg   Config
	mux   *http.ServeMux
	pages map[string]*template.Template
	log   *slog.Logger
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// New builds the workspace and parses its templates.
func New(cfg Config) (*UI, error) {
	if cfg.Store == nil {
		return nil, errors.New("webui: a store is required")
	}
	if cfg.Zone == nil {
		z, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			z = time.FixedZone("CST", 8*3600)
		}
		cfg.Zone = z
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxLifetime <= 0 {
		cfg.MaxLifetime = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u := &UI{cfg: cfg, log: cfg.Logger}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	u.pages = pages
	u.routes()
	return u, nil
}

func (u *UI) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	assets := http.StripPrefix(Prefix+"/assets/", http.FileServerFS(static))
	m.Handle("GET "+Prefix+"/assets/", cacheFor(time.Hour, assets))
	m.HandleFunc("GET "+Prefix+"/login", u.loginPage)
	m.HandleFunc("POST "+Prefix+"/login", u.login)
	m.HandleFunc("POST "+Prefix+"/logout", u.logout)
	m.HandleFunc("GET "+Prefix+"/oidc/login", u.ssoLogin)
	m.HandleFunc("GET "+Prefix+"/oidc/callback", u.ssoCallback)
	m.HandleFunc("GET "+Prefix+"/{$}", u.signedIn(u.home, store.RoleClinician, store.RoleQC, store.RoleAdmin))
	clinical := []store.Role{store.RoleClinician, store.RoleAdmin}
	m.HandleFunc("GET "+Prefix+"/ward", u.signedIn(u.ward, clinical...))
	m.HandleFunc("GET "+Prefix+"/pathways/{id}", u.signedIn(u.pathway, clinical...))
	m.HandleFunc("GET "+Prefix+"/critical-values", u.signedIn(u.criticalValues, clinical...))
	m.HandleFunc("GET "+Prefix+"/follow-ups", u.signedIn(u.followUps, clinical...))
	m.HandleFunc("GET "+Prefix+"/quality", u.signedIn(u.quality, store.RoleQC, store.RoleClinician, store.RoleAdmin))
	m.HandleFunc("GET "+Prefix+"/console", u.signedIn(u.console, store.RoleAdmin))
	m.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		u.renderError(w, r, nil, http.StatusNotFound, "error.notfound")
	})
	u.mux = m
}

// ServeHTTP serves the workspace with the headers every page carries: a strict content
// security policy (no inline script, nothing from elsewhere: the workspace runs on an
// intranet with no internet), no framing, no sniffing.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if r.URL.Path == Prefix {
		http.Redirect(w, r, Prefix+"/", http.StatusFound)
		return
	}
	u.mux.ServeHTTP(w, r)
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

// home sends each role to its first page.
func (u *UI) home(w http.ResponseWriter, r *http.Request, v *viewer) {
	to := Prefix + "/ward"
	switch v.user.Role {
	case store.RoleQC:
		to = Prefix + "/quality"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
