package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

const defaultLimit = 100

// Resource returns the current version, deleted or not.
func (s *Store) Resource(ctx context.Context, typ, id string) (store.Resource, error) {
	r := store.Resource{Type: typ, ID: id}
	var lastUpdated int64
	err := s.queryRow(ctx, s.r, `SELECT r.version_id, r.last_updated, m.body, r.deleted, r.source, r.patient_key
		FROM resources r JOIN messages m ON m.id = r.message_id
		WHERE r.resource_type = ? AND r.resource_id = ?`, typ, id).
		Scan(&r.VersionID, &lastUpdated, &r.Body, &r.Deleted, &r.Source, &r.PatientKey)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Resource{}, fmt.Errorf("resource %s/%s: %w", typ, id, store.ErrNotFound)
	}
	if err != nil {
		return store.Resource{}, fmt.Errorf("resource %s/%s: %w", typ, id, err)
	}
	r.LastUpdated = fromMicros(lastUpdated)
	return r, nil
}

// LookupIdentifier returns the id of the resource of type typ that last carried the
// identifier, unless that resource is now deleted. Errors leave out the value: it may be a
// patient's record number.
func (s *Store) LookupIdentifier(ctx context.Context, typ string, ident store.Identifier) (string, error) {
	var id string
	err := s.queryRow(ctx, s.r, `SELECT i.resource_id FROM identifiers i
		JOIN resources r ON r.resource_type = i.resource_type AND r.resource_id = i.resource_id
		WHERE i.resource_type = ? AND i.system = ? AND i.value = ? AND NOT r.deleted`,
		typ, ident.System, ident.Value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("lookup %s identifier of system %s: %w", typ, ident.System, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("lookup %s identifier of system %s: %w", typ, ident.System, err)
	}
	return id, nil
}

const messageSelect = `SELECT id, source, hospital, resource_type, resource_id, version_id, hash, body,
	deleted, patient_key, received_at, source_updated, status, error, applied, processed_at FROM messages `

func scanMessages(rows *sql.Rows) ([]store.Message, error) {
	defer rows.Close()
	var ms []store.Message
	for rows.Next() {
		var m store.Message
		var received int64
		var sourceUpdated, processed sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Source, &m.Hospital, &m.Type, &m.ResourceID, &m.VersionID, &m.Hash,
			&m.Body, &m.Deleted, &m.PatientKey, &received, &sourceUpdated, &m.Status, &m.Error, &m.Applied,
			&processed); err != nil {
			return nil, err
		}
		m.ReceivedAt = fromMicros(received)
		m.SourceUpdated = fromNullMicros(sourceUpdated)
		m.ProcessedAt = fromNullMicros(processed)
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

func (s *Store) messages(ctx context.Context, q querier, where string, args ...any) ([]store.Message, error) {
	rows, err := s.query(ctx, q, messageSelect+where, args...)
	if err != nil {
		return nil, err
	}
	return scanMessages(rows)
}

// Pending returns up to limit (default 100) received messages for the patient key, oldest first.
func (s *Store) Pending(ctx context.Context, patientKey string, limit int) ([]store.Message, error) {
	ms, err := s.messages(ctx, s.r, "WHERE patient_key = ? AND status = 'received' ORDER BY id LIMIT ?",
		patientKey, limitOr(limit, defaultLimit))
	if err != nil {
		return nil, fmt.Errorf("pending messages: %w", err)
	}
	return ms, nil
}

// Complete records the verdict and the events if the message is still received. The
// conditional UPDATE is the guard: of several concurrent calls exactly one changes the row.
func (s *Store) Complete(ctx context.Context, c store.Completion) (bool, error) {
	done, err := s.CompleteAll(ctx, []store.Completion{c})
	if err != nil {
		return false, err
	}
	return done[0], nil
}

// CompleteAll records several verdicts in one transaction, all or nothing; done[i] is what
// Complete would have returned for cs[i] (a second verdict on the same message in cs is
// false). One commit and two statements for many messages: a commit waits for the disk on
// PostgreSQL, and one per message caps a worker at several hundred messages a second.
//
// Not part of store.Store (yet): a worker that holds *Store may use it.
func (s *Store) CompleteAll(ctx context.Context, cs []store.Completion) ([]bool, error) {
	done := make([]bool, len(cs))
	first := make(map[int64]int, len(cs)) // message id -> index of its first verdict
	var rows [][]any
	for i, c := range cs {
		if err := checkCompletion(c); err != nil {
			return nil, fmt.Errorf("complete message %d: %w", c.MessageID, err)
		}
		if _, dup := first[c.MessageID]; dup {
			continue
		}
		first[c.MessageID] = i
		applied := 0
		if c.Status == store.StatusProcessed {
			applied = 1
		}
		rows = append(rows, []any{c.MessageID, string(c.Status), c.Error, applied})
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		at := micros(now())
		var events [][]any
		for _, b := range s.batches([]string{"bigint", "text", "text", "int"}, rows) {
			// The status = 'received' condition is the guard: of concurrent verdicts on a
			// message exactly one changes the row, and only its events are written.
			updated, err := s.query(ctx, tx, `WITH v (id, status, error, applied) AS (`+b.rows+`)
				UPDATE messages SET status = v.status, error = v.error,
					applied = messages.applied + v.applied, processed_at = ?
				FROM v WHERE messages.id = v.id AND messages.status = 'received'
				RETURNING messages.id`, append(b.args, at)...)
			if err != nil {
				return err
			}
			ids, err := scanAll[int64](updated)
			if err != nil {
				return err
			}
			for _, id := range ids {
				i := first[id]
				done[i] = true
				events = append(events, eventRows(id, cs[i].Events)...)
			}
		}
		return s.insertEvents(ctx, tx, events)
	})
	if err != nil {
		if len(cs) == 1 {
			return nil, fmt.Errorf("complete message %d: %w", cs[0].MessageID, err)
		}
		return nil, fmt.Errorf("complete %d messages: %w", len(cs), err)
	}
	return done, nil
}

func checkCompletion(c store.Completion) error {
	switch c.Status {
	case store.StatusProcessed, store.StatusFailed, store.StatusParked:
	default:
		return fmt.Errorf("status %q is not processed, failed or parked", c.Status)
	}
	for i, e := range c.Events {
		// PostgreSQL would refuse it as JSONB; SQLite is held to the same rule.
		if len(e.Data) > 0 && !json.Valid(e.Data) {
			return fmt.Errorf("event %d: data is not valid JSON", i)
		}
	}
	return nil
}

var eventTypes = []string{"bigint", "int", "text", "text", "text", "text", "text", "bigint", "text", "jsonb"}

// eventRows are the events rows of a message; seq is the position in its completion.
func eventRows(messageID int64, events []store.Event) [][]any {
	rows := make([][]any, len(events))
	for i, e := range events {
		var data any // NULL when there is none
		if len(e.Data) > 0 {
			data = string(e.Data)
		}
		rows[i] = []any{messageID, i, e.Kind, e.Patient, e.Encounter, e.Hospital, e.Source, micros(e.At), e.Resource, data}
	}
	return rows
}

func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, rows [][]any) error {
	for _, b := range s.batches(eventTypes, rows) {
		_, err := s.exec(ctx, tx, `INSERT INTO events (message_id, seq, kind, patient, encounter, hospital,
			source, at, resource, data) `+b.rows, b.args...)
		if err != nil {
			return err
		}
	}
	return nil
}

