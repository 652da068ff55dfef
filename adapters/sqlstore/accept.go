package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

// Accept stores the entries in one transaction. It reads the current rows of all the
// resources named in one statement, decides every outcome in memory (so an entry sees the
// effect of an earlier entry for the same resource), then writes with one multi-row statement
// per table. A Bundle of 100 costs a handful of round trips, not hundreds.
func (s *Store) Accept(ctx context.Context, in []store.Incoming) ([]store.Result, error) {
	if len(in) == 0 {
		return nil, nil
	}
	for _, e := range in {
		if e.Type == "" || e.ID == "" || strings.Contains(e.Type, "/") || strings.Contains(e.ID, "/") {
			return nil, fmt.Errorf("accept %s/%s: resource type and id must be non-empty, without '/'", e.Type, e.ID)
		}
	}
	var res []store.Result
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = s.accept(ctx, tx, in)
		return err
	})
	if err != nil {
		if len(in) == 1 {
			return nil, fmt.Errorf("accept %s/%s: %w", in[0].Type, in[0].ID, err)
		}
		return nil, fmt.Errorf("accept %d resources: %w", len(in), err)
	}
	return res, nil
}

type resourceKey struct{ typ, id string }

// current is a resources row as this Accept call sees it, including its own earlier entries.
type current struct {
	version       int // current version
	lastVersion   int // highest version handed out, stale ones included
	hash          string
	lastUpdated   int64
	sourceUpdated sql.NullInt64
	messageID     int64 // 0 until the insert returns it, when msg >= 0
	msg           int   // index in the call's new messages of the current version, or -1
	deleted       bool
	source        string
	patientKey    string
	dirty         bool // to be written back
}

// newMessage is a messages row to insert for entry in.
type newMessage struct {
	in         *store.Incoming
	version    int
	status     store.Status
	result     int    // index in the results
	patientKey string // in.PatientKey, or for a delete the deleted resource's
}

type identifierKey struct{ typ, system, value string }

