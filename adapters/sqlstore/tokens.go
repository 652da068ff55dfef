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
)

// CreateToken stores a token. An empty ID gets a random UUID and a zero CreatedAt the current
// time. A name or secret hash already in use is store.ErrConflict.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.Name == "" || t.Hash == "" {
		return fmt.Errorf("create token %q: name and hash are required", t.Name)
	}
	if t.ID == "" {
		t.ID = uuid.NewString()
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	depts := t.Departments
	if depts == nil {
		depts = []string{}
	}
	dj, err := json.Marshal(depts)
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	grants := t.Grants
	if grants == nil {
		grants = []string{}
	}
	gj, err := json.Marshal(grants)
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	_, err = s.exec(ctx, s.w, `INSERT INTO tokens (id, name, role, source, hospital, departments, grants, hash, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, string(t.Role), t.Source, t.Hospital, string(dj), string(gj), t.Hash, micros(t.CreatedAt), nullMicros(t.RevokedAt))
	if s.d.isUnique(err) {
		return fmt.Errorf("create token %q: name, id or hash in use: %w", t.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return nil
}

const tokenSelect = "SELECT id, name, role, source, hospital, departments, grants, hash, created_at, revoked_at FROM tokens "

func scanToken(sc interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var depts, grants string
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Name, &t.Role, &t.Source, &t.Hospital, &depts, &grants, &t.Hash, &created, &revoked); err != nil {
		return store.Token{}, err
	}
	if err := json.Unmarshal([]byte(grants), &t.Grants); err != nil {
		return store.Token{}, fmt.Errorf("grants: %w", err)
	}
	if len(t.Grants) == 0 {
		t.Grants = nil
	}
	if err := json.Unmarshal([]byte(depts), &t.Departments); err != nil {
		return store.Token{}, fmt.Errorf("departments: %w", err)
	}
	if len(t.Departments) == 0 {
		t.Departments = nil // hospital-wide, however it was written
	}
	t.CreatedAt = fromMicros(created)
	t.RevokedAt = fromNullMicros(revoked)
	return t, nil
}

// TokenByHash returns the token with that secret hash unless it is revoked (ErrNotFound).
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	t, err := scanToken(s.queryRow(ctx, s.r, tokenSelect+"WHERE hash = ? AND revoked_at IS NULL", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, fmt.Errorf("token by hash: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("token by hash: %w", err)
	}
	return t, nil
}

// Tokens returns every token, revoked ones included, in order of creation.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.query(ctx, s.r, tokenSelect+"ORDER BY created_at, name")
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes the token with that name or id at the given time (now when zero).
// Revoking a revoked token keeps its first revocation time.
func (s *Store) RevokeToken(ctx context.Context, nameOrID string, at time.Time) error {
	if at.IsZero() {
		at = now()
	}
	r, err := s.exec(ctx, s.w, "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ? OR id = ?",
		micros(at), nameOrID, nameOrID)
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", nameOrID, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", nameOrID, err)
	}
	if n == 0 {
		return fmt.Errorf("revoke token %q: %w", nameOrID, store.ErrNotFound)
	}
	return nil
}

// Audit records one read of patient data; a zero At is the current time.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if e.At.IsZero() {
		e.At = now()
	}
	_, err := s.exec(ctx, s.w, `INSERT INTO audit (at, actor, role, action, resource, patient_key, remote_addr, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		micros(e.At), e.Actor, string(e.Role), e.Action, e.Resource, e.PatientKey, e.RemoteAddr, e.RequestID)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog returns up to limit (default 100) entries, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	rows, err := s.query(ctx, s.r, `SELECT at, actor, role, action, resource, patient_key, remote_addr, request_id
		FROM audit ORDER BY at DESC, id DESC LIMIT ?`, limitOr(limit, defaultLimit))
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Role, &e.Action, &e.Resource, &e.PatientKey, &e.RemoteAddr, &e.RequestID); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}
