package worker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/worker"
	"github.com/lujing-health/lujing/mapping"
)

// BenchmarkWorker measures the worker's share of the pipeline on the embedded store: read a
// patient's pending messages, map them (StoreOnly: the mapping's own cost is benchmarked in
// package mapping) and record each completion. One op is one message.
func BenchmarkWorker(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const perPatient = 10
	body := []byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2823-3"}]},"valueQuantity":{"value":4.1,"unit":"mmol/L"}}`)
	patients := (b.N + perPatient - 1) / perPatient
	for p := 0; p < patients; p += 10 {
		var in []store.Incoming
		for q := p; q < p+10 && q < patients; q++ {
			for i := range perPatient {
				id := fmt.Sprintf("o-%d-%d", q, i)
				in = append(in, store.Incoming{Source: "lis", Type: "Observation", ID: id, Body: body, Hash: id, PatientKey: fmt.Sprintf("Patient/%d", q)})
			}
		}
		if _, err := st.Accept(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	w := worker.New(st, mapping.StoreOnly{}, worker.Options{})
	b.ResetTimer()
	for p := range patients {
		if err := w.Handle(ctx, fmt.Sprintf("Patient/%d", p)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(patients*perPatient)/b.Elapsed().Seconds(), "messages/s")
}
