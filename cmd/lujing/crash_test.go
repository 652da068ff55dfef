package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/lujing-health/lujing/adapters/loadgen"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
)

// TestMain lets a test start this very binary as the server, so that it can be killed with
// SIGKILL like a real process, without a separate build.
func TestMain(m *testing.M) {
	if args := os.Getenv("LUJING_TEST_SERVE_ARGS"); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			panic(err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		os.Exit(run(ctx, a, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// integrationURL returns the test service URL from the environment; under CI a missing one
// fails the test instead of skipping it.
func integrationURL(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI", name)
		}
		t.Skipf("%s not set: skipping the test against the real service", name)
	}
	return v
}

type serverProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, addr string, env []string, args ...string) *serverProc {
	t.Helper()
	// No warm-up: under the race detector it takes twenty seconds of CPU.
	all := append([]string{"serve", "--addr", addr, "--log-level", "warn", "--relay-interval", "500ms", "--relay-age", "2s", "--warm-up=false"}, args...)
	b, _ := json.Marshal(all)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "LUJING_TEST_SERVE_ARGS="+string(b)), env...)
	logf, err := os.CreateTemp(t.TempDir(), "server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{t: t, cmd: cmd, base: "http://" + addr}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("server log:\n%s", out)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(p.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s did not become ready: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill sends SIGKILL: no shutdown, no flush, exactly like a crash.
func (p *serverProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// TestCrashLosesNothing kills the server with SIGKILL in the middle of a bench run, restarts
// it, and checks that every resource acknowledged with a 2xx is stored and that every stored
// message was applied exactly once — for the in-process queue and for Redis.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts servers")
	}
	onBothStacks(t, crashRun)
}

// onBothStacks runs a server test for SQLite with the in-process queue and for PostgreSQL
// with Redis (a fresh schema and Redis database): env is the server's, open opens its store.
func onBothStacks(t *testing.T, run func(t *testing.T, env []string, open func(context.Context) (*sqlstore.Store, error))) {
	t.Run("sqlite+memory", func(t *testing.T) {
		dir := t.TempDir()
		run(t, []string{"LUJING_DATABASE_URL=", "LUJING_REDIS_URL=", "LUJING_DATA_DIR=" + dir},
			func(ctx context.Context) (*sqlstore.Store, error) { return sqlstore.OpenSQLite(ctx, dir) })
	})
	t.Run("postgres+redis", func(t *testing.T) {
		pgURL := integrationURL(t, "LUJING_TEST_DATABASE_URL")
		redisURL := integrationURL(t, "LUJING_TEST_REDIS_URL")
		dbURL := freshSchema(t, pgURL)
		rURL := freshRedisDB(t, redisURL)
		run(t, []string{"LUJING_DATABASE_URL=" + dbURL, "LUJING_REDIS_URL=" + rURL},
			func(ctx context.Context) (*sqlstore.Store, error) { return sqlstore.OpenPostgres(ctx, dbURL) })
	})
}

func crashRun(t *testing.T, env []string, open func(context.Context) (*sqlstore.Store, error)) {
	ctx := context.Background()
	st, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secret, err := createToken(ctx, st, store.Token{Name: "crash", Role: store.RoleIntegration, Source: "lis"})
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	srv := startServer(t, addr, env)

	var mu sync.Mutex
	acked := map[string]bool{}
	lctx, stopLoad := context.WithCancel(ctx)
	done := make(chan loadgen.Report, 1)
	go func() {
		rep, _ := loadgen.Run(lctx, loadgen.Config{
			BaseURL: srv.base, Token: secret, BundleSize: 50, Concurrency: 4, Duration: 30 * time.Second,
			Seed: 7, Timeout: 5 * time.Second,
			OnAck: func(ids []string) {
				mu.Lock()
				for _, id := range ids {
					acked[id] = true
				}
				mu.Unlock()
			},
		})
		done <- rep
	}()
	// Let it ingest and process for a while, then crash it mid-flight.
	waitFor(t, 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 1500 })
	srv.kill()
	stopLoad()
	rep := <-done
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	t.Logf("acknowledged %d resources before the crash; %d requests without an answer", n, rep.NoResponse)

	startServer(t, addr, env)
	// After the restart the relay republishes whatever was stored and not yet processed.
	waitFor(t, 60*time.Second, func() bool {
		keys, err := st.Backlog(ctx, time.Now().Add(time.Hour), 1)
		return err == nil && len(keys) == 0
	})

	mu.Lock()
	defer mu.Unlock()
	for ref := range acked {
		typ, id, _ := strings.Cut(ref, "/")
		if _, err := st.Resource(ctx, typ, id); err != nil {
			t.Errorf("acknowledged %s is not stored: %v", ref, err)
		}
	}
	total := checkAppliedOnce(t, st)
	if total < n {
		t.Errorf("%d messages stored for %d acknowledged resources", total, n)
	}
}

