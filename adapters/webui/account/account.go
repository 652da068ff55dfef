// Package account holds what the web workspace keeps of the people who sign in: local user
// accounts (password hashed with bcrypt) and their sessions (only a hash of the cookie's
// secret is stored). It is plain data and hashing, so that the store (adapters/sqlstore), the
// command line (lujing user) and the web pages (adapters/webui) share it without depending on
// one another.
package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lujing-health/lujing/adapters/store"
)

// User is a person who signs in to the web workspace. Role and Departments mean exactly what
// they mean on a token (store.Token): a clinician bound to departments acts only in them.
type User struct {
	ID          string
	Name        string
	Role        store.Role
	Hospital    string
	Departments []string // empty: hospital-wide
	// PasswordHash is a bcrypt hash; empty for an account that signs in only by single sign-on.
	PasswordHash string
	CreatedAt    time.Time
	DisabledAt   time.Time // zero while the account may sign in
}

// Disabled reports whether the account may no longer sign in.
func (u User) Disabled() bool { return !u.DisabledAt.IsZero() }

// Principal is the user as the API's permission checks see a caller: a token with the user's
// role and departments. Its ID is prefixed so that audit entries tell users from tokens.
func (u User) Principal() store.Token {
	return store.Token{ID: "user:" + u.ID, Name: u.Name, Role: u.Role, Hospital: u.Hospital,
		Departments: u.Departments, CreatedAt: u.CreatedAt, RevokedAt: u.DisabledAt}
}

// Session is a signed-in browser. The cookie carries a random secret; Hash is its SHA-256,
// so a copy of the database does not sign anyone in.
type Session struct {
	Hash      string
	UserID    string
	CreatedAt time.Time
	LastSeen  time.Time // the last request, for the idle timeout
	ExpiresAt time.Time // the absolute end, however active the session
}

// MinPassword is the shortest password accepted.
const MinPassword = 10

// ErrWeakPassword is returned for a password shorter than MinPassword.
var ErrWeakPassword = fmt.Errorf("a password needs at least %d characters", MinPassword)

// BcryptCost is bcrypt's work factor: about 50–100 ms per sign-in on a server core, which is
// what an online guesser pays per try. Tests lower it (bcrypt.MinCost): under the race
// detector one hash at cost 11 takes seconds.
var BcryptCost = 11

// HashPassword returns the bcrypt hash of a password.
func HashPassword(password string) (string, error) {
	if len([]rune(password)) < MinPassword {
		return "", ErrWeakPassword
	}
	if len(password) > 72 {
		// bcrypt reads only the first 72 bytes; refusing is better than silently ignoring.
		return "", errors.New("a password may have at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when the user does not exist, so that a sign-in takes as long
// for an unknown name as for a wrong password (no user enumeration by timing).
// It is made on first use, at the cost in force then.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), BcryptCost)
	return h
})

// CheckPassword reports whether password matches the hash. An empty hash (no local
// password) never matches, but costs the same time.
func CheckPassword(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// NewSecret returns 32 random bytes, URL-safe base64: a session's cookie value or a generated
// password.
func NewSecret() (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw[:]), nil
}

// HashSecret is how a session secret is stored: the secret is long and random, so a plain
// SHA-256 suffices.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte("session:" + secret))
	return hex.EncodeToString(sum[:])
}

// CSRFToken is the session's anti-forgery token, derived from its secret: a page embeds it and
// every state-changing request sends it back. A page of another site can neither read the
// cookie nor the page, so it cannot produce the token.
func CSRFToken(secret string) string {
	sum := sha256.Sum256([]byte("csrf:" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
