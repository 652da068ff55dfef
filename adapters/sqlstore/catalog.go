package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lujing-health/lujing/adapters/store"
)

type unmappedKey struct{ system, code, source string }

// unmappedCounts gathers the unmapped codes of the verdicts of one CompleteAll, so each code
// is written once: PostgreSQL refuses an upsert that touches a row twice.
type unmappedCounts map[unmappedKey]*unmappedCount

type unmappedCount struct {
	display string // the latest non-empty
	n       int64
}

// add counts the codes of one verdict on a message of source: once each, however often the
// verdict lists it. A code without a code is not counted.
func (u unmappedCounts) add(source string, codes []store.Code) {
	var seen map[unmappedKey]bool
	for _, c := range codes {
		if c.Code == "" {
			continue
		}
		k := unmappedKey{c.System, c.Code, source}
		e := u[k]
		if e == nil {
			e = &unmappedCount{}
			u[k] = e
		}
		if c.Display != "" {
			e.display = c.Display
		}
		if seen[k] {
			continue
		}
		if seen == nil {
			seen = make(map[unmappedKey]bool, len(codes))
		}
		seen[k] = true
		e.n++
	}
}

var unmappedTypes = []string{"text", "text", "text", "text", "bigint", "bigint", "bigint"}

// countUnmapped adds the counts to unmapped_codes, at the time at. Sorted, so concurrent
// calls on PostgreSQL lock the rows in the same order.
func (s *Store) countUnmapped(ctx context.Context, tx *sql.Tx, u unmappedCounts, at int64) error {
	keys := make([]unmappedKey, 0, len(u))
	for k := range u {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b unmappedKey) int {
		return cmp.Or(strings.Compare(a.system, b.system), strings.Compare(a.code, b.code), strings.Compare(a.source, b.source))
	})
	rows := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = []any{k.system, k.code, k.source, u[k].display, u[k].n, at, at}
	}
	for _, b := range s.batches(unmappedTypes, rows) {
		_, err := s.exec(ctx, tx, `INSERT INTO unmapped_codes (system, code, source, display, count, first_seen, last_seen)
			`+b.rows+`
			ON CONFLICT (system, code, source) DO UPDATE SET
				count = unmapped_codes.count + excluded.count,
				display = CASE WHEN excluded.display <> '' THEN excluded.display ELSE unmapped_codes.display END,
				last_seen = excluded.last_seen`, b.args...)
		if err != nil {
			return err
		}
	}
	return nil
}

// UnmappedCodes lists up to limit (default 100) unmapped codes, the most frequent first, then
// by system, code and source.
func (s *Store) UnmappedCodes(ctx context.Context, limit int) ([]store.UnmappedCode, error) {
	rows, err := s.query(ctx, s.r, `SELECT system, code, display, source, count, first_seen, last_seen
		FROM unmapped_codes ORDER BY count DESC, system, code, source LIMIT ?`, limitOr(limit, defaultLimit))
	if err != nil {
		return nil, fmt.Errorf("unmapped codes: %w", err)
	}
	var out []store.UnmappedCode
	err = eachRow(rows, func(sc scanner) error {
		var c store.UnmappedCode
		var first, last int64
		if err := sc.Scan(&c.System, &c.Code, &c.Display, &c.Source, &c.Count, &first, &last); err != nil {
			return err
		}
		c.FirstSeen, c.LastSeen = fromMicros(first), fromMicros(last)
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unmapped codes: %w", err)
	}
	return out, nil
}

// PutDocument stores d, replacing the document of the same kind and id. A zero UpdatedAt is
// the current time.
func (s *Store) PutDocument(ctx context.Context, d store.Document) error {
	if d.Kind == "" || d.ID == "" {
		return fmt.Errorf("put document %s/%s: kind and id are required", d.Kind, d.ID)
	}
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = now()
	}
	body := d.Body
	if body == nil {
		body = []byte{}
	}
	_, err := s.exec(ctx, s.w, `INSERT INTO documents (kind, id, version, body, updated_at, updated_by)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, body = excluded.body,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		d.Kind, d.ID, d.Version, body, micros(d.UpdatedAt), d.UpdatedBy)
	if err != nil {
		return fmt.Errorf("put document %s/%s: %w", d.Kind, d.ID, err)
	}
	return nil
}

const documentSelect = "SELECT kind, id, version, body, updated_at, updated_by FROM documents "

func scanDocument(sc scanner) (store.Document, error) {
	var d store.Document
	var updated int64
	if err := sc.Scan(&d.Kind, &d.ID, &d.Version, &d.Body, &updated, &d.UpdatedBy); err != nil {
		return store.Document{}, err
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	d.UpdatedAt = fromMicros(updated)
	return d, nil
}

// Document returns the document of that kind and id; ErrNotFound when there is none.
func (s *Store) Document(ctx context.Context, kind, id string) (store.Document, error) {
	d, err := scanDocument(s.queryRow(ctx, s.r, documentSelect+"WHERE kind = ? AND id = ?", kind, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Document{}, fmt.Errorf("document %s/%s: %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return store.Document{}, fmt.Errorf("document %s/%s: %w", kind, id, err)
	}
	return d, nil
}

// Documents returns every document of the kind, ordered by id.
func (s *Store) Documents(ctx context.Context, kind string) ([]store.Document, error) {
	rows, err := s.query(ctx, s.r, documentSelect+"WHERE kind = ? ORDER BY id", kind)
	if err != nil {
		return nil, fmt.Errorf("documents %s: %w", kind, err)
	}
	var out []store.Document
	err = eachRow(rows, func(sc scanner) error {
		d, err := scanDocument(sc)
		if err == nil {
			out = append(out, d)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("documents %s: %w", kind, err)
	}
	return out, nil
}