// checkAppliedOnce checks that every stored message was applied exactly once (or is parked
// for a resource the crash kept from being stored) and returns how many there are.
func checkAppliedOnce(t *testing.T, st *sqlstore.Store) int {
	t.Helper()
	ctx := context.Background()
	var after int64
	total := 0
	for {
		msgs, err := st.Messages(ctx, store.MessageFilter{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			total++
			switch {
			case m.Status == store.StatusProcessed && m.Applied != 1:
				t.Errorf("message %d applied %d times", m.ID, m.Applied)
			case m.Status == store.StatusParked:
				// Legitimate only while what it waits for was never stored: the crash cut off
				// the request that carried it.
				for _, need := range m.Needs {
					typ, id, _ := strings.Cut(need, "/")
					if _, err := st.Resource(ctx, typ, id); err == nil {
						t.Errorf("message %d parked for %s, which is stored", m.ID, need)
					}
				}
			case m.Status != store.StatusProcessed:
				t.Errorf("message %d left %s: %s", m.ID, m.Status, m.Error)
			}
			after = m.ID
		}
		if len(msgs) < 1000 {
			break
		}
	}
	return total
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freshSchema creates a schema of its own for the test and returns a URL that uses it.
func freshSchema(t *testing.T, base string) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("crash_%d", time.Now().UnixNano())
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err == nil {
			_, _ = a.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE")
			a.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// freshRedisDB uses database 7 of the test Redis, emptied, for the servers under test.
func freshRedisDB(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/7"
	opt, err := redis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// TestGracefulShutdown stops the server with SIGTERM in the middle of a bench run: it must
// exit 0 within its shutdown budget (requests in flight answered, the worker's current work
// finished) with every acknowledged resource stored.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	ctx := context.Background()
	dir, st := testStoreDir(t)
	secret, err := createToken(ctx, st, store.Token{Name: "term", Role: store.RoleIntegration, Source: "his"})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, freeAddr(t), []string{"LUJING_DATABASE_URL=", "LUJING_REDIS_URL=", "LUJING_DATA_DIR=" + dir})
	var mu sync.Mutex
	acked := 0
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_, _ = loadgen.Run(lctx, loadgen.Config{BaseURL: srv.base, Token: secret, BundleSize: 20, Concurrency: 2,
			Duration: 20 * time.Second, Seed: 11, OnAck: func(ids []string) { mu.Lock(); acked += len(ids); mu.Unlock() }})
	}()
	waitFor(t, 20*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return acked >= 500 })
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("server did not exit cleanly: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("server did not stop within 40 s of SIGTERM")
	}
	stop()
	mu.Lock()
	n := acked
	mu.Unlock()
	var total int
	var after int64
	for {
		msgs, err := st.Messages(ctx, store.MessageFilter{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		total += len(msgs)
		if len(msgs) < 1000 {
			break
		}
		after = msgs[len(msgs)-1].ID
	}
	if total < n {
		t.Errorf("%d messages stored for %d acknowledged resources", total, n)
	}
}
