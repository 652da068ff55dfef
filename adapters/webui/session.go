package webui

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

const (
	sessionCookie = "lujing_session"
	// loginCookie carries the sign-in form's anti-forgery value before there is a session
	// (double submit: a forged form cannot know the cookie's value).
	loginCookie = "lujing_login"
	// touchEvery bounds the writes the idle timeout costs: the last-seen time is written at
	// most once a minute per session, not on every request.
	touchEvery = time.Minute
)

// viewer is the signed-in person of a request.
type viewer struct {
	user   account.User
	secret string // the session cookie's value, for the CSRF token
	lang   string
}

func (v *viewer) csrf() string { return account.CSRFToken(v.secret) }

// lookup returns the user of the request's session cookie. ok is false when there is no
// cookie, or the session is unknown, idle too long, past its lifetime or of a disabled
// account; such a session is deleted. err is a store failure.
func (u *UI) lookup(ctx context.Context, r *http.Request) (account.User, string, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return account.User{}, "", false, nil
	}
	hash := account.HashSecret(c.Value)
	se, err := u.cfg.Store.Session(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return account.User{}, "", false, nil
	}
	if err != nil {
		return account.User{}, "", false, err
	}
	now := u.cfg.Now()
	if !now.Before(se.ExpiresAt) || now.Sub(se.LastSeen) >= u.cfg.IdleTimeout {
		return account.User{}, "", false, u.cfg.Store.DeleteSession(ctx, hash)
	}
	user, err := u.cfg.Store.UserByID(ctx, se.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user.Disabled()) {
		return account.User{}, "", false, u.cfg.Store.DeleteSession(ctx, hash)
	}
	if err != nil {
		return account.User{}, "", false, err
	}
	if now.Sub(se.LastSeen) >= touchEvery {
		if err := u.cfg.Store.TouchSession(ctx, hash, now.UTC()); err != nil {
			return account.User{}, "", false, err
		}
	}
	return user, c.Value, true, nil
}

// Session tells the JSON API who a request's session cookie belongs to: the user as a
// principal with the user's role and departments, and the CSRF token the request must carry
// in X-CSRF-Token when it changes anything. ok is false when there is no valid session.
func (u *UI) Session(r *http.Request) (principal store.Token, csrf string, ok bool, err error) {
	user, secret, ok, err := u.lookup(r.Context(), r)
	if err != nil || !ok {
		return store.Token{}, "", false, err
	}
	return user.Principal(), account.CSRFToken(secret), true, nil
}

// CheckCSRF reports whether got is the expected token, in constant time.
func CheckCSRF(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// signedIn admits a request with a valid session whose user has one of the roles; without a
// session it sends the browser to sign in and come back.
func (u *UI) signedIn(page func(http.ResponseWriter, *http.Request, *viewer), roles ...store.Role) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lang := u.language(w, r)
		user, secret, ok, err := u.lookup(r.Context(), r)
		if err != nil {
			u.fail(w, r, nil, err)
			return
		}
		if !ok {
			u.clearCookie(w, r, sessionCookie)
			if r.URL.Query().Get("fragment") != "" {
				// A page's script asking for a fragment: tell it, do not send it a sign-in page.
				http.Error(w, "signed out", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, Prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		v := &viewer{user: user, secret: secret, lang: lang}
		if !slices.Contains(roles, user.Role) {
			u.renderError(w, r, v, http.StatusForbidden, "error.forbidden")
			return
		}
		w.Header().Set("Cache-Control", "no-store") // pages carry patient data
		page(w, r, v)
	}
}

func (u *UI) secure(r *http.Request) bool { return u.cfg.SecureCookies || r.TLS != nil }

func (u *UI) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: u.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds())})
}

func (u *UI) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	if _, err := r.Cookie(name); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: u.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

type loginView struct {
	Next  string
	Name  string
	Token string
	Error string
	SSO   bool // single sign-on is configured: show its button
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	lang := u.language(w, r)
	if _, _, ok, err := u.lookup(r.Context(), r); err == nil && ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	u.showLogin(w, r, lang, http.StatusOK, r.URL.Query().Get("next"), "", "")
}

func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, lang string, status int, next, name, msg string) {
	tok, err := account.NewSecret()
	if err != nil {
		u.fail(w, r, nil, err)
		return
	}
	u.setCookie(w, r, loginCookie, tok, 30*time.Minute)
	w.Header().Set("Cache-Control", "no-store")
	u.render(w, r, status, "login", &page{Lang: lang, Title: "login.title", Path: r.URL.Path,
		Data: loginView{Next: next, Name: name, Token: tok, Error: msg, SSO: u.cfg.SSO != nil}})
}

// login checks the name and password and starts a session. Failures say the same thing
// whether the name or the password was wrong.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	lang := u.language(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	name, password, next := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("password"), r.PostForm.Get("next")
	c, err := r.Cookie(loginCookie)
	if err != nil || !CheckCSRF(r.PostForm.Get("csrf"), c.Value) {
		u.showLogin(w, r, lang, http.StatusForbidden, next, name, "login.expired")
		return
	}
	user, err := u.cfg.Store.UserByName(r.Context(), name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		u.fail(w, r, nil, err)
		return
	}
	if !account.CheckPassword(user.PasswordHash, password) || user.Disabled() || user.Role == store.RoleIntegration {
		u.log.Info("web sign-in refused", "name", name, "remote", r.RemoteAddr)
		u.showLogin(w, r, lang, http.StatusUnauthorized, next, name, "login.failed")
		return
	}
	u.startSession(w, r, user, next, "password")
}

// startSession signs user in, whichever way they proved who they are (password or single
// sign-on): a new session with a fresh random secret in the cookie, then on to next if it
// stays inside the workspace.
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, user account.User, next, method string) {
	secret, err := account.NewSecret()
	if err != nil {
		u.fail(w, r, nil, err)
		return
	}
	now := u.cfg.Now().UTC()
	if err := u.cfg.Store.CreateSession(r.Context(), account.Session{Hash: account.HashSecret(secret), UserID: user.ID,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(u.cfg.MaxLifetime)}); err != nil {
		u.fail(w, r, nil, fmt.Errorf("sign in %s: %w", user.Name, err))
		return
	}
	u.clearCookie(w, r, loginCookie)
	// The cookie lives as long as the session may; the idle timeout is enforced on the server.
	u.setCookie(w, r, sessionCookie, secret, u.cfg.MaxLifetime)
	u.log.Info("web sign-in", "user", user.Name, "role", user.Role, "method", method)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// logout ends the session (a form with the CSRF token, so another site cannot sign people
// out either).
func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(sessionCookie)
	if err == nil && c.Value != "" {
		if !CheckCSRF(r.PostForm.Get("csrf"), account.CSRFToken(c.Value)) {
			http.Error(w, "the form has expired; reload the page", http.StatusForbidden)
			return
		}
		if err := u.cfg.Store.DeleteSession(r.Context(), account.HashSecret(c.Value)); err != nil {
			u.fail(w, r, nil, err)
			return
		}
	}
	u.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after sign-in inside the workspace (no open redirect).
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix + "/"
	}
	if p, err := url.Parse(next); err != nil || p.Host != "" || p.Scheme != "" {
		return Prefix + "/"
	}
	return next
}
