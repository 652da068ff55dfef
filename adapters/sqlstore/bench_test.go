package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/store"
)

// BenchmarkAccept stores Bundles of 100 new resources of about 800 bytes, each with an
// identifier, spread over 50 patients. "serial" is one caller; "parallel" is GOMAXPROCS callers
// at once, as concurrent intake requests are. resources/s is the figure to compare with the
// target of 10,000/s end to end.
func BenchmarkAccept(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		b.Run(db.name+"/serial", func(b *testing.B) {
			s := db.open(b)
			var n atomic.Int64
			for b.Loop() {
				acceptBundle(b, s, &n)
			}
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "resources/s")
		})
		b.Run(db.name+"/parallel", func(b *testing.B) {
			s := db.open(b)
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					acceptBundle(b, s, &n)
				}
			})
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "resources/s")
		})
	}
}

const benchBundle = 100

func acceptBundle(b *testing.B, s *Store, n *atomic.Int64) []store.Result {
	in := make([]store.Incoming, benchBundle)
	now := time.Now()
	for i := range in {
		k := n.Add(1)
		id := fmt.Sprint("obs-", k)
		body := benchBody(id, k)
		h := sha256.Sum256(body)
		in[i] = store.Incoming{
			Source:        "lis",
			Hospital:      "h1",
			Type:          "Observation",
			ID:            id,
			Body:          body,
			Hash:          hex.EncodeToString(h[:]),
			SourceUpdated: now,
			PatientKey:    fmt.Sprint("Patient/p", k%50),
			Identifiers:   []store.Identifier{{System: "urn:lis:accession", Value: id}},
		}
	}
	res, err := s.Accept(context.Background(), in)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// benchBody is a laboratory Observation of about 800 bytes.
func benchBody(id string, k int64) []byte {
	return fmt.Appendf(nil, `{"resourceType":"Observation","id":%q,"meta":{"lastUpdated":"2026-03-01T08:00:00Z",`+
		`"profile":["http://lujing.example/fhir/StructureDefinition/lab-observation"]},`+
		`"identifier":[{"system":"urn:lis:accession","value":%q}],"status":"final",`+
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory","display":"Laboratory"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"2345-7","display":"Glucose [Mass/volume] in Serum or Plasma"}],"text":"Glucose"},`+
		`"subject":{"reference":"Patient/p%d"},"encounter":{"reference":"Encounter/e%d"},`+
		`"effectiveDateTime":"2026-03-01T07:45:00+08:00","issued":"2026-03-01T08:00:00+08:00",`+
		`"performer":[{"reference":"Organization/lab-1","display":"Central Laboratory"}],`+
		`"valueQuantity":{"value":%d.%d,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},`+
		`"referenceRange":[{"low":{"value":3.9,"unit":"mmol/L"},"high":{"value":6.1,"unit":"mmol/L"}}]}`,
		id, id, k%50, k%500, 3+k%10, k%10)
}

// BenchmarkComplete records the worker's verdicts, one event each: "one" is a transaction per
// message (Complete), "batch100" one per 100 messages (CompleteAll). messages/s is the figure.
func BenchmarkComplete(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		for _, batch := range []int{1, 100} {
			name := db.name + "/one"
			if batch > 1 {
				name = fmt.Sprint(db.name, "/batch", batch)
			}
			b.Run(name, func(b *testing.B) {
				s := db.open(b)
				var n atomic.Int64
				var cs []store.Completion
				for len(cs) < b.N*batch {
					for _, r := range acceptBundle(b, s, &n) {
						cs = append(cs, completion(r.MessageID))
					}
				}
				b.ResetTimer()
				for i := range b.N {
					done, err := s.CompleteAll(context.Background(), cs[i*batch:(i+1)*batch])
					if err != nil || !done[0] {
						b.Fatalf("CompleteAll = %v, %v", done, err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "messages/s")
			})
		}
	}
}

// completion is a processed verdict with one event.
func completion(id int64) store.Completion {
	return store.Completion{MessageID: id, Status: store.StatusProcessed, Events: []store.Event{{
		Kind: "lab.result", Patient: "Patient/p1", At: time.Now(), Resource: "Observation/x",
		Data: []byte(`{"code":"2345-7","value":5.4}`)}}}
}
