package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webui/account"
)

// Web workspace accounts and sessions (migration 0005).

// CreateUser stores an account. An empty ID gets a random UUID and a zero CreatedAt the
// current time. A name in use is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u account.User) error {
	if u.Name == "" || u.Role == "" {
		return fmt.Errorf("create user %q: name and role are required", u.Name)
	}
	if u.ID == "" {
		u.ID = uuid.NewString()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now()
	}
	depts := u.Departments
	if depts == nil {
		depts = []string{}
	}
	dj, err := json.Marshal(depts)
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	_, err = s.exec(ctx, s.w, `INSERT INTO users (id, name, role, hospital, departments, password_hash, created_at, disabled_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Name, string(u.Role), u.Hospital, string(dj), u.PasswordHash, micros(u.CreatedAt), nullMicros(u.DisabledAt))
	if s.d.isUnique(err) {
		return fmt.Errorf("create user %q: name or id in use: %w", u.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return nil
}

const userSelect = "SELECT id, name, role, hospital, departments, password_hash, created_at, disabled_at FROM users "

func scanUser(sc interface{ Scan(...any) error }) (account.User, error) {
	var u account.User
	var depts string
	var created int64
	var disabled sql.NullInt64
	if err := sc.Scan(&u.ID, &u.Name, &u.Role, &u.Hospital, &depts, &u.PasswordHash, &created, &disabled); err != nil {
		return account.User{}, err
	}
	if err := json.Unmarshal([]byte(depts), &u.Departments); err != nil {
		return account.User{}, fmt.Errorf("departments: %w", err)
	}
	if len(u.Departments) == 0 {
		u.Departments = nil
	}
	u.CreatedAt = fromMicros(created)
	u.DisabledAt = fromNullMicros(disabled)
	return u, nil
}

func (s *Store) userWhere(ctx context.Context, what, where string, arg any) (account.User, error) {
	u, err := scanUser(s.queryRow(ctx, s.r, userSelect+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return account.User{}, fmt.Errorf("user %s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return account.User{}, fmt.Errorf("user %s: %w", what, err)
	}
	return u, nil
}

// UserByName returns the account with that name, disabled or not; ErrNotFound when none.
func (s *Store) UserByName(ctx context.Context, name string) (account.User, error) {
	return s.userWhere(ctx, "by name", "WHERE name = ?", name)
}

// UserByID returns the account with that id, disabled or not; ErrNotFound when none.
func (s *Store) UserByID(ctx context.Context, id string) (account.User, error) {
	return s.userWhere(ctx, "by id", "WHERE id = ?", id)
}

// Users returns every account, disabled ones included, in order of creation.
func (s *Store) Users(ctx context.Context) ([]account.User, error) {
	rows, err := s.query(ctx, s.r, userSelect+"ORDER BY created_at, name")
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []account.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return out, nil
}

// DisableUser disables the account with that name or id (keeping the first time it was
// disabled) and ends its sessions, in one transaction.
func (s *Store) DisableUser(ctx context.Context, nameOrID string, at time.Time) error {
	if at.IsZero() {
		at = now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := s.exec(ctx, tx, "UPDATE users SET disabled_at = COALESCE(disabled_at, ?) WHERE name = ? OR id = ?",
			micros(at), nameOrID, nameOrID)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		_, err = s.exec(ctx, tx, "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = ? OR id = ?)", nameOrID, nameOrID)
		return err
	})
	if err != nil {
		return fmt.Errorf("disable user %q: %w", nameOrID, err)
	}
	return nil
}

// SetPassword replaces an account's password hash.
func (s *Store) SetPassword(ctx context.Context, nameOrID, hash string) error {
	r, err := s.exec(ctx, s.w, "UPDATE users SET password_hash = ? WHERE name = ? OR id = ?", hash, nameOrID, nameOrID)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", nameOrID, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return fmt.Errorf("set password of %q: %w", nameOrID, err)
	} else if n == 0 {
		return fmt.Errorf("set password of %q: %w", nameOrID, store.ErrNotFound)
	}
	return nil
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, se account.Session) error {
	_, err := s.exec(ctx, s.w, "INSERT INTO sessions (hash, user_id, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?)",
		se.Hash, se.UserID, micros(se.CreatedAt), micros(se.LastSeen), micros(se.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns the session with that hash; ErrNotFound when none (expiry is the caller's
// judgement: it knows the idle timeout).
func (s *Store) Session(ctx context.Context, hash string) (account.Session, error) {
	var se account.Session
	var created, seen, expires int64
	err := s.queryRow(ctx, s.r, "SELECT hash, user_id, created_at, last_seen, expires_at FROM sessions WHERE hash = ?", hash).
		Scan(&se.Hash, &se.UserID, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return account.Session{}, fmt.Errorf("session: %w", store.ErrNotFound)
	}
	if err != nil {
		return account.Session{}, fmt.Errorf("session: %w", err)
	}
	se.CreatedAt, se.LastSeen, se.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return se, nil
}

// TouchSession records activity on a session (never moving LastSeen back).
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	if _, err := s.exec(ctx, s.w, "UPDATE sessions SET last_seen = ? WHERE hash = ? AND last_seen < ?", micros(at), hash, micros(at)); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession ends a session; ending an unknown one is not an error (signing out twice).
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.exec(ctx, s.w, "DELETE FROM sessions WHERE hash = ?", hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteStaleSessions removes sessions idle since before idleBefore or expired at now, and
// returns how many.
func (s *Store) DeleteStaleSessions(ctx context.Context, idleBefore, now time.Time) (int64, error) {
	r, err := s.exec(ctx, s.w, "DELETE FROM sessions WHERE last_seen < ? OR expires_at <= ?", micros(idleBefore), micros(now))
	if err != nil {
		return 0, fmt.Errorf("delete stale sessions: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete stale sessions: %w", err)
	}
	return n, nil
}
