package webui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

// page is what every template gets: the language, the signed-in user, the navigation for
// their role, the CSRF token for the page's script and forms, and the page's own Data.
type page struct {
	Lang  string
	Title string // message key
	Path  string
	User  *account.User
	CSRF  string
	Zone  *time.Location
	Nav   []navItem
	Data  any
	// Live says the page opens the live stream (the critical-value inbox).
	Live bool
}

type navItem struct {
	Href, Label string
	Current     bool
}

// T translates a message key; Tf formats it.
func (p *page) T(key string) string { return tr(p.Lang, key) }
func (p *page) Tf(key string, args ...any) string {
	return fmt.Sprintf(tr(p.Lang, key), args...)
}

// Time shows an instant in the hospital's zone; TimePtr a possibly absent one.
func (p *page) Time(t time.Time) string { return formatTime(t, p.zone()) }
func (p *page) TimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return formatTime(*t, p.zone())
}

func (p *page) zone() *time.Location {
	if p.Zone == nil {
		return time.UTC
	}
	return p.Zone
}

// ZoneName is the zone's name as people know it (Asia/Shanghai).
func (p *page) ZoneName() string { return p.zone().String() }

// Status labels a status with its icon and words.
func (p *page) Status(kind, status string) string { return statusLabel(p.Lang, kind, status) }

// Text picks a bilingual label's language.
func (p *page) Text(t Text) string { return t.In(p.Lang) }

// OtherLang is the language the switch offers.
func (p *page) OtherLang() string {
	if p.Lang == "en" {
		return "zh"
	}
	return "en"
}

// Role is the user's role in words.
func (p *page) Role() string {
	if p.User == nil {
		return ""
	}
	return p.T("role." + string(p.User.Role))
}

func navFor(lang, current string, role store.Role) []navItem {
	var items []navItem
	add := func(href, key string) {
		items = append(items, navItem{Href: Prefix + href, Label: tr(lang, key), Current: current == Prefix+href})
	}
	switch role {
	case store.RoleClinician:
		add("/ward", "nav.ward")
		add("/critical-values", "nav.cv")
		add("/follow-ups", "nav.followup")
		add("/quality", "nav.quality")
	case store.RoleQC:
		add("/quality", "nav.quality")
	case store.RoleAdmin:
		add("/ward", "nav.ward")
		add("/critical-values", "nav.cv")
		add("/follow-ups", "nav.followup")
		add("/quality", "nav.quality")
		add("/console", "nav.console")
	}
	return items
}

var funcs = template.FuncMap{
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
	"svg":  func(s string) template.HTML { return template.HTML(s) }, // only for charts built by chart.go, which escapes its text
}

// parseTemplates parses layout.html with each page template.
func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("webui: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, n)
		if err != nil {
			return nil, fmt.Errorf("webui: parse %s: %w", n, err)
		}
		out[name] = t
	}
	return out, nil
}

// render writes a page, or the fragment template "list" of it when the request asks for
// ?fragment=list (the live inbox refreshes its list that way).
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := u.pages[name]
	if !ok {
		u.fail(w, r, nil, fmt.Errorf("no template %q", name))
		return
	}
	if p.Zone == nil {
		p.Zone = u.cfg.Zone
	}
	if p.User != nil && p.Nav == nil {
		p.Nav = navFor(p.Lang, r.URL.Path, p.User.Role)
	}
	root := "layout.html"
	if f := r.URL.Query().Get("fragment"); f != "" {
		if t.Lookup("fragment-"+f) == nil {
			http.Error(w, "no such fragment", http.StatusNotFound)
			return
		}
		root = "fragment-" + f
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, root, p); err != nil {
		u.fail(w, r, nil, fmt.Errorf("render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// view builds the page of a signed-in viewer.
func (u *UI) view(r *http.Request, v *viewer, title string, data any) *page {
	return &page{Lang: v.lang, Title: title, Path: r.URL.Path, User: &v.user, CSRF: v.csrf(), Zone: u.cfg.Zone, Data: data}
}

type errorView struct{ Message string }

func (u *UI) renderError(w http.ResponseWriter, r *http.Request, v *viewer, status int, key string) {
	p := &page{Lang: u.language(w, r), Title: "error.title", Path: r.URL.Path, Zone: u.cfg.Zone, Data: errorView{Message: key}}
	if v != nil {
		p = u.view(r, v, "error.title", errorView{Message: key})
	}
	q := r.URL.Query()
	q.Del("fragment") // an error is a whole page
	r.URL.RawQuery = q.Encode()
	u.render(w, r, status, "error", p)
}

// fail logs an internal error and shows a page that does not reveal it.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	u.log.Error("web page failed", "path", r.URL.Path, "err", err)
	if _, ok := u.pages["error"]; !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	u.renderError(w, r, v, http.StatusInternalServerError, "error.internal")
}

// audit records a page's read of patient data, as the API does for its reads.
func (u *UI) audit(r *http.Request, v *viewer, action, what, patient string) error {
	err := u.cfg.Store.Audit(r.Context(), store.AuditEntry{At: u.cfg.Now().UTC(), Actor: v.user.Name, Role: v.user.Role,
		Action: action, Resource: "ui:" + what, PatientKey: patient, RemoteAddr: remoteIP(r)})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// remoteIP is the direct peer, as the API's audit takes it (no proxy header is trusted).
func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// fuSection is one section of the follow-up worklist (the template's "fu-section").
type fuSection struct {
	P     *page
	Title string
	Rows  []fuRow
	ID    string
}

func init() {
	funcs["dict2"] = func(p *page, title string, rows []fuRow, id string) fuSection {
		return fuSection{P: p, Title: title, Rows: rows, ID: id}
	}
}
