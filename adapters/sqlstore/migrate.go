package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations are migrations/<dialect>/<version>_<name>.sql, applied in version order, each in
// its own transaction with its row in schema_migrations. Never edit one that has shipped: add
// the next.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(dialect string) ([]migration, error) {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be <version>_<name>.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrationLock is the PostgreSQL advisory lock key (two int4 form, a key space apart from the
// bigint keys Accept locks) that serialises migrations of processes starting at once.
const migrationLock1, migrationLock2 = 0x4c756a69, 1 // "Luji"

func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.d.name)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", s.d.name, err)
	}
	for _, m := range ms {
		if err := s.inTx(ctx, func(tx *sql.Tx) error { return s.applyMigration(ctx, tx, m, ms) }); err != nil {
			return fmt.Errorf("migrate %s %s: %w", s.d.name, m.name, err)
		}
	}
	return nil
}

// applyMigration applies m unless schema_migrations already records it. It runs under a lock:
// the advisory lock on PostgreSQL, the write lock of BEGIN IMMEDIATE on SQLite, so two
// processes never apply the same migration.
func (s *Store) applyMigration(ctx context.Context, tx *sql.Tx, m migration, all []migration) error {
	if s.d.postgres() {
		if _, err := s.exec(ctx, tx, "SELECT pg_advisory_xact_lock(?, ?)", migrationLock1, migrationLock2); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL)`); err != nil {
		return err
	}
	var newest sql.NullInt64
	if err := s.queryRow(ctx, tx, "SELECT MAX(version) FROM schema_migrations").Scan(&newest); err != nil {
		return err
	}
	// A database migrated by a newer binary may hold a schema this one does not understand.
	if known := all[len(all)-1].version; newest.Int64 > int64(known) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d)", newest.Int64, known)
	}
	var n int
	if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	// The file goes as it is (not rebound): it may hold several statements, and '?' in comments.
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	_, err := s.exec(ctx, tx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, micros(now()))
	return err
}
