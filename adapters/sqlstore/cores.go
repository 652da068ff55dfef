package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

var _ store.CoreStore = (*Store)(nil)

// streamLock is the advisory lock key (two-int4 form) PostgreSQL writers of the stream take,
// so that stream ids commit in id order.
const streamLock1, streamLock2 = 0x4c756a69, 2

func (s *Store) CoreState(ctx context.Context, core, patient string) (store.CoreState, error) {
	c := store.CoreState{Core: core, Patient: patient}
	var wake, dirty sql.NullInt64
	err := s.queryRow(ctx, s.r, `SELECT state, version, wake, digest, dirty FROM core_state WHERE core = ? AND patient = ?`, core, patient).
		Scan(&c.State, &c.Version, &wake, &c.Digest, &dirty)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("core state %s %s: %w", core, patient, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("core state: %w", err)
	}
	c.Wake, c.Dirty = fromNullMicros(wake), fromNullMicros(dirty)
	return c, nil
}

func (s *Store) SaveCore(ctx context.Context, c store.CoreSave) ([]store.StreamEvent, error) {
	events := append([]store.StreamEvent(nil), c.Events...)
	at := now()
	db := s.w
	if !c.Durable && len(events) == 0 {
		db = s.async // derived state the next run recomputes: no wait for the WAL flush
	}
	err := s.inTxOn(ctx, db, func(tx *sql.Tx) error {
		if c.Version == 0 {
			_, err := s.exec(ctx, tx, `INSERT INTO core_state (core, patient, state, version, wake, digest) VALUES (?, ?, ?, 1, ?, ?)`,
				c.Core, c.Patient, c.State, nullMicros(c.Wake), c.Digest)
			if s.d.isUnique(err) {
				return store.ErrConflict
			}
			if err != nil {
				return err
			}
		} else {
			clean, args := "", []any{c.State, nullMicros(c.Wake), c.Digest}
			switch {
			case c.Clean && !c.CleanIf.IsZero():
				clean = ", dirty = CASE WHEN dirty = ? THEN NULL ELSE dirty END"
				args = append(args, micros(c.CleanIf))
			case c.Clean:
				clean = ", dirty = NULL"
			}
			args = append(args, c.Core, c.Patient, c.Version)
			res, err := s.exec(ctx, tx, `UPDATE core_state SET state = ?, version = version + 1, wake = ?, digest = ?`+clean+`
				WHERE core = ? AND patient = ? AND version = ?`, args...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return store.ErrConflict
			}
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM records WHERE core = ? AND patient = ?`, c.Core, c.Patient); err != nil {
			return err
		}
		for _, r := range c.Records {
			_, err := s.exec(ctx, tx, `INSERT INTO records (kind, id, core, patient, encounter, department, status, hospital, opened, closed, body, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.Kind, r.ID, c.Core, c.Patient, r.Encounter, r.Department, r.Status, r.Hospital, micros(r.Opened), nullMicros(r.Closed), r.Body, micros(at))
			if s.d.isUnique(err) {
				return fmt.Errorf("record %s %s belongs to another patient or core: %w", r.Kind, r.ID, store.ErrConflict)
			}
			if err != nil {
				return err
			}
		}
		if err := s.saveMeasures(ctx, tx, c); err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		hooks, err := s.webhooks(ctx, tx)
		if err != nil {
			return err
		}
		if s.d.postgres() {
			if _, err := s.exec(ctx, tx, "SELECT pg_advisory_xact_lock(?, ?)", streamLock1, streamLock2); err != nil {
				return err
			}
		}
		for i := range events {
			e := &events[i]
			if err := s.queryRow(ctx, tx, `INSERT INTO stream (name, record, patient, department, at, data) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
				e.Name, e.Record, e.Patient, e.Department, micros(e.At), e.Data).Scan(&e.ID); err != nil {
				return err
			}
			for _, h := range hooks {
				if !subscribed(h, *e) {
					continue
				}
				if _, err := s.exec(ctx, tx, `INSERT INTO deliveries (webhook, event, status, attempts, next_at, last_error, last_status, updated_at)
					VALUES (?, ?, ?, 0, ?, '', 0, ?)`, h.ID, e.ID, store.DeliveryPending, micros(at), micros(at)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("save %s %s: %w", c.Core, c.Patient, err)
	}
	if err != nil {
		return nil, fmt.Errorf("save %s %s: %w", c.Core, c.Patient, err)
	}
	return events, nil
}

// subscribed reports whether the webhook wants the event.
func subscribed(h store.Webhook, e store.StreamEvent) bool {
	if len(h.Departments) > 0 && !contains(h.Departments, e.Department) {
		return false
	}
	if len(h.Events) == 0 {
		return true
	}
	for _, p := range h.Events {
		if strings.HasPrefix(e.Name, p) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Store) Wakes(ctx context.Context, limit int) ([]store.CoreState, error) {
	return s.coreStates(ctx, `WHERE wake IS NOT NULL OR dirty IS NOT NULL LIMIT ?`, limitOr(limit, 10000))
}

func (s *Store) PatientCores(ctx context.Context, patient string) ([]store.CoreState, error) {
	return s.coreStates(ctx, `WHERE patient = ? ORDER BY core`, patient)
}

func (s *Store) coreStates(ctx context.Context, where string, args ...any) ([]store.CoreState, error) {
	rows, err := s.query(ctx, s.r, `SELECT core, patient, version, wake, dirty FROM core_state `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("core states: %w", err)
	}
	defer rows.Close()
	var out []store.CoreState
	for rows.Next() {
		var c store.CoreState
		var wake, dirty sql.NullInt64
		if err := rows.Scan(&c.Core, &c.Patient, &c.Version, &wake, &dirty); err != nil {
			return nil, fmt.Errorf("core states: %w", err)
		}
		c.Wake, c.Dirty = fromNullMicros(wake), fromNullMicros(dirty)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) Poke(ctx context.Context, core, patient string, at time.Time) (bool, bool, error) {
	// A mark lost in a crash is recovered at the next start (MarkRecent): no flush wait on
	// every delivery (s.async), and no transaction around one statement.
	const mark = `UPDATE core_state SET dirty = ? WHERE core = ? AND patient = ? AND (dirty IS NULL OR dirty > ?)`
	if s.d.postgres() {
		// One round trip: whether the row exists is read beside the update.
		var moved int
		var exists bool
		err := s.queryRow(ctx, s.async, `WITH u AS (`+mark+` RETURNING 1)
			SELECT (SELECT COUNT(*) FROM u), EXISTS (SELECT 1 FROM core_state WHERE core = ? AND patient = ?)`,
			micros(at), core, patient, micros(at), core, patient).Scan(&moved, &exists)
		if err != nil {
			return false, false, fmt.Errorf("poke %s %s: %w", core, patient, err)
		}
		return exists, moved > 0, nil
	}
	res, err := s.exec(ctx, s.async, mark, micros(at), core, patient, micros(at))
	if err != nil {
		return false, false, fmt.Errorf("poke %s %s: %w", core, patient, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, false, fmt.Errorf("poke %s %s: %w", core, patient, err)
	} else if n > 0 {
		return true, true, nil
	}
	var one int
	err = s.queryRow(ctx, s.r, `SELECT 1 FROM core_state WHERE core = ? AND patient = ?`, core, patient).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("poke %s %s: %w", core, patient, err)
	}
	return true, false, nil
}

const recordColumns = `kind, id, core, patient, encounter, department, status, hospital, opened, closed, body, updated_at`

func scanRecord(sc scanner) (store.Record, error) {
	var r store.Record
	var opened, updated int64
	var closed sql.NullInt64
	err := sc.Scan(&r.Kind, &r.ID, &r.Core, &r.Patient, &r.Encounter, &r.Department, &r.Status, &r.Hospital, &opened, &closed, &r.Body, &updated)
	r.Opened, r.Closed, r.UpdatedAt = fromMicros(opened), fromNullMicros(closed), fromMicros(updated)
	return r, err
}

func (s *Store) Record(ctx context.Context, kind, id string) (store.Record, error) {
	r, err := scanRecord(s.queryRow(ctx, s.r, `SELECT `+recordColumns+` FROM records WHERE kind = ? AND id = ?`, kind, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%s %s: %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("record %s %s: %w", kind, id, err)
	}
	return r, nil
}

func (s *Store) Records(ctx context.Context, f store.RecordFilter) ([]store.Record, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.Patient != "" {
		add("patient = ?", f.Patient)
	}
	if f.Encounter != "" {
		add("encounter = ?", f.Encounter)
	}
	if f.Department != "" {
		add("department = ?", f.Department)
	}
	in := func(col string, vals []string) {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")
		a := make([]any, len(vals))
		for i, v := range vals {
			a[i] = v
		}
		add(col+" IN ("+ph+")", a...)
	}
	if len(f.Statuses) > 0 {
		in("status", f.Statuses)
	}
	if len(f.Departments) > 0 {
		in("department", f.Departments)
	}
	if f.OpenOnly {
		add("closed IS NULL")
	}
	if !f.OpenedFrom.IsZero() {
		add("opened >= ?", micros(f.OpenedFrom))
	}
	if !f.OpenedTo.IsZero() {
		add("opened < ?", micros(f.OpenedTo))
	}
	q := `SELECT ` + recordColumns + ` FROM records`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY opened DESC, kind, id LIMIT ?"
	args = append(args, limitOr(f.Limit, 500))
	rows, err := s.query(ctx, s.r, q, args...)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []store.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) Stream(ctx context.Context, after int64, limit int) ([]store.StreamEvent, error) {
	rows, err := s.query(ctx, s.r, `SELECT id, name, record, patient, department, at, data FROM stream WHERE id > ? ORDER BY id LIMIT ?`, after, limitOr(limit, 500))
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	defer rows.Close()
	var out []store.StreamEvent
	for rows.Next() {
		var e store.StreamEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.Name, &e.Record, &e.Patient, &e.Department, &at, &e.Data); err != nil {
			return nil, fmt.Errorf("stream: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) StreamHead(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := s.queryRow(ctx, s.r, `SELECT MAX(id) FROM stream`).Scan(&id); err != nil {
		return 0, fmt.Errorf("stream head: %w", err)
	}
	return id.Int64, nil
}

func (s *Store) PutWebhook(ctx context.Context, w store.Webhook) error {
	events, _ := json.Marshal(nonNil(w.Events))
	depts, _ := json.Marshal(nonNil(w.Departments))
	if w.CreatedAt.IsZero() {
		w.CreatedAt = now()
	}
	_, err := s.exec(ctx, s.w, `INSERT INTO webhooks (id, name, url, secret, events, departments, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, url = excluded.url, secret = excluded.secret,
		events = excluded.events, departments = excluded.departments`,
		w.ID, w.Name, w.URL, w.Secret, string(events), string(depts), micros(w.CreatedAt))
	if err != nil {
		return fmt.Errorf("put webhook: %w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Store) Webhooks(ctx context.Context) ([]store.Webhook, error) { return s.webhooks(ctx, s.r) }

func (s *Store) webhooks(ctx context.Context, q querier) ([]store.Webhook, error) {
	rows, err := s.query(ctx, q, `SELECT id, name, url, secret, events, departments, created_at FROM webhooks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	defer rows.Close()
	var out []store.Webhook
	for rows.Next() {
		var w store.Webhook
		var events, depts string
		var created int64
		if err := rows.Scan(&w.ID, &w.Name, &w.URL, &w.Secret, &events, &depts, &created); err != nil {
			return nil, fmt.Errorf("webhooks: %w", err)
		}
		_ = json.Unmarshal([]byte(events), &w.Events)
		_ = json.Unmarshal([]byte(depts), &w.Departments)
		w.CreatedAt = fromMicros(created)
		out = append(out, w)
	}
	return out, rows.Err()
}

func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	res, err := s.exec(ctx, s.w, `DELETE FROM webhooks WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("webhook %s: %w", id, store.ErrNotFound)
	}
	// Its pending deliveries go with it; delivered and dead ones stay as history.
	_, err = s.exec(ctx, s.w, `DELETE FROM deliveries WHERE webhook = ? AND status = ?`, id, store.DeliveryPending)
	return err
}

const deliveryColumns = `d.id, d.webhook, d.status, d.attempts, d.next_at, d.last_error, d.last_status, d.updated_at,
	e.id, e.name, e.record, e.patient, e.department, e.at, e.data`

func scanDelivery(sc scanner) (store.Delivery, error) {
	var d store.Delivery
	var next, updated, at int64
	err := sc.Scan(&d.ID, &d.Webhook, &d.Status, &d.Attempts, &next, &d.LastError, &d.LastStatus, &updated,
		&d.Event.ID, &d.Event.Name, &d.Event.Record, &d.Event.Patient, &d.Event.Department, &at, &d.Event.Data)
	d.NextAt, d.UpdatedAt, d.Event.At = fromMicros(next), fromMicros(updated), fromMicros(at)
	return d, err
}

func (s *Store) deliveries(ctx context.Context, where string, args ...any) ([]store.Delivery, error) {
	rows, err := s.query(ctx, s.r, `SELECT `+deliveryColumns+` FROM deliveries d JOIN stream e ON e.id = d.event `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Store) DueDeliveries(ctx context.Context, at time.Time, limit int) ([]store.Delivery, error) {
	return s.deliveries(ctx, `WHERE d.status = ? AND d.next_at <= ? ORDER BY d.next_at, d.id LIMIT ?`,
		store.DeliveryPending, micros(at), limitOr(limit, 100))
}

func (s *Store) Deliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error) {
	where, args := "WHERE 1 = 1", []any{}
	if f.Status != "" {
		where += " AND d.status = ?"
		args = append(args, f.Status)
	}
	if f.Webhook != "" {
		where += " AND d.webhook = ?"
		args = append(args, f.Webhook)
	}
	return s.deliveries(ctx, where+" ORDER BY d.id DESC LIMIT ?", append(args, limitOr(f.Limit, 100))...)
}

func (s *Store) SettleDelivery(ctx context.Context, d store.Delivery) error {
	res, err := s.exec(ctx, s.w, `UPDATE deliveries SET status = ?, attempts = ?, next_at = ?, last_error = ?, last_status = ?, updated_at = ? WHERE id = ?`,
		d.Status, d.Attempts, micros(d.NextAt), d.LastError, d.LastStatus, micros(now()), d.ID)
	if err != nil {
		return fmt.Errorf("settle delivery %d: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delivery %d: %w", d.ID, store.ErrNotFound)
	}
	return nil
}

func (s *Store) RetryDelivery(ctx context.Context, id int64, at time.Time) (store.Delivery, error) {
	res, err := s.exec(ctx, s.w, `UPDATE deliveries SET status = ?, next_at = ?, updated_at = ? WHERE id = ? AND status <> ?`,
		store.DeliveryPending, micros(at), micros(now()), id, store.DeliveryDelivered)
	if err != nil {
		return store.Delivery{}, fmt.Errorf("retry delivery %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		ds, err := s.deliveries(ctx, `WHERE d.id = ?`, id)
		if err != nil {
			return store.Delivery{}, err
		}
		if len(ds) == 0 {
			return store.Delivery{}, fmt.Errorf("delivery %d: %w", id, store.ErrNotFound)
		}
		return ds[0], fmt.Errorf("delivery %d was delivered: %w", id, store.ErrConflict)
	}
	ds, err := s.deliveries(ctx, `WHERE d.id = ?`, id)
	if err != nil || len(ds) == 0 {
		return store.Delivery{}, fmt.Errorf("retry delivery %d: %w", id, err)
	}
	return ds[0], nil
}

func (s *Store) MarkRecent(ctx context.Context, since, at time.Time) (int64, error) {
	// The last million messages by id bound the scan (no index on processed_at: it would cost
	// every completion); that is minutes of the busiest traffic.
	res, err := s.exec(ctx, s.w, `UPDATE core_state SET dirty = ? WHERE (dirty IS NULL OR dirty > ?) AND patient IN
		(SELECT DISTINCT patient_key FROM messages WHERE id > (SELECT COALESCE(MAX(id), 0) - 1000000 FROM messages) AND processed_at >= ?)`,
		micros(at), micros(at), micros(since))
	if err != nil {
		return 0, fmt.Errorf("mark recent: %w", err)
	}
	return res.RowsAffected()
}

func (s *Store) DueMarks(ctx context.Context, now time.Time, limit int) ([]store.CoreState, error) {
	return s.coreStates(ctx, `WHERE dirty IS NOT NULL AND dirty <= ? ORDER BY dirty LIMIT ?`, micros(now), limitOr(limit, 100))
}

func (s *Store) ClaimMark(ctx context.Context, core, patient string, was, until time.Time) (bool, error) {
	// A claim lost in a crash leaves the mark due: it is run again, as a claim whose run died.
	res, err := s.exec(ctx, s.async, `UPDATE core_state SET dirty = ? WHERE core = ? AND patient = ? AND dirty = ?`,
		micros(until), core, patient, micros(was))
	if err != nil {
		return false, fmt.Errorf("claim %s %s: %w", core, patient, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
