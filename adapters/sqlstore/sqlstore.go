// Package sqlstore implements store.Store over database/sql for SQLite (the embedded default)
// and PostgreSQL. One implementation serves both; a small dialect covers what differs
// (placeholders, multi-row parameters, error codes, locking). The schemas live in
// migrations/<dialect>/*.sql.
//
// Times are stored as integer unix microseconds, UTC, on both databases, so they sort and
// compare in plain SQL; they come back as time.Time in UTC.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lujing-health/lujing/adapters/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store over SQLite or PostgreSQL.
type Store struct {
	d dialect
	// w takes every write. On SQLite it holds a single connection: SQLite has one writer at a
	// time, and queueing writers in Go is cheaper than having them retry on SQLITE_BUSY.
	w *sql.DB
	// r serves reads. On SQLite it is a separate pool (WAL lets readers run beside the
	// writer); on PostgreSQL it is the same pool as w.
	r *sql.DB
	// async takes the writes that the next run redoes if a crash loses them (completions,
	// pokes, derived core state). On PostgreSQL its sessions commit without waiting for the WAL
	// flush (synchronous_commit = off), which a SET LOCAL in every such transaction cost a
	// round trip each; on SQLite it is w.
	async *sql.DB
}

// dialect is what differs between the two databases.
type dialect struct {
	name string // "sqlite" or "postgres": also the migrations folder
}

var (
	sqliteDialect   = dialect{name: "sqlite"}
	postgresDialect = dialect{name: "postgres"}
)

// sqliteMaxParams is SQLite's bound on the bind parameters of one statement.
const sqliteMaxParams = 32766

func (d dialect) postgres() bool { return d.name == "postgres" }

// rebind turns the ? placeholders the queries are written with into $1, $2… for PostgreSQL.
// No query in this package has a literal '?'.
func (d dialect) rebind(q string) string {
	if !d.postgres() {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + len(q)/4)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// isUnique reports whether err is a unique or primary key violation.
func (d dialect) isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// OpenSQLite opens (creating it if needed) the database <dir>/lujing.db and migrates it.
func OpenSQLite(ctx context.Context, dir string) (*Store, error) {
	path := filepath.Join(dir, "lujing.db")
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("open sqlite: %q: the driver reads what follows '?' as options", path)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// synchronous=NORMAL in WAL mode: a commit survives a crash of the process; only a power
	// loss may lose the last commits, never corrupt the database.
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	// _txlock=immediate: a write transaction takes the write lock at BEGIN, so another process
	// writing to the same file makes it wait (busy_timeout) instead of failing at first write.
	w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	s := &Store{d: sqliteDialect, w: w, r: w, async: w}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	// The read pool opens after migrating, when the file exists and is in WAL mode.
	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	return s, nil
}

// OpenPostgres connects to the database at url (a postgres:// URL or a key=value string, as pgx
// accepts) and migrates it. Several processes may open the same database at once.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// A prepared statement first run on near-empty tables gets a generic plan (a sequential scan
	// of resources, say) that it keeps until autovacuum analyzes them, while the tables grow:
	// a fresh install taking its first large load would crawl. Planning each run costs little.
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	acfg := cfg.Copy()
	acfg.RuntimeParams["synchronous_commit"] = "off"
	db, async := stdlib.OpenDB(*cfg), stdlib.OpenDB(*acfg)
	// Keep idle connections: the default of 2 makes a busy server reconnect all the time.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	async.SetMaxOpenConns(16)
	async.SetMaxIdleConns(16)
	async.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{d: postgresDialect, w: db, r: db, async: async}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name, err)
	}
	for _, db := range []*sql.DB{s.r, s.async} {
		if db == s.w {
			continue
		}
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s: %w", s.d.name, err)
		}
	}
	return nil
}

// Close closes the pools.
func (s *Store) Close() error {
	var errs []error
	for _, db := range []*sql.DB{s.r, s.async} {
		if db != s.w {
			errs = append(errs, db.Close())
		}
	}
	if !s.d.postgres() {
		// SQLite keeps its query planner statistics fresh this way; cheap when nothing changed.
		_, err := s.w.Exec("PRAGMA optimize")
		errs = append(errs, err)
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close %s: %w", s.d.name, err)
	}
	return nil
}

// exec, query and queryRow run a query written with ? placeholders on a pool or transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, s.d.rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.d.rebind(query), args...)
}

// inTx runs fn in a write transaction and commits it, or rolls back when fn fails.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.inTxOn(ctx, s.w, fn)
}

// inTxOn is inTx on the pool db: s.w, or s.async for what a crash may lose.
func (s *Store) inTxOn(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Times are unix microseconds in UTC. Optional times are NULL when zero.

func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
}

// now is the server time of a write, at the precision the database keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// placeholders returns "(?,?,?),(?,?,?)…": rows groups of cols placeholders.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// limitOr returns limit, or def when limit is not positive.
func limitOr(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return limit
}

// batch is a row source for one statement: the rows of a multi-row insert, the list of an
// IN (…), a CTE's rows. It goes after INSERT INTO t (columns), inside IN ( ) or AS ( ).
type batch struct {
	rows string
	args []any
}

// batches turns rows (each one value per column, the columns of PostgreSQL types pgTypes) into
// row sources. SQLite gets VALUES lists, cut to fit its bound on bind parameters. PostgreSQL
// gets one array per column expanded by unnest: a single statement whatever the number of
// rows, with the same text every time, so pgx prepares it once per connection.
func (s *Store) batches(pgTypes []string, rows [][]any) []batch {
	if len(rows) == 0 {
		return nil
	}
	cols := len(pgTypes)
	if s.d.postgres() {
		arrays := make([]any, cols)
		casts := make([]string, cols)
		for c, typ := range pgTypes {
			column := make([]any, len(rows))
			for r, row := range rows {
				column[r] = row[c]
			}
			arrays[c] = column
			casts[c] = "?::" + typ + "[]"
		}
		return []batch{{rows: "SELECT * FROM unnest(" + strings.Join(casts, ", ") + ")", args: arrays}}
	}
	var out []batch
	per := sqliteMaxParams / cols
	for lo := 0; lo < len(rows); lo += per {
		hi := min(lo+per, len(rows))
		args := make([]any, 0, cols*(hi-lo))
		for _, row := range rows[lo:hi] {
			args = append(args, row...)
		}
		out = append(out, batch{rows: "VALUES " + placeholders(hi-lo, cols), args: args})
	}
	return out
}

// anyOf returns the conditions that col is one of the values, each the first element of a
// row: on PostgreSQL one "col = ANY(?::pgType[])", which plans in a third of the time of IN
// (SELECT … FROM unnest(…)); on SQLite "col IN (VALUES …)" batches.
func (s *Store) anyOf(col, pgType string, rows [][]any) []batch {
	if len(rows) == 0 {
		return nil
	}
	if s.d.postgres() {
		vals := make([]any, len(rows))
		for i, row := range rows {
			vals[i] = row[0]
		}
		return []batch{{rows: col + " = ANY(?::" + pgType + "[])", args: []any{vals}}}
	}
	bs := s.batches([]string{pgType}, rows)
	for i := range bs {
		bs[i].rows = col + " IN (" + bs[i].rows + ")"
	}
	return bs
}
