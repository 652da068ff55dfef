package intake_test

import (
	"context"
	"testing"

	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/synth"
)

// BenchmarkIngestBundle measures the ingest path — parse, validate, resolve, store, publish —
// for transaction Bundles of synthetic hospital traffic on the embedded store.
func BenchmarkIngestBundle(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	q := queue.NewMemory(queue.MemoryOptions{})
	defer q.Close()
	in := intake.New(st, q, intake.Options{})
	g := synth.New(1, synth.Options{})
	var bodies [][]byte
	resources := 0
	for chunk := range g.Traffic(100) {
		bodies = append(bodies, synth.Transaction(chunk))
		resources += len(chunk)
		if len(bodies) == 200 {
			break
		}
	}
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		_, res, err := in.Bundle(ctx, intake.Source{System: "his"}, bodies[i%len(bodies)])
		if err != nil {
			b.Fatal(err)
		}
		n += len(res)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "resources/s")
}
