package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/store"
)

// BenchmarkQualityReport generates a year of a 3,000-bed hospital directly as measure rows —
// about 150,000 discharges with their pathway instances, operations, follow-up and 20,000
// critical values, ≈ 1 million rows — and times the full QC report
// (GET /api/v1/quality/report, every indicator with its strata, the median, the evidence
// checks) through the real API, on SQLite and on PostgreSQL (schema qcbench).
//
//	go test ./adapters/sqlstore -run '^$' -bench QualityReport -benchtime 20x
//
// ms/report is the figure; the target is under 1,000.
func BenchmarkQualityReport(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *Store
	}{{"sqlite", openSQLite}, {"postgres", openQCBench}} {
		b.Run(db.name, func(b *testing.B) {
			s := db.open(b)
			start := time.Now()
			n := loadYear(b, s)
			b.Logf("%s: %d measure rows loaded in %s", db.name, n, time.Since(start).Round(time.Second))
			q := queue.NewMemory(queue.MemoryOptions{})
			defer q.Close()
			zone, _ := time.LoadLocation("Asia/Shanghai")
			api := httpapi.New(httpapi.Config{Store: s, Queue: q, Cores: s, Zone: zone, Quality: &httpapi.Quality{Measures: s}})
			secret := "bench-qc"
			if err := s.CreateToken(context.Background(), store.Token{Name: "qc", Role: store.RoleQC, Hash: httpapi.HashToken(secret)}); err != nil {
				b.Fatal(err)
			}
			get := func(path string) []byte {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("Authorization", "Bearer "+secret)
				rec := httptest.NewRecorder()
				api.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
				}
				return rec.Body.Bytes()
			}
			body := get("/api/v1/quality/report?from=2025-01-01&to=2025-12-31")
			if !strings.Contains(string(body), `"id":"return-to-theatre"`) {
				b.Fatalf("report %s", body[:200])
			}
			b.ResetTimer()
			for b.Loop() {
				get("/api/v1/quality/report?from=2025-01-01&to=2025-12-31")
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
			b.ReportMetric(float64(n), "rows")
		})
	}
}

