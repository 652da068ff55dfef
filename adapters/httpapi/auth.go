package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lujing-health/lujing/adapters/store"
)

// HashToken is how a token's secret is stored: tokens are long random strings, so a plain
// SHA-256 suffices (a password hash is for guessable secrets).
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// principal is the caller of a request.
func principal(c echo.Context) store.Token {
	t, _ := c.Get("principal").(store.Token)
	return t
}

var (
	errUnauthorized = errors.New("a valid bearer token is required")
	errForbidden    = errors.New("this token's role may not do that")
)

// auth admits a request whose bearer token is valid and has one of the roles.
func (s *Server) auth(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			if h == "" {
				// The web workspace's pages call the API with their session cookie.
				t, ok, err := s.sessionPrincipal(c)
				if err != nil {
					return err
				}
				if ok {
					if !slices.Contains(roles, t.Role) {
						return errForbidden
					}
					c.Set("principal", t)
					return next(c)
				}
			}
			scheme, secret, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
				return errUnauthorized
			}
			t, err := s.tokens.lookup(c.Request().Context(), HashToken(strings.TrimSpace(secret)))
			if errors.Is(err, store.ErrNotFound) {
				return errUnauthorized
			}
			if err != nil {
				return err
			}
			if !slices.Contains(roles, t.Role) {
				return errForbidden
			}
			c.Set("principal", t)
			return next(c)
		}
	}
}

// sameToken compares secrets in constant time.
func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// tokenCache keeps token lookups off the database on the hot path. A revoked token stops
// working within the TTL.
type tokenCache struct {
	st  Store
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cachedToken
}

type cachedToken struct {
	tok     store.Token
	err     error
	expires time.Time
}

func newTokenCache(st Store, ttl time.Duration, now func() time.Time) *tokenCache {
	return &tokenCache{st: st, ttl: ttl, now: now, entries: map[string]cachedToken{}}
}

func (c *tokenCache) lookup(ctx context.Context, hash string) (store.Token, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.tok, e.err
	}
	t, err := c.st.TokenByHash(ctx, hash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Token{}, err // do not cache a database failure
	}
	c.mu.Lock()
	if len(c.entries) > 10000 { // bound the memory a flood of bad tokens can take
		clear(c.entries)
	}
	c.entries[hash] = cachedToken{tok: t, err: err, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return t, err
}