func (s *Store) accept(ctx context.Context, tx *sql.Tx, in []store.Incoming) ([]store.Result, error) {
	var keys []resourceKey
	seen := make(map[resourceKey]bool, len(in))
	for _, e := range in {
		k := resourceKey{e.Type, e.ID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if err := s.lockResources(ctx, tx, keys); err != nil {
		return nil, fmt.Errorf("lock resources: %w", err)
	}
	state, err := s.loadCurrent(ctx, tx, keys)
	if err != nil {
		return nil, fmt.Errorf("read current versions: %w", err)
	}

	// Taken after the locks: a call that waited for another's resources stamps its versions later.
	at := now()
	res := make([]store.Result, len(in))
	msgs := make([]newMessage, 0, len(in))
	idents := map[identifierKey]string{}
	for i := range in {
		e := &in[i]
		k := resourceKey{e.Type, e.ID}
		cur := state[k]
		switch {
		case cur != nil && !cur.deleted && !e.Delete && cur.hash == e.Hash:
			res[i] = store.Result{VersionID: cur.version, Outcome: store.OutcomeUnchanged, LastUpdated: fromMicros(cur.lastUpdated)}

		case cur != nil && !e.SourceUpdated.IsZero() && cur.sourceUpdated.Valid && micros(e.SourceUpdated) < cur.sourceUpdated.Int64:
			// Kept for the record under a version number of its own; the current row only
			// remembers that the number is taken.
			cur.lastVersion++
			cur.dirty = true
			msgs = append(msgs, newMessage{in: e, version: cur.lastVersion, status: store.StatusReceived, result: i, patientKey: e.PatientKey})
			res[i] = store.Result{VersionID: cur.lastVersion, Outcome: store.OutcomeStale, LastUpdated: at, PatientKey: e.PatientKey}

		default:
			outcome := store.OutcomeUpdated
			key := e.PatientKey
			if e.Delete && cur != nil && cur.patientKey != "" {
				// A delete names no patient; it belongs with the patient's other messages, in
				// their order, and is filed under them.
				key = cur.patientKey
			}
			if cur == nil {
				cur = &current{}
				state[k] = cur
				outcome = store.OutcomeCreated
			}
			if e.Delete {
				outcome = store.OutcomeDeleted
			}
			cur.lastVersion++
			*cur = current{
				version:       cur.lastVersion,
				lastVersion:   cur.lastVersion,
				hash:          e.Hash,
				lastUpdated:   micros(at),
				sourceUpdated: sql.NullInt64{Int64: micros(e.SourceUpdated), Valid: !e.SourceUpdated.IsZero()},
				msg:           len(msgs),
				deleted:       e.Delete,
				source:        e.Source,
				patientKey:    key,
				dirty:         true,
			}
			msgs = append(msgs, newMessage{in: e, version: cur.version, status: store.StatusReceived, result: i, patientKey: key})
			res[i] = store.Result{VersionID: cur.version, Outcome: outcome, LastUpdated: at, PatientKey: key}
			for _, id := range e.Identifiers {
				idents[identifierKey{e.Type, id.System, id.Value}] = e.ID
			}
		}
	}

	ids, err := s.insertMessages(ctx, tx, msgs, at)
	if err != nil {
		return nil, fmt.Errorf("insert messages: %w", err)
	}
	for i, m := range msgs {
		res[m.result].MessageID = ids[i]
	}
	if err := s.writeResources(ctx, tx, keys, state, ids); err != nil {
		return nil, fmt.Errorf("write resources: %w", err)
	}
	if err := s.writeIdentifiers(ctx, tx, idents); err != nil {
		return nil, fmt.Errorf("write identifiers: %w", err)
	}
	return res, nil
}

// lockResources serialises, on PostgreSQL, concurrent Accepts of the same resource until
// commit: both would otherwise read the same current version and hand out the same next one.
// The keys are locked in sorted order, so two calls cannot deadlock. (SQLite needs nothing:
// the write transaction holds the database's only write lock.)
func (s *Store) lockResources(ctx context.Context, tx *sql.Tx, keys []resourceKey) error {
	if !s.d.postgres() {
		return nil
	}
	locks := make([]int64, len(keys))
	for i, k := range keys {
		h := fnv.New64a()
		h.Write([]byte(k.typ + "/" + k.id))
		locks[i] = int64(h.Sum64())
	}
	slices.Sort(locks)
	locks = slices.Compact(locks)
	// unnest yields the keys in array order, so they are taken in order.
	_, err := s.exec(ctx, tx, "SELECT pg_advisory_xact_lock(k) FROM unnest(?::bigint[]) AS k", locks)
	return err
}

func (s *Store) loadCurrent(ctx context.Context, tx *sql.Tx, keys []resourceKey) (map[resourceKey]*current, error) {
	state := make(map[resourceKey]*current, len(keys))
	rows := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = []any{k.typ, k.id}
	}
	for _, b := range s.batches([]string{"text", "text"}, rows) {
		if err := s.loadBatch(ctx, tx, b, state); err != nil {
			return nil, err
		}
	}
	return state, nil
}

func (s *Store) loadBatch(ctx context.Context, tx *sql.Tx, b batch, state map[resourceKey]*current) error {
	rows, err := s.query(ctx, tx, `SELECT resource_type, resource_id, version_id, last_version, hash,
		last_updated, source_updated, message_id, deleted, source, patient_key
		FROM resources WHERE (resource_type, resource_id) IN (`+b.rows+`)`, b.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k resourceKey
		c := &current{msg: -1}
		if err := rows.Scan(&k.typ, &k.id, &c.version, &c.lastVersion, &c.hash, &c.lastUpdated,
			&c.sourceUpdated, &c.messageID, &c.deleted, &c.source, &c.patientKey); err != nil {
			return err
		}
		state[k] = c
	}
	return rows.Err()
}

// messageTypes are the PostgreSQL types of the columns insertMessages writes.
var messageTypes = []string{"text", "text", "text", "text", "int", "text", "bytea", "boolean", "text", "bigint", "bigint", "text"}

// insertMessages inserts msgs and returns their ids, in the same order.
func (s *Store) insertMessages(ctx context.Context, tx *sql.Tx, msgs []newMessage, at time.Time) ([]int64, error) {
	rows := make([][]any, len(msgs))
	index := make(map[versionKey]int, len(msgs))
	for i, m := range msgs {
		e := m.in
		var body any // NULL for a delete, not an empty blob
		if e.Body != nil {
			body = e.Body
		}
		rows[i] = []any{e.Source, e.Hospital, e.Type, e.ID, m.version, e.Hash, body, e.Delete,
			m.patientKey, micros(at), nullMicros(e.SourceUpdated), string(m.status)}
		index[versionKey{resourceKey{e.Type, e.ID}, m.version}] = i
	}
	ids := make([]int64, len(msgs))
	for _, b := range s.batches(messageTypes, rows) {
		// Rows come back in no promised order: match them by (type, id, version), unique.
		if err := s.insertMessageBatch(ctx, tx, b, index, ids); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

type versionKey struct {
	resourceKey
	version int
}

func (s *Store) insertMessageBatch(ctx context.Context, tx *sql.Tx, b batch, index map[versionKey]int, ids []int64) error {
	rows, err := s.query(ctx, tx, `INSERT INTO messages (source, hospital, resource_type, resource_id,
		version_id, hash, body, deleted, patient_key, received_at, source_updated, status)
		`+b.rows+` RETURNING id, resource_type, resource_id, version_id`, b.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k versionKey
		if err := rows.Scan(&id, &k.typ, &k.id, &k.version); err != nil {
			return err
		}
		ids[index[k]] = id
	}
	return rows.Err()
}

var resourceTypes = []string{"text", "text", "int", "int", "text", "bigint", "bigint", "bigint", "boolean", "text", "text"}

// writeResources writes back the rows the call changed, in one upsert. Each key appears once:
// PostgreSQL refuses an upsert that touches a row twice.
func (s *Store) writeResources(ctx context.Context, tx *sql.Tx, keys []resourceKey, state map[resourceKey]*current, ids []int64) error {
	var rows [][]any
	for _, k := range keys {
		c := state[k]
		if !c.dirty {
			continue
		}
		if c.msg >= 0 {
			c.messageID = ids[c.msg]
		}
		rows = append(rows, []any{k.typ, k.id, c.version, c.lastVersion, c.hash, c.lastUpdated,
			c.sourceUpdated, c.messageID, c.deleted, c.source, c.patientKey})
	}
	for _, b := range s.batches(resourceTypes, rows) {
		_, err := s.exec(ctx, tx, `INSERT INTO resources (resource_type, resource_id, version_id,
			last_version, hash, last_updated, source_updated, message_id, deleted, source, patient_key)
			`+b.rows+`
			ON CONFLICT (resource_type, resource_id) DO UPDATE SET
				version_id = excluded.version_id, last_version = excluded.last_version,
				hash = excluded.hash, last_updated = excluded.last_updated,
				source_updated = excluded.source_updated, message_id = excluded.message_id,
				deleted = excluded.deleted, source = excluded.source, patient_key = excluded.patient_key`, b.args...)
		if err != nil {
			return err
		}
	}
	return nil
}

// writeIdentifiers points each identifier at the resource that last carried it. Sorted, so
// concurrent calls on PostgreSQL lock the rows in the same order.
func (s *Store) writeIdentifiers(ctx context.Context, tx *sql.Tx, idents map[identifierKey]string) error {
	keys := make([]identifierKey, 0, len(idents))
	for k := range idents {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b identifierKey) int {
		return cmp.Or(strings.Compare(a.typ, b.typ), strings.Compare(a.system, b.system), strings.Compare(a.value, b.value))
	})
	rows := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = []any{k.typ, k.system, k.value, idents[k]}
	}
	for _, b := range s.batches([]string{"text", "text", "text", "text"}, rows) {
		_, err := s.exec(ctx, tx, `INSERT INTO identifiers (resource_type, system, value, resource_id)
			`+b.rows+`
			ON CONFLICT (resource_type, system, value) DO UPDATE SET resource_id = excluded.resource_id`, b.args...)
		if err != nil {
			return err
		}
	}
	return nil
}
