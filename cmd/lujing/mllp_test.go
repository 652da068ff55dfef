package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
)

// TestBenchORU: the benchmark's messages are well-formed results: they parse, carry the visit
// and the release time where the standard puts them, and map to FHIR with nothing left out.
func TestBenchORU(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		m, err := hl7v2.Parse(benchORU(r, 7, 0, i, 100, 0.5), hl7v2.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pv1, _ := m.Segment("PV1")
		obr, _ := m.Segment("OBR")
		obx, _ := m.Segment("OBX")
		if pv1.Field(19).String() == "" || obr.Field(22).String() == "" || obr.Field(25).String() != "F" || obx.Field(11).String() != "F" {
			t.Fatalf("fields out of place: PV1-19 %q OBR-22 %q OBR-25 %q", pv1.Field(19).Raw(), obr.Field(22).Raw(), obr.Field(25).Raw())
		}
		res, err := hl7v2.ToFHIR(m, hl7v2.Options{Sender: "bench"})
		if err != nil || len(res.Warnings) > 0 {
			t.Fatalf("to FHIR: %v %v", err, res.Warnings)
		}
	}
	if ackCode([]byte("MSH|^~\\&|A\rMSA|AE|X\r")) != "AE" {
		t.Error("ackCode")
	}
}

// TestMLLPCrashLosesNothing kills the server with SIGKILL while ten connections send ORU^R01
// over MLLP, with messages acknowledged and not applied yet, restarts it, and checks that every
// message acknowledged AA is stored and, once the restarted server has applied the backlog,
// accepted, with every FHIR message made of them applied exactly once: for SQLite with the
// in-process queue and for PostgreSQL with Redis.
func TestMLLPCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts servers")
	}
	onBothStacks(t, mllpCrashRun)
}

func mllpCrashRun(t *testing.T, env []string, open func(context.Context) (*sqlstore.Store, error)) {
	ctx := context.Background()
	st, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	addr, mllpAddr := freeAddr(t), freeAddr(t)
	srv := startServer(t, addr, env, "--mllp", mllpAddr)

	var mu sync.Mutex
	var acked []string
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Go(func() {
			c, err := mllp.Dial(sctx, mllpAddr, nil)
			if err != nil {
				return
			}
			defer c.Close()
			r := rand.New(rand.NewPCG(9, uint64(w)))
			for i := 0; sctx.Err() == nil; i++ {
				msg := benchORU(r, 9, w, i, 200, 0.2)
				ack, err := c.Send(sctx, msg)
				if err != nil {
					return // the crash
				}
				if ackCode(ack) != "AA" {
					t.Errorf("message %d of connection %d: %s", i, w, ack)
					return
				}
				m, _ := hl7v2.Parse(msg, hl7v2.ParseOptions{})
				mu.Lock()
				acked = append(acked, m.ControlID())
				mu.Unlock()
			}
		})
	}
	waitFor(t, 60*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 1000 })
	srv.kill()
	stop()
	wg.Wait()
	pending, err := st.ReceivedHL7(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages acknowledged before the crash, %d of them not applied", len(acked), len(pending))
	if len(pending) == 0 {
		t.Fatal("every acknowledged message was applied before the crash: the test proves nothing about the restart")
	}

	startServer(t, addr, env, "--mllp", mllpAddr)
	waitFor(t, 3*time.Minute, func() bool {
		left, err := st.ReceivedHL7(ctx, 0, 1)
		if err != nil || len(left) > 0 {
			return false
		}
		keys, err := st.Backlog(ctx, time.Now().Add(time.Hour), 1)
		return err == nil && len(keys) == 0
	})
	for _, control := range acked {
		rec, err := st.HL7Message(ctx, "local|LIS|HOSP", control)
		if err != nil || rec.Status != mllp.StatusAccepted {
			t.Errorf("acknowledged %s: %q, %v", control, rec.Status, err)
		}
	}
	checkAppliedOnce(t, st)
}

// TestBenchMLLPProbe: bench --mllp with a probe sends critical potassium results over MLLP
// besides its load, and finds each of them on the live stream as a critical value: the
// Observation ids it derives are the server's. The load has no critical values of its own and
// one connection, so that under the race detector the probe's wait stays short.
func TestBenchMLLPProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	ctx := context.Background()
	dir, st := testStoreDir(t)
	nurse, err := createToken(ctx, st, store.Token{Name: "station", Role: store.RoleClinician})
	if err != nil {
		t.Fatal(err)
	}
	addr, mllpAddr := freeAddr(t), freeAddr(t)
	srv := startServer(t, addr, []string{"LUJING_DATABASE_URL=", "LUJING_REDIS_URL=", "LUJING_DATA_DIR=" + dir}, "--mllp", mllpAddr)
	var out, errOut strings.Builder
	err = cmdBenchMLLP(ctx, []string{"--mllp", mllpAddr, "--duration", "3s", "--connections", "1", "--patients", "50", "--critical", "0",
		"--url", srv.base, "--probe-token", nurse, "--probe-interval", "300ms"}, &out, &errOut)
	if err != nil {
		t.Fatalf("bench: %v\n%s%s", err, out.String(), errOut.String())
	}
	var sent, seen, missing, failed int
	for line := range strings.Lines(out.String()) {
		if strings.HasPrefix(line, "critical values:") {
			fmt.Sscanf(line, "critical values: %d posted, %d on the stream, %d missing, %d failed", &sent, &seen, &missing, &failed)
		}
	}
	if sent < 3 || seen != sent || missing != 0 || failed != 0 {
		t.Errorf("probe: %d posted, %d seen, %d missing, %d failed\n%s", sent, seen, missing, failed, out.String())
	}
}