// openQCBench opens PostgreSQL in the schema qcbench, emptied first.
func openQCBench(tb testing.TB) *Store {
	tb.Helper()
	base := postgresURL(tb)
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP SCHEMA IF EXISTS qcbench CASCADE; CREATE SCHEMA qcbench"); err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	qs := u.Query()
	qs.Set("search_path", "qcbench")
	u.RawQuery = qs.Encode()
	s, err := OpenPostgres(context.Background(), u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// loadYear writes the year's rows in large transactions and refreshes the planner's
// statistics, as after a day's work; it returns the number of rows.
func loadYear(tb testing.TB, s *Store) int {
	tb.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(2025, 3000))
	year := time.Date(2024, 12, 31, 16, 0, 0, 0, time.UTC) // 2025-01-01 in Shanghai
	depts := make([]string, 40)
	for i := range depts {
		depts[i] = fmt.Sprintf("D%02d", i)
	}
	var batch []any
	rows, total := 0, 0
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	flush := func() {
		if rows == 0 {
			return
		}
		q := `INSERT INTO measures (core, patient, record, indicator, at, hospital, department, setting, subject, denominator, numerator, excluded, value) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", rows), ",")
		if _, err := s.exec(ctx, tx, q, batch...); err != nil {
			tb.Fatal(err)
		}
		total += rows
		batch, rows = batch[:0], 0
		if total%200_000 < 1000 { // commit now and then: one huge transaction is not how rows arrive
			if err := tx.Commit(); err != nil {
				tb.Fatal(err)
			}
			if tx, err = s.w.BeginTx(ctx, nil); err != nil {
				tb.Fatal(err)
			}
		}
	}
	add := func(core, patient, ind string, at time.Time, dept, setting string, den, num int, excl bool, value *float64) {
		var v any
		if value != nil {
			v = *value
		}
		batch = append(batch, core, patient, patient, ind, micros(at), "H1", dept, setting, patient, den, num, b2i(excl), v)
		if rows++; rows == 1000 {
			flush()
		}
	}
	pct := func(p float64) int {
		if r.Float64() < p {
			return 1
		}
		return 0
	}
	// 150,000 discharges.
	for i := range 150_000 {
		p := fmt.Sprintf("Patient/%d", i)
		at := year.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
		d := depts[r.IntN(len(depts))]
		add("quality", p, "adverse-events-per-100", at, d, "inpatient", 1, 0, false, nil)
		if r.Float64() < 0.027 {
			add("quality", p, "adverse-events-per-100", at, d, "inpatient", 0, 1, false, nil)
		}
		if r.Float64() < 0.01 {
			add("quality", p, "readmission-31d", at, d, "inpatient", 0, 0, true, nil)
		} else {
			add("quality", p, "readmission-31d", at, d, "inpatient", 1, pct(0.05), false, nil)
		}
		if r.Float64() < 0.35 {
			enrolled := pct(0.9)
			add("quality", p, "pathway-enrollment", at, d, "inpatient", 1, enrolled, false, nil)
			if enrolled == 1 {
				add("clinicalpath", p, "pathway-completion", at, d, "inpatient", 1, pct(0.85), false, nil)
				add("clinicalpath", p, "pathway-withdrawal", at, d, "inpatient", 1, pct(0.1), false, nil)
				add("clinicalpath", p, "pathway-variance", at, d, "inpatient", 1, pct(0.2), false, nil)
			}
		}
		if r.Float64() < 0.4 {
			add("quality", p, "postop-acquired", at, d, "inpatient", 1, pct(0.006), false, nil)
			for range 1 + pct(0.2) {
				back := pct(0.002)
				add("quality", p, "return-to-theatre", at, d, "inpatient", 1, back, false, nil)
				add("quality", p, "return-to-theatre-48h", at, d, "inpatient", 1, back*pct(0.5), false, nil)
				add("quality", p, "return-to-theatre-31d", at, d, "inpatient", 1, back, false, nil)
				if r.Float64() < 0.1 {
					add("quality", p, "grade4-mdt", at, d, "inpatient", 1, pct(0.95), false, nil)
					add("followup", p, "fu-grade4-rate", at, d, "inpatient", 1, pct(0.8), false, nil)
					add("followup", p, "fu-lost", at, d, "inpatient", 1, pct(0.05), false, nil)
				}
			}
		}
		if r.Float64() < 0.08 {
			add("followup", p, "fu-cancer-rate", at, d, "inpatient", 1, pct(0.8), false, nil)
			add("followup", p, "fu-lost", at, d, "inpatient", 1, pct(0.05), false, nil)
			for k := range 4 {
				add("followup", p, "fu-timeliness", at.AddDate(0, k*3, 0), d, "inpatient", 1, pct(0.7), false, nil)
			}
		}
		if r.Float64() < 0.007 {
			add("quality", p, "stemi-reperfusion", at, "CARDIO", "inpatient", 1, pct(0.8), false, nil)
		}
		if r.Float64() < 0.015 {
			add("quality", p, "stroke-reperfusion", at, "NEURO", "inpatient", 1, pct(0.4), false, nil)
		}
		if r.Float64() < 0.3 {
			add("quality", p, "coding-accuracy", at, d, "inpatient", 1, pct(0.92), false, nil)
		}
	}
	// 20,000 critical values.
	settings := []string{"inpatient", "inpatient", "inpatient", "outpatient", "emergency"}
	for i := range 20_000 {
		p := fmt.Sprintf("Patient/cv%d", i)
		at := year.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
		d, setting := depts[r.IntN(len(depts))], settings[r.IntN(len(settings))]
		if r.Float64() < 0.01 {
			add("criticalvalue", p, "cv-notification-rate", at, d, setting, 0, 0, true, nil)
			add("criticalvalue", p, "cv-notification-timeliness", at, d, setting, 0, 0, true, nil)
			continue
		}
		add("criticalvalue", p, "cv-notification-rate", at, d, setting, 1, 1, false, nil)
		add("criticalvalue", p, "cv-notification-timeliness", at, d, setting, 1, pct(0.9), false, nil)
		if r.Float64() < 0.95 {
			m := 1 + r.Float64()*30
			add("criticalvalue", p, "cv-median-ack-minutes", at, d, setting, 1, 0, false, &m)
			if setting == "inpatient" {
				add("criticalvalue", p, "cv-same-day-handling", at, d, setting, 1, pct(0.9), false, nil)
			}
		}
	}
	flush()
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	stats := "ANALYZE"
	if s.d.postgres() {
		stats = "VACUUM ANALYZE measures"
	}
	if _, err := s.w.ExecContext(ctx, stats); err != nil {
		tb.Fatal(err)
	}
	return total
}
