package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/loadgen"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
)

// TestCriticalValuesTakeTheUrgentLane: with serve wired as it ships, critical potassiums
// posted while other traffic flows go through the intake's triage and the urgent lane, and
// every one reaches the live stream — for the in-process queue and for Redis.
func TestCriticalValuesTakeTheUrgentLane(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	t.Run("sqlite+memory", func(t *testing.T) {
		dir := t.TempDir()
		urgentRun(t, []string{"LUJING_DATABASE_URL=", "LUJING_REDIS_URL=", "LUJING_DATA_DIR=" + dir},
			func(ctx context.Context) (*sqlstore.Store, error) { return sqlstore.OpenSQLite(ctx, dir) })
	})
	t.Run("postgres+redis", func(t *testing.T) {
		dbURL := freshSchema(t, integrationURL(t, "LUJING_TEST_DATABASE_URL"))
		rURL := freshRedisDB(t, integrationURL(t, "LUJING_TEST_REDIS_URL"))
		urgentRun(t, []string{"LUJING_DATABASE_URL=" + dbURL, "LUJING_REDIS_URL=" + rURL},
			func(ctx context.Context) (*sqlstore.Store, error) { return sqlstore.OpenPostgres(ctx, dbURL) })
	})
}

func urgentRun(t *testing.T, env []string, open func(context.Context) (*sqlstore.Store, error)) {
	ctx := context.Background()
	st, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lis, err := createToken(ctx, st, store.Token{Name: "lis", Role: store.RoleIntegration, Source: "lis"})
	if err != nil {
		t.Fatal(err)
	}
	nurse, err := createToken(ctx, st, store.Token{Name: "station", Role: store.RoleClinician})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := createToken(ctx, st, store.Token{Name: "admin", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, freeAddr(t), env)

	// Other traffic meanwhile, so that the ordinary lane has a backlog.
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	go loadgen.Run(lctx, loadgen.Config{BaseURL: srv.base, Token: lis, BundleSize: 50, Concurrency: 2, Seed: 3,
		Duration: time.Minute, Timeout: 10 * time.Second})

	pctx, stop := context.WithTimeout(ctx, 8*time.Second)
	defer stop()
	rep, err := loadgen.Probe(pctx, loadgen.ProbeConfig{BaseURL: srv.base, Token: lis, StreamToken: nurse,
		Interval: 300 * time.Millisecond, Wait: 60 * time.Second}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent < 1 || rep.Received != rep.Sent || rep.Missing+rep.Failed != 0 {
		t.Fatalf("probe: %s", rep)
	}
	t.Logf("%s", rep)
	urgent := metric(t, srv.base, admin, "lujing_intake_urgent_keys_total")
	if urgent < float64(rep.Sent) {
		t.Errorf("%v keys went through the urgent lane, %d critical values were posted", urgent, rep.Sent)
	}
}

// metric reads one unlabelled sample from /metrics.
func metric(t *testing.T, base, token, name string) float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in /metrics (HTTP %d)", name, res.StatusCode)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
