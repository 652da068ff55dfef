package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lujing-health/lujing/adapters/store"
)

func TestSQLite(t *testing.T) {
	runContract(t, func(t *testing.T) *Store { return openSQLite(t) })
}

func TestPostgres(t *testing.T) {
	postgresURL(t) // skip (or fail under CI) once, not in every subtest
	runContract(t, func(t *testing.T) *Store { return openPostgres(t) })
}

func openSQLite(t testing.TB) *Store {
	t.Helper()
	s, err := OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postgresURL returns LUJING_TEST_DATABASE_URL, skipping the test when it is unset (failing
// under CI, where PostgreSQL must be tested).
func postgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("LUJING_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("LUJING_TEST_DATABASE_URL not set under CI")
		}
		t.Skip("PostgreSQL tests skipped: set LUJING_TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return u
}

// postgresSchema creates an empty schema, dropped at the end of the test, and returns a URL
// whose connections use it.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := postgresURL(t)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("LUJING_TEST_DATABASE_URL must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown URL parameters as session settings
	u.RawQuery = q.Encode()
	return u.String()
}

func openPostgres(t testing.TB) *Store {
	t.Helper()
	u := postgresSchema(t)
	s, err := OpenPostgres(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // registered after the schema's, so it runs before the drop
	return s
}

// TestPostgresConcurrentMigrate opens the same fresh database from several stores at once, as
// processes starting together do: the advisory lock lets exactly one apply each migration.
func TestPostgresConcurrentMigrate(t *testing.T) {
	u := postgresSchema(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = OpenPostgres(t.Context(), u) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	checkMigrated(t, stores[0])
}

// TestReopen checks that migrating again is a no-op and the data stays.
func TestReopen(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		reopen(t, func() (*Store, error) { return OpenSQLite(t.Context(), dir) })
	})
	t.Run("postgres", func(t *testing.T) {
		u := postgresSchema(t)
		reopen(t, func() (*Store, error) { return OpenPostgres(t.Context(), u) })
	})
}

// TestUpgrade opens a database created and filled at schema version 1, as installed ones are:
// the later migrations apply and the old messages read and requeue like new ones.
func TestUpgrade(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		db, err := sql.Open("sqlite", filepath.Join(dir, "lujing.db")+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		upgrade(t, &Store{d: sqliteDialect, w: db, r: db, async: db}, func() (*Store, error) { return OpenSQLite(t.Context(), dir) })
	})
	t.Run("postgres", func(t *testing.T) {
		u := postgresSchema(t)
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		upgrade(t, &Store{d: postgresDialect, w: db, r: db, async: db}, func() (*Store, error) { return OpenPostgres(t.Context(), u) })
	})
}

func upgrade(t *testing.T, old *Store, open func() (*Store, error)) {
	ctx := t.Context()
	ms, err := loadMigrations(old.d.name)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.inTx(ctx, func(tx *sql.Tx) error { return old.applyMigration(ctx, tx, ms[0], ms[:1]) }); err != nil {
		t.Fatal(err)
	}
	rs := accept(t, old, res("Observation", "o1", "h"), res("Observation", "o2", "h"))
	// Parked the way version 1 parked: no flags, no waits.
	if _, err := old.exec(ctx, old.w, "UPDATE messages SET status = 'parked', error = 'w' WHERE id = ?", rs[0].MessageID); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMigrated(t, s)
	if m := message(t, s, rs[0].MessageID); m.Status != store.StatusParked || m.Flags != nil || m.Needs != nil {
		t.Fatalf("old parked message = %+v", m)
	}
	if keys, err := s.RequeueAll(ctx, store.StatusParked, ""); err != nil || len(keys) != 1 || keys[0] != "Patient/p1" {
		t.Fatalf("RequeueAll = %v, %v", keys, err)
	}
	done, err := s.CompleteAll(ctx, []store.Completion{
		{MessageID: rs[0].MessageID, Status: store.StatusParked, Needs: []string{"Encounter/e1"}, Flags: []string{"f"}},
		{MessageID: rs[1].MessageID, Status: store.StatusProcessed, Unmapped: []store.Code{{System: "s", Code: "c"}}},
	})
	if err != nil || !done[0] || !done[1] {
		t.Fatalf("CompleteAll = %v, %v", done, err)
	}
	if keys, err := s.Unpark(ctx, []string{"Encounter/e1"}); err != nil || len(keys) != 1 {
		t.Fatalf("Unpark = %v, %v", keys, err)
	}
}

func reopen(t *testing.T, open func() (*Store, error)) {
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	accept(t, s, res("Patient", "p1", "h1"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = open()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMigrated(t, s)
	wantResult(t, accept(t, s, res("Patient", "p1", "h1"))[0], store.OutcomeUnchanged, 1, false)
}

func checkMigrated(t *testing.T, s *Store) {
	t.Helper()
	ms, err := loadMigrations(s.d.name)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Fatalf("%d migrations recorded, want %d", n, len(ms))
	}
}

// TestMigrationsInStep checks that both dialects have the same migration versions.
func TestMigrationsInStep(t *testing.T) {
	lite, err := loadMigrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("%d sqlite migrations, %d postgres", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name {
			t.Fatalf("migration %d: %s (sqlite) vs %s (postgres)", i, lite[i].name, pg[i].name)
		}
	}
}

func TestRebind(t *testing.T) {
	q := "SELECT a FROM t WHERE b = ? AND c IN (?, ?)"
	if got := sqliteDialect.rebind(q); got != q {
		t.Fatalf("sqlite rebind = %q", got)
	}
	if got, want := postgresDialect.rebind(q), "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"; got != want {
		t.Fatalf("postgres rebind = %q, want %q", got, want)
	}
}

// TestPostgresCommitModes: what the next run redoes commits without waiting for the WAL flush;
// what a sender was told is stored waits for it.
func TestPostgresCommitModes(t *testing.T) {
	s := openPostgres(t)
	for _, c := range []struct {
		pool *sql.DB
		want string
	}{{s.w, "on"}, {s.r, "on"}, {s.async, "off"}} {
		var got string
		if err := c.pool.QueryRow("SHOW synchronous_commit").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("synchronous_commit = %s, want %s", got, c.want)
		}
	}
}
