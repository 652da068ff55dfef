package webui_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

const (
	clientID     = "lujing-web"
	clientSecret = "s3cret-of-the-client"
)

// fakeIdP is an OpenID provider on a loopback test server: discovery document, JWKS with an
// RSA key made here, an authorization endpoint that approves at once and redirects back with
// a code, and a token endpoint that checks the client, the redirect URI and the PKCE verifier
// and returns an ID token signed with the key. What the next ID token says can be changed.
type fakeIdP struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PrivateKey
	now func() time.Time

	mu    sync.Mutex
	codes map[string]authRequest
	// the next ID token: its user name; and, to test refusals, another audience, another
	// nonce, a lifetime (negative: expired) and a key the JWKS does not hold.
	username string
	audience string
	nonce    string
	lifetime time.Duration
	signWith *rsa.PrivateKey
	redirect string // the redirect_uri of the last authorization request
}

type authRequest struct{ nonce, challenge, redirect string }

func newFakeIdP(t *testing.T) *fakeIdP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeIdP{t: t, key: key, now: time.Now, codes: map[string]authRequest{}}
	m := http.NewServeMux()
	m.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/jwks",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"}})
	})
	m.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	m.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != clientID || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid") {
			t.Errorf("authorization request %v", q)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		code := rand.Text()
		p.mu.Lock()
		p.codes[code] = authRequest{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		p.redirect = q.Get("redirect_uri")
		p.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	m.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		p.mu.Lock()
		req, known := p.codes[r.PostFormValue("code")]
		delete(p.codes, r.PostFormValue("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		switch {
		case id != clientID || secret != clientSecret:
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, map[string]string{"error": "invalid_client"})
			return
		case !known || r.PostFormValue("grant_type") != "authorization_code" || r.PostFormValue("redirect_uri") != req.redirect ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge:
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, map[string]string{"error": "invalid_grant"})
			return
		}
		writeJSON(w, map[string]any{"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 300,
			"id_token": p.idToken(req.nonce)})
	})
	p.srv = httptest.NewServer(m)
	t.Cleanup(p.srv.Close)
	return p
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (p *fakeIdP) idToken(nonce string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	aud, key, life := clientID, p.key, 5*time.Minute
	if p.audience != "" {
		aud = p.audience
	}
	if p.nonce != "" {
		nonce = p.nonce
	}
	if p.lifetime != 0 {
		life = p.lifetime
	}
	if p.signWith != nil {
		key = p.signWith
	}
	now := p.now()
	claims := map[string]any{"iss": p.srv.URL, "sub": "idp-" + p.username, "aud": aud, "nonce": nonce,
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(life).Unix(), "preferred_username": p.username}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		p.t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		p.t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

// set changes what the next ID token says.
func (p *fakeIdP) set(f func(*fakeIdP)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// newSSOFixture is the workspace with single sign-on at a fake provider, and two accounts
// without a password: an active clinician of the first ward's department and a disabled one.
func newSSOFixture(t *testing.T) (*fixture, *fakeIdP) {
	idp := newFakeIdP(t)
	sso, err := webui.NewSSO(context.Background(), webui.SSOConfig{Issuer: idp.srv.URL, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *webui.Config) { c.SSO = sso })
	idp.now = f.clock.Now
	ctx := context.Background()
	for _, u := range []account.User{
		{Name: "nurse.li", Role: store.RoleClinician, Departments: []string{f.ward[0].dept}},
		{Name: "gone.wang", Role: store.RoleClinician},
	} {
		if err := f.st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.DisableUser(ctx, "gone.wang", time.Time{}); err != nil {
		t.Fatal(err)
	}
	return f, idp
}

type ssoResult struct {
	code     int
	location string
	body     string
	session  *http.Cookie
}

// sso goes through the flow: the workspace's SSO link, the provider, and back to the
// callback, whose URL tamper may change first. It returns the callback's answer.
func (c *client) sso(next string, tamper func(*url.URL)) ssoResult {
	c.f.t.Helper()
	t := c.f.t
	res, err := c.hc.Get(c.f.srv.URL + "/ui/oidc/login?next=" + url.QueryEscape(next))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("/ui/oidc/login: %d", res.StatusCode)
	}
	var state *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "lujing_oidc" {
			state = ck
		}
	}
	if state == nil || !state.HttpOnly || state.SameSite != http.SameSiteLaxMode || state.MaxAge <= 0 || state.MaxAge > 900 {
		t.Fatalf("state cookie %+v: want HttpOnly, SameSite=Lax, short-lived", state)
	}
	res, err = c.hc.Get(res.Header.Get("Location")) // the provider
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("provider: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if tamper != nil {
		tamper(back)
	}
	return c.callback(back.String())
}

func (c *client) callback(u string) ssoResult {
	c.f.t.Helper()
	res, err := c.hc.Get(u)
	if err != nil {
		c.f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := ssoResult{code: res.StatusCode, location: res.Header.Get("Location"), body: string(b)}
	for _, ck := range res.Cookies() {
		if ck.Name == "lujing_session" && ck.MaxAge > 0 {
			r.session = ck
		}
	}
	return r
}

// TestOIDCSignIn: the provider's word signs in the local account of that name, with a
// session like a password sign-in's (cookie, ward page), back to the
// page asked for; the redirect URI defaults to this host's callback; a callback cannot be
// replayed; the account has no password to sign in with.
func TestOIDCSignIn(t *testing.T) {
	f, idp := newSSOFixture(t)
	idp.set(func(p *fakeIdP) { p.username = "nurse.li" })
	c := f.client()
	r := c.sso("/ui/critical-values", nil)
	if r.code != http.StatusSeeOther || r.location != "/ui/critical-values" || r.session == nil {
		t.Fatalf("callback: %d to %q, session %v\n%s", r.code, r.location, r.session, r.body)
	}
	if !r.session.HttpOnly || r.session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", r.session)
	}
	if idp.redirect != f.srv.URL+"/ui/oidc/callback" {
		t.Fatalf("redirect_uri %q", idp.redirect)
	}
	code, body, _ := c.get("/ui/ward")
	if code != http.StatusOK || !strings.Contains(body, "nurse.li") {
		t.Fatalf("ward after single sign-on: %d", code)
	}
	// The same callback again (its state cookie is spent) signs no one in.
	again := f.client()
	if r := again.callback(f.srv.URL + "/ui/oidc/callback?code=x&state=y"); r.code != http.StatusForbidden || r.session != nil {
		t.Fatalf("callback without the state cookie: %d", r.code)
	}
	// next cannot leave the workspace.
	if r := f.client().sso("//evil.example/x", nil); r.code != http.StatusSeeOther || r.location != "/ui/" {
		t.Fatalf("next to another site: %d to %q", r.code, r.location)
	}
	// No password signs in an SSO-only account.
	if code := f.client().login("nurse.li", ""); code != http.StatusUnauthorized {
		t.Fatalf("password sign-in of an SSO account: %d", code)
	}
}

// TestOIDCRefused: every way a callback can be wrong ends on the sign-in page without a
// session: a state that is not this browser's, an ID token with another nonce, another
// audience, expired or signed with a key not in the provider's JWKS (401), and a user name
// with no active account of a person (403, saying so; nothing is created).
func TestOIDCRefused(t *testing.T) {
	f, idp := newSSOFixture(t)
	for _, tc := range []struct {
		name   string
		idp    func(*fakeIdP)
		tamper func(*url.URL)
		code   int
		msg    string
	}{
		{name: "wrong state", tamper: func(u *url.URL) {
			q := u.Query()
			q.Set("state", "forged")
			u.RawQuery = q.Encode()
		}, code: http.StatusForbidden, msg: "单点登录请求已过期或无效"},
		{name: "provider error", tamper: func(u *url.URL) {
			q := u.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			u.RawQuery = q.Encode()
		}, code: http.StatusUnauthorized, msg: "单点登录未能确认您的身份"},
		{name: "wrong nonce", idp: func(p *fakeIdP) { p.nonce = "another-nonce" }, code: http.StatusUnauthorized, msg: "单点登录未能确认您的身份"},
		{name: "wrong audience", idp: func(p *fakeIdP) { p.audience = "another-client" }, code: http.StatusUnauthorized, msg: "单点登录未能确认您的身份"},
		{name: "expired", idp: func(p *fakeIdP) { p.lifetime = -time.Minute }, code: http.StatusUnauthorized, msg: "单点登录未能确认您的身份"},
		{name: "forged signature", idp: func(p *fakeIdP) {
			other, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			p.signWith = other
		}, code: http.StatusUnauthorized, msg: "单点登录未能确认您的身份"},
		{name: "unknown user", idp: func(p *fakeIdP) { p.username = "stranger" }, code: http.StatusForbidden, msg: "本系统没有该用户名的账号"},
		{name: "disabled account", idp: func(p *fakeIdP) { p.username = "gone.wang" }, code: http.StatusForbidden, msg: "本系统没有该用户名的账号"},
		{name: "integration account", idp: func(p *fakeIdP) { p.username = "his" }, code: http.StatusForbidden, msg: "本系统没有该用户名的账号"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp.set(func(p *fakeIdP) {
				p.username, p.audience, p.nonce, p.lifetime, p.signWith = "nurse.li", "", "", 0, nil
			})
			if tc.idp != nil {
				idp.set(tc.idp)
			}
			c := f.client()
			r := c.sso("/ui/ward", tc.tamper)
			if r.code != tc.code || r.session != nil || !strings.Contains(r.body, tc.msg) || !strings.Contains(r.body, `action="/ui/login"`) {
				t.Fatalf("%d (want %d), session %v, body:\n%s", r.code, tc.code, r.session, r.body)
			}
			if code, _, h := c.get("/ui/ward"); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/login") {
				t.Fatalf("ward after a refused sign-in: %d", code)
			}
		})
	}
	if _, err := f.st.UserByName(context.Background(), "stranger"); err == nil {
		t.Fatal("single sign-on created an account")
	}
}