// Backlog returns up to limit (default 100) distinct patient keys with messages received
// before the given time and still waiting, the longest waiting first.
func (s *Store) Backlog(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.query(ctx, s.r, `SELECT patient_key FROM messages
		WHERE status = 'received' AND received_at < ?
		GROUP BY patient_key ORDER BY MIN(received_at), patient_key LIMIT ?`,
		micros(before), limitOr(limit, defaultLimit))
	if err != nil {
		return nil, fmt.Errorf("backlog: %w", err)
	}
	keys, err := scanAll[string](rows)
	if err != nil {
		return nil, fmt.Errorf("backlog: %w", err)
	}
	return keys, nil
}

// Requeue sets those of ids that are failed or parked back to received (clearing the error and
// processing time) and returns their distinct patient keys, sorted.
func (s *Store) Requeue(ctx context.Context, ids []int64) ([]string, error) {
	rows := make([][]any, len(ids))
	for i, id := range ids {
		rows[i] = []any{id}
	}
	var keys []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, b := range s.batches([]string{"bigint"}, rows) {
			updated, err := s.query(ctx, tx, `UPDATE messages SET status = 'received', error = '', processed_at = NULL
				WHERE id IN (`+b.rows+`) AND status IN ('failed', 'parked') RETURNING patient_key`, b.args...)
			if err != nil {
				return err
			}
			got, err := scanAll[string](updated)
			if err != nil {
				return err
			}
			keys = append(keys, got...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("requeue %d messages: %w", len(ids), err)
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// scanAll reads a one-column result.
func scanAll[T any](rows *sql.Rows) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Message returns one message; ErrNotFound when there is none with that id.
func (s *Store) Message(ctx context.Context, id int64) (store.Message, error) {
	ms, err := s.messages(ctx, s.r, "WHERE id = ?", id)
	if err != nil {
		return store.Message{}, fmt.Errorf("message %d: %w", id, err)
	}
	if len(ms) == 0 {
		return store.Message{}, fmt.Errorf("message %d: %w", id, store.ErrNotFound)
	}
	return ms[0], nil
}

// Messages lists messages matching the filter oldest first (ascending id), from the first id
// after f.After, at most f.Limit (default 100). The next page starts after the last id returned.
func (s *Store) Messages(ctx context.Context, f store.MessageFilter) ([]store.Message, error) {
	where := []string{"id > ?"}
	args := []any{f.After}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.Source != "" {
		where = append(where, "source = ?")
		args = append(args, f.Source)
	}
	args = append(args, limitOr(f.Limit, defaultLimit))
	ms, err := s.messages(ctx, s.r, "WHERE "+strings.Join(where, " AND ")+" ORDER BY id LIMIT ?", args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return ms, nil
}

// Counts counts messages by source and status, ordered by source then status.
func (s *Store) Counts(ctx context.Context) ([]store.Count, error) {
	rows, err := s.query(ctx, s.r, "SELECT source, status, COUNT(*) FROM messages GROUP BY source, status ORDER BY source, status")
	if err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	defer rows.Close()
	var out []store.Count
	for rows.Next() {
		var c store.Count
		if err := rows.Scan(&c.Source, &c.Status, &c.N); err != nil {
			return nil, fmt.Errorf("count messages: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	return out, nil
}

// Events returns the events of a patient ordered by time, then message and position.
func (s *Store) Events(ctx context.Context, patientKey string) ([]store.Event, error) {
	rows, err := s.query(ctx, s.r, `SELECT kind, patient, encounter, hospital, source, at, resource, data
		FROM events WHERE patient = ? ORDER BY at, message_id, seq`, patientKey)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var at int64
		var data []byte
		if err := rows.Scan(&e.Kind, &e.Patient, &e.Encounter, &e.Hospital, &e.Source, &at, &e.Resource, &data); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		e.At = fromMicros(at)
		if data != nil {
			e.Data = json.RawMessage(data)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}
