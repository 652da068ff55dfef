package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
)

// WebUI is the web workspace (adapters/webui): its pages under /ui, and the sessions people
// sign in to it with. A page's actions call this API with the session cookie, so the API
// accepts a session wherever it accepts a bearer token, with the user's role and departments.
type WebUI interface {
	http.Handler
	// Session returns the principal of the request's session cookie and the CSRF token the
	// request must carry in X-CSRF-Token to change anything; ok is false without a valid
	// session.
	Session(r *http.Request) (principal store.Token, csrf string, ok bool, err error)
}

// mountWeb serves the workspace under /ui and sends / there.
func (s *Server) mountWeb(ui WebUI) {
	h := echo.WrapHandler(ui)
	s.echo.Any("/ui", h)
	s.echo.Any("/ui/*", h)
	s.echo.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/ui/") })
}

// sessionPrincipal authenticates a request without an Authorization header by its session
// cookie. A request that changes anything must carry the session's CSRF token in
// X-CSRF-Token: a cookie is sent by the browser whoever made the page, the header only by
// the workspace's own script. ok is false when there is no session (the caller answers 401).
func (s *Server) sessionPrincipal(c echo.Context) (store.Token, bool, error) {
	if s.cfg.Web == nil {
		return store.Token{}, false, nil
	}
	r := c.Request()
	t, csrf, ok, err := s.cfg.Web.Session(r)
	if err != nil || !ok {
		return store.Token{}, false, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if got := r.Header.Get("X-CSRF-Token"); !sameToken(got, csrf) {
			return store.Token{}, false, fmt.Errorf("%w: a request with a session cookie must carry the page's X-CSRF-Token", errForbidden)
		}
	}
	return t, true, nil
}