// TestOIDCLoginPage: the SSO button shows only when single sign-on is configured, and its
// routes do not exist otherwise.
func TestOIDCLoginPage(t *testing.T) {
	plain := newFixture(t)
	c := plain.client()
	if _, body, _ := c.get("/ui/login"); strings.Contains(body, "/ui/oidc/login") || strings.Contains(body, "使用单点登录") {
		t.Fatal("SSO button without single sign-on")
	}
	if code, _, _ := c.get("/ui/oidc/login"); code != http.StatusNotFound {
		t.Fatalf("/ui/oidc/login without single sign-on: %d", code)
	}
	if code, _, _ := c.get("/ui/oidc/callback?code=x&state=y"); code != http.StatusNotFound {
		t.Fatalf("/ui/oidc/callback without single sign-on: %d", code)
	}
	f, _ := newSSOFixture(t)
	c = f.client()
	if _, body, _ := c.get("/ui/login?next=/ui/quality"); !strings.Contains(body, `href="/ui/oidc/login?next=%2fui%2fquality"`) || !strings.Contains(body, "使用单点登录") {
		t.Fatalf("no SSO button:\n%s", body)
	}
	if _, body, _ := c.get("/ui/login?lang=en"); !strings.Contains(body, "Sign in with SSO") {
		t.Fatalf("no English SSO button:\n%s", body)
	}
}

// TestOIDCDiscovery: an unreachable issuer fails at start, saying which.
func TestOIDCDiscovery(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err := webui.NewSSO(context.Background(), webui.SSOConfig{Issuer: dead.URL, ClientID: clientID})
	if err == nil || !strings.Contains(err.Error(), "discovery failed") || !strings.Contains(err.Error(), dead.URL) {
		t.Fatalf("unreachable issuer: %v", err)
	}
}
