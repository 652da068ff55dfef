package webui

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

// Single sign-on with OpenID Connect (the hospital's identity provider), authorization code
// flow with PKCE. The identity provider says who the person is; Lujing's own account of that
// user name says what they may do (role, departments), so an account is never created from a
// sign-in: the hospital's administrator creates it beforehand (lujing user create --sso).
//
// The ID token's signature, issuer, audience and expiry are checked by go-oidc, not here.

// ssoCookie carries state, nonce, PKCE verifier and the page to return to between the
// redirect to the identity provider and its redirect back. It is HttpOnly, SameSite=Lax (the
// callback is a top-level navigation from another site) and lives a few minutes.
const (
	ssoCookie   = "lujing_oidc"
	ssoLifetime = 10 * time.Minute
	ssoTimeout  = 15 * time.Second // one call to the identity provider
)

// SSOConfig is how Lujing is registered at the identity provider.
type SSOConfig struct {
	Issuer       string // the issuer URL; its /.well-known/openid-configuration is read at start
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback registered at the identity provider. Empty: the request's
	// own scheme and host + /ui/oidc/callback (set it explicitly behind a proxy).
	RedirectURL string
	// UsernameClaim is the ID token's claim holding the Lujing user name (default
	// preferred_username).
	UsernameClaim string
	// HTTPClient calls the identity provider (nil: http.DefaultClient).
	HTTPClient *http.Client
}

// SSO is a configured identity provider, its discovery document read.
type SSO struct {
	cfg      SSOConfig
	provider *oidc.Provider
}

// NewSSO reads the issuer's discovery document; an unreachable issuer, or one whose document
// names another issuer, is an error.
func NewSSO(ctx context.Context, cfg SSOConfig) (*SSO, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("OpenID Connect: an issuer and a client id are required")
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, cfg.HTTPClient), 30*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OpenID Connect issuer %s: discovery failed: %w", cfg.Issuer, err)
	}
	return &SSO{cfg: cfg, provider: p}, nil
}

func (s *SSO) oauth(r *http.Request, secure bool) *oauth2.Config {
	redirect := s.cfg.RedirectURL
	if redirect == "" {
		scheme := "http"
		if secure {
			scheme = "https"
		}
		redirect = scheme + "://" + r.Host + Prefix + "/oidc/callback"
	}
	return &oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Endpoint: s.provider.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "profile"}}
}

func (u *UI) setSSOCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: value, Path: Prefix + "/oidc/", HttpOnly: true,
		Secure: u.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
}

// ssoLogin sends the browser to the identity provider.
func (u *UI) ssoLogin(w http.ResponseWriter, r *http.Request) {
	s := u.cfg.SSO
	if s == nil {
		u.renderError(w, r, nil, http.StatusNotFound, "error.notfound")
		return
	}
	state, err := account.NewSecret()
	if err != nil {
		u.fail(w, r, nil, err)
		return
	}
	nonce, err := account.NewSecret()
	if err != nil {
		u.fail(w, r, nil, err)
		return
	}
	verifier := oauth2.GenerateVerifier()
	next := safeNext(r.URL.Query().Get("next"))
	u.setSSOCookie(w, r, strings.Join([]string{state, nonce, verifier,
		base64.RawURLEncoding.EncodeToString([]byte(next))}, "."), int(ssoLifetime.Seconds()))
	w.Header().Set("Cache-Control", "no-store")
	to := s.oauth(r, u.secure(r)).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// ssoCallback is where the identity provider sends the browser back with a code: check the
// state, exchange the code (with the PKCE verifier), verify the ID token and its nonce, and
// sign in the local account of the token's user name.
func (u *UI) ssoCallback(w http.ResponseWriter, r *http.Request) {
	lang := u.language(w, r)
	s := u.cfg.SSO
	if s == nil {
		u.renderError(w, r, nil, http.StatusNotFound, "error.notfound")
		return
	}
	var state, nonce, verifier, next string
	if c, err := r.Cookie(ssoCookie); err == nil {
		if parts := strings.Split(c.Value, "."); len(parts) == 4 {
			state, nonce, verifier = parts[0], parts[1], parts[2]
			if b, err := base64.RawURLEncoding.DecodeString(parts[3]); err == nil {
				next = string(b)
			}
		}
		u.setSSOCookie(w, r, "", -1) // one use only
	}
	q := r.URL.Query()
	// Without the cookie's state this callback was not started by this browser (or too long
	// ago): a forged callback would otherwise sign the victim in as the attacker.
	if state == "" || !CheckCSRF(q.Get("state"), state) {
		u.log.Info("single sign-on refused: state", "remote", r.RemoteAddr)
		u.showLogin(w, r, lang, http.StatusForbidden, next, "", "login.sso_expired")
		return
	}
	if e := q.Get("error"); e != "" {
		u.log.Info("single sign-on refused by the identity provider", "error", e, "description", q.Get("error_description"))
		u.showLogin(w, r, lang, http.StatusUnauthorized, next, "", "login.sso_failed")
		return
	}
	name, err := u.ssoIdentity(r, s, q.Get("code"), verifier, nonce)
	if err != nil {
		u.log.Info("single sign-on refused", "err", err, "remote", r.RemoteAddr)
		u.showLogin(w, r, lang, http.StatusUnauthorized, next, "", "login.sso_failed")
		return
	}
	user, err := u.cfg.Store.UserByName(r.Context(), name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		u.fail(w, r, nil, err)
		return
	}
	if err != nil || user.Disabled() || user.Role == store.RoleIntegration {
		u.log.Info("single sign-on refused: no active account", "name", name, "remote", r.RemoteAddr)
		u.showLogin(w, r, lang, http.StatusForbidden, next, name, "login.sso_unknown")
		return
	}
	u.startSession(w, r, user, next, "oidc")
}

// ssoIdentity exchanges the code and returns the user name of the verified ID token.
func (u *UI) ssoIdentity(r *http.Request, s *SSO, code, verifier, nonce string) (string, error) {
	if code == "" {
		return "", errors.New("no code")
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(r.Context(), s.cfg.HTTPClient), ssoTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	tok, err := s.oauth(r, u.secure(r)).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("exchange the code: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", errors.New("no ID token in the token response")
	}
	// Signature (keys from the issuer's JWKS), issuer, audience = our client id, expiry.
	idt, err := s.provider.Verifier(&oidc.Config{ClientID: s.cfg.ClientID, Now: u.cfg.Now}).Verify(ctx, raw)
	if err != nil {
		return "", fmt.Errorf("ID token: %w", err)
	}
	if !CheckCSRF(idt.Nonce, nonce) {
		return "", errors.New("ID token: nonce does not match this browser's sign-in")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", fmt.Errorf("ID token claims: %w", err)
	}
	name, _ := claims[s.cfg.UsernameClaim].(string)
	if name = strings.TrimSpace(name); name == "" {
		return "", fmt.Errorf("ID token of %q has no %s claim", idt.Subject, s.cfg.UsernameClaim)
	}
	return name, nil
}
