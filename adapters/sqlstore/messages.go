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
	// A subquery, not a join: PostgreSQL plans every run (force_custom_plan), and the mapper
	// reads a resource a few times per delivery; the join took twice as long to plan.
	err := s.queryRow(ctx, s.r, `SELECT r.version_id, r.last_updated,
			(SELECT m.body FROM messages m WHERE m.id = r.message_id), r.deleted, r.source, r.patient_key
		FROM resources r WHERE r.resource_type = ? AND r.resource_id = ?`, typ, id).
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
	deleted, patient_key, received_at, source_updated, status, error, flags, applied, processed_at FROM messages `

func scanMessages(rows *sql.Rows) ([]store.Message, error) {
	defer rows.Close()
	var ms []store.Message
	for rows.Next() {
		var m store.Message
		var received int64
		var sourceUpdated, processed sql.NullInt64
		var flags sql.NullString
		if err := rows.Scan(&m.ID, &m.Source, &m.Hospital, &m.Type, &m.ResourceID, &m.VersionID, &m.Hash,
			&m.Body, &m.Deleted, &m.PatientKey, &received, &sourceUpdated, &m.Status, &m.Error, &flags,
			&m.Applied, &processed); err != nil {
			return nil, err
		}
		if flags.Valid {
			if err := json.Unmarshal([]byte(flags.String), &m.Flags); err != nil {
				return nil, fmt.Errorf("message %d: flags: %w", m.ID, err)
			}
		}
		m.ReceivedAt = fromMicros(received)
		m.SourceUpdated = fromNullMicros(sourceUpdated)
		m.ProcessedAt = fromNullMicros(processed)
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

// messages reads the messages selected by where, with the Needs of those that are parked.
func (s *Store) messages(ctx context.Context, q querier, where string, args ...any) ([]store.Message, error) {
	rows, err := s.query(ctx, q, messageSelect+where, args...)
	if err != nil {
		return nil, err
	}
	ms, err := scanMessages(rows)
	if err != nil {
		return nil, err
	}
	if err := s.loadNeeds(ctx, q, ms); err != nil {
		return nil, fmt.Errorf("waits: %w", err)
	}
	return ms, nil
}

// loadNeeds fills in the Needs of the parked messages of ms, sorted: only parked messages have
// waits, so a list without any (Pending's) costs no query.
func (s *Store) loadNeeds(ctx context.Context, q querier, ms []store.Message) error {
	index := make(map[int64]int)
	var ids [][]any
	for i, m := range ms {
		if m.Status == store.StatusParked {
			index[m.ID] = i
			ids = append(ids, []any{m.ID})
		}
	}
	for _, b := range s.batches([]string{"bigint"}, ids) {
		rows, err := s.query(ctx, q, `SELECT message_id, ref FROM message_waits
			WHERE message_id IN (`+b.rows+`) ORDER BY message_id, ref`, b.args...)
		if err != nil {
			return err
		}
		err = eachRow(rows, func(sc scanner) error {
			var id int64
			var ref string
			if err := sc.Scan(&id, &ref); err != nil {
				return err
			}
			m := &ms[index[id]]
			m.Needs = append(m.Needs, ref)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

type scanner interface{ Scan(...any) error }

// eachRow calls fn for every row, then closes rows.
func eachRow(rows *sql.Rows, fn func(scanner) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
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
// false). One commit and a few statements for many messages: a commit waits for the disk on
// PostgreSQL, and one per message caps a worker at several hundred messages a second.
//
// With the verdicts that changed their message, and only those, it writes their events, the
// waits of parked ones (Needs, deduplicated; empty refs ignored; Needs of other statuses are
// not kept) and counts their unmapped codes under the message's source. Flags are stored on
// the message, replacing those of an earlier verdict (Requeue and Unpark keep them).
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
		flags, err := flagsValue(c.Flags)
		if err != nil {
			return nil, fmt.Errorf("complete message %d: %w", c.MessageID, err)
		}
		rows = append(rows, []any{c.MessageID, string(c.Status), c.Error, applied, flags})
	}
	// The commit of a completion need not wait for the disk (s.async). A completion lost in a
	// crash (one of the last 3 × wal_writer_delay, 600 ms by default) is lost whole, one
	// transaction: its messages are still 'received' and none of its events, waits or code
	// counts exist, so the worker redoes them (Pending and Backlog find them) and nothing is
	// lost or applied twice. Accept keeps the default and stays fully durable; and as the WAL
	// is flushed in order, each Accept's commit also makes durable every completion committed
	// before it.
	err := s.inTxOn(ctx, s.async, func(tx *sql.Tx) error {
		at := micros(now())
		var events, waits [][]any
		codes := unmappedCounts{}
		for _, b := range s.batches([]string{"bigint", "text", "text", "int", "text"}, rows) {
			// The status = 'received' condition is the guard: of concurrent verdicts on a
			// message exactly one changes the row, and only its events are written.
			updated, err := s.query(ctx, tx, `WITH v (id, status, error, applied, flags) AS (`+b.rows+`)
				UPDATE messages SET status = v.status, error = v.error, flags = v.flags,
					applied = messages.applied + v.applied, processed_at = ?
				FROM v WHERE messages.id = v.id AND messages.status = 'received'
				RETURNING messages.id, messages.source`, append(b.args, at)...)
			if err != nil {
				return err
			}
			err = eachRow(updated, func(sc scanner) error {
				var id int64
				var source string
				if err := sc.Scan(&id, &source); err != nil {
					return err
				}
				i := first[id]
				done[i] = true
				c := &cs[i]
				events = append(events, eventRows(id, c.Events)...)
				if c.Status == store.StatusParked {
					waits = append(waits, waitRows(id, c.Needs)...)
				}
				codes.add(source, c.Unmapped)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if err := s.insertEvents(ctx, tx, events); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		if err := s.insertWaits(ctx, tx, waits); err != nil {
			return fmt.Errorf("insert waits: %w", err)
		}
		if err := s.countUnmapped(ctx, tx, codes, at); err != nil {
			return fmt.Errorf("count unmapped codes: %w", err)
		}
		return nil
	})
	if err != nil {
		if len(cs) == 1 {
			return nil, fmt.Errorf("complete message %d: %w", cs[0].MessageID, err)
		}
		return nil, fmt.Errorf("complete %d messages: %w", len(cs), err)
	}
	return done, nil
}

// flagsValue is the flags column: a JSON array, NULL when there are none.
func flagsValue(flags []string) (any, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(flags)
	if err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	return string(b), nil
}

// waitRows are the message_waits rows of a parked message: its distinct, non-empty needs.
func waitRows(messageID int64, needs []string) [][]any {
	var rows [][]any
	seen := make(map[string]bool, len(needs))
	for _, ref := range needs {
		if ref == "" || seen[ref] {
			continue
		}
		seen[ref] = true
		rows = append(rows, []any{ref, messageID})
	}
	return rows
}

// insertWaits writes waits. A row already there is left as it is: a message only has waits
// while parked, but an old row must not make the whole batch of verdicts fail.
func (s *Store) insertWaits(ctx context.Context, tx *sql.Tx, rows [][]any) error {
	for _, b := range s.batches([]string{"text", "bigint"}, rows) {
		_, err := s.exec(ctx, tx, `INSERT INTO message_waits (ref, message_id) `+b.rows+`
			ON CONFLICT (ref, message_id) DO NOTHING`, b.args...)
		if err != nil {
			return err
		}
	}
	return nil
}

// deleteWaits deletes every wait of the messages ids.
func (s *Store) deleteWaits(ctx context.Context, tx *sql.Tx, ids []int64) error {
	rows := make([][]any, len(ids))
	for i, id := range ids {
		rows[i] = []any{id}
	}
	for _, b := range s.batches([]string{"bigint"}, rows) {
		if _, err := s.exec(ctx, tx, "DELETE FROM message_waits WHERE message_id IN ("+b.rows+")", b.args...); err != nil {
			return err
		}
	}
	return nil
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

var eventTypes = []string{"bigint", "int", "text", "bigint", "text", "text", "text", "text", "text", "bigint", "text", "jsonb"}

// eventRows are the events rows of a message; seq is the position in its completion.
func eventRows(messageID int64, events []store.Event) [][]any {
	rows := make([][]any, len(events))
	for i, e := range events {
		var data any // NULL when there is none
		if len(e.Data) > 0 {
			data = string(e.Data)
		}
		rows[i] = []any{messageID, i, e.Key, e.Version, e.Kind, e.Patient, e.Encounter, e.Hospital, e.Source, micros(e.At), e.Resource, data}
	}
	return rows
}

func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, rows [][]any) error {
	for _, b := range s.batches(eventTypes, rows) {
		_, err := s.exec(ctx, tx, `INSERT INTO events (message_id, seq, key, version, kind, patient, encounter,
			hospital, source, at, resource, data) `+b.rows, b.args...)
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

// Requeue sets those of ids that are failed or parked back to received (clearing the error,
// processing time and waits; the flags stay until the next verdict replaces them) and returns
// their distinct patient keys, sorted.
func (s *Store) Requeue(ctx context.Context, ids []int64) ([]string, error) {
	rows := make([][]any, len(ids))
	for i, id := range ids {
		rows[i] = []any{id}
	}
	var keys []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var requeued []int64
		for _, b := range s.batches([]string{"bigint"}, rows) {
			got, err := s.requeue(ctx, tx, `id IN (`+b.rows+`) AND status IN ('failed', 'parked')`, b.args...)
			if err != nil {
				return err
			}
			for _, r := range got {
				requeued = append(requeued, r.id)
				keys = append(keys, r.patientKey)
			}
		}
		return s.deleteWaits(ctx, tx, requeued)
	})
	if err != nil {
		return nil, fmt.Errorf("requeue %d messages: %w", len(ids), err)
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// RequeueAll sets every message of the status (failed or parked), of the source when it is not
// empty, back to received as Requeue does, and returns their distinct patient keys, sorted.
func (s *Store) RequeueAll(ctx context.Context, status store.Status, source string) ([]string, error) {
	if status != store.StatusFailed && status != store.StatusParked {
		return nil, fmt.Errorf("requeue all %s messages: only failed or parked ones can be requeued", status)
	}
	where, args := "status = ?", []any{string(status)}
	if source != "" {
		where += " AND source = ?"
		args = append(args, source)
	}
	var keys []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		got, err := s.requeue(ctx, tx, where, args...)
		if err != nil {
			return err
		}
		ids := make([]int64, len(got))
		for i, r := range got {
			ids[i] = r.id
			keys = append(keys, r.patientKey)
		}
		if status != store.StatusParked {
			return nil // only parked messages have waits
		}
		return s.deleteWaits(ctx, tx, ids)
	})
	if err != nil {
		if source != "" {
			return nil, fmt.Errorf("requeue all %s messages of %s: %w", status, source, err)
		}
		return nil, fmt.Errorf("requeue all %s messages: %w", status, err)
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// Unpark sets the parked messages waiting for any of refs back to received (clearing the
// error and processing time, as Requeue does), deletes all their waits, and returns their
// distinct patient keys, sorted. It is called after every completed batch and mostly finds
// nothing: it first looks on the read pool (by the primary key of message_waits) and takes no
// write transaction when nothing waits for refs.
func (s *Store) Unpark(ctx context.Context, refs []string) ([]string, error) {
	var rows [][]any
	seen := make(map[string]bool, len(refs))
	for _, ref := range refs {
		if ref != "" && !seen[ref] {
			seen[ref] = true
			rows = append(rows, []any{ref})
		}
	}
	conds := s.anyOf("ref", "text", rows)
	waiting := false
	for _, b := range conds {
		var one int
		err := s.queryRow(ctx, s.r, `SELECT 1 FROM message_waits WHERE `+b.rows+` LIMIT 1`, b.args...).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("unpark %d refs: %w", len(rows), err)
		}
		waiting = true
		break
	}
	if !waiting {
		return nil, nil
	}
	var keys []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var ids []int64
		for _, b := range conds {
			got, err := s.requeue(ctx, tx, `status = 'parked'
				AND id IN (SELECT message_id FROM message_waits WHERE `+b.rows+`)`, b.args...)
			if err != nil {
				return err
			}
			for _, r := range got {
				ids = append(ids, r.id)
				keys = append(keys, r.patientKey)
			}
		}
		return s.deleteWaits(ctx, tx, ids)
	})
	if err != nil {
		return nil, fmt.Errorf("unpark %d refs: %w", len(rows), err)
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

type requeued struct {
	id         int64
	patientKey string
}

// requeue sets the failed or parked messages matching where (a condition on messages written
// with ? placeholders, args its values) back to received. On PostgreSQL the rows are locked in
// id order first, so two calls whose sets overlap (an Unpark and a RequeueAll, say) wait for
// each other instead of deadlocking.
func (s *Store) requeue(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]requeued, error) {
	lock := ""
	if s.d.postgres() {
		lock = " FOR UPDATE"
	}
	rows, err := s.query(ctx, tx, `UPDATE messages SET status = 'received', error = '', processed_at = NULL
		WHERE id IN (SELECT id FROM messages WHERE `+where+` ORDER BY id`+lock+`)
			AND status IN ('failed', 'parked')
		RETURNING id, patient_key`, args...)
	if err != nil {
		return nil, err
	}
	var out []requeued
	err = eachRow(rows, func(sc scanner) error {
		var r requeued
		if err := sc.Scan(&r.id, &r.patientKey); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
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

// PriorBody returns the body of the latest version of typ/id below version that is not a delete.
func (s *Store) PriorBody(ctx context.Context, typ, id string, version int) ([]byte, error) {
	var body []byte
	err := s.queryRow(ctx, s.r, `SELECT body FROM messages
		WHERE resource_type = ? AND resource_id = ? AND version_id < ? AND NOT deleted
		ORDER BY version_id DESC LIMIT 1`, typ, id, version).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("prior body of %s/%s: %w", typ, id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("prior body of %s/%s: %w", typ, id, err)
	}
	return body, nil
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
	if !f.ReceivedBefore.IsZero() {
		where = append(where, "received_at < ?")
		args = append(args, micros(f.ReceivedBefore))
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

// EventsSince returns the patient's events stored after a position, in storing order.
func (s *Store) EventsSince(ctx context.Context, patientKey string, after int64) ([]store.Event, error) {
	pos := "rowid"
	if s.d.postgres() {
		pos = "id"
	}
	rows, err := s.query(ctx, s.r, `SELECT key, version, kind, patient, encounter, hospital, source, at, resource, data, `+pos+`
		FROM events WHERE patient = ? AND `+pos+` > ? ORDER BY `+pos, patientKey, after)
	if err != nil {
		return nil, fmt.Errorf("events since: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var at int64
		var data []byte
		if err := rows.Scan(&e.Key, &e.Version, &e.Kind, &e.Patient, &e.Encounter, &e.Hospital, &e.Source, &at, &e.Resource, &data, &e.Position); err != nil {
			return nil, fmt.Errorf("events since: %w", err)
		}
		e.At = fromMicros(at)
		if data != nil {
			e.Data = json.RawMessage(data)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Events returns the events of a patient ordered by time, then message and position.
func (s *Store) Events(ctx context.Context, patientKey string) ([]store.Event, error) {
	rows, err := s.query(ctx, s.r, `SELECT key, version, kind, patient, encounter, hospital, source, at, resource, data
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
		if err := rows.Scan(&e.Key, &e.Version, &e.Kind, &e.Patient, &e.Encounter, &e.Hospital, &e.Source, &at, &e.Resource, &data); err != nil {
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
