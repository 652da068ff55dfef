package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/pathways/quality"
)

// testStore is an empty SQLite store, closed at cleanup.
func testStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	_, st := testStoreDir(t)
	return st
}

// testStoreDir is testStore and its directory, for a server started on the same files.
func testStoreDir(t *testing.T) (string, *sqlstore.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlstore.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir, st
}

// instance is a running Lujing API over its own store, with measure rows written as the
// cores write them, and a QC token.
func instance(t *testing.T, hospital string, rows []store.Measure) (url, token string) {
	t.Helper()
	ctx := context.Background()
	st := testStore(t)
	for i, m := range rows {
		m.Hospital = hospital
		rec := store.Record{Kind: "quality-stay", ID: fmt.Sprintf("%s-%d", hospital, i), Patient: fmt.Sprintf("Patient/%d", i), Hospital: hospital,
			Opened: m.At, Body: []byte(`{}`), Measures: []store.Measure{m}}
		if _, err := st.SaveCore(ctx, store.CoreSave{Core: "quality", Patient: rec.Patient, State: []byte(`{}`), Records: []store.Record{rec}}); err != nil {
			t.Fatal(err)
		}
	}
	secret, err := createToken(ctx, st, store.Token{Name: "qc", Role: store.RoleQC})
	if err != nil {
		t.Fatal(err)
	}
	q := queue.NewMemory(queue.MemoryOptions{})
	t.Cleanup(func() { q.Close() })
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: st, Queue: q, Cores: st, Quality: &httpapi.Quality{Measures: st}}))
	t.Cleanup(srv.Close)
	return srv.URL, secret
}

// rowsOf makes n rows of an indicator in March, num of them in the numerator.
func rowsOf(id string, n, num int, dept string, value float64) []store.Measure {
	at := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC)
	var out []store.Measure
	for i := range n {
		m := store.Measure{Indicator: id, At: at.Add(time.Duration(i) * time.Hour), Department: dept, Setting: "inpatient", Denominator: 1}
		if i < num {
			m.Numerator = 1
		}
		if value > 0 {
			v := value + float64(i)
			m.Value = &v
		}
		out = append(out, m)
	}
	return out
}

// TestReportAggregates two running instances: numerators and denominators are added and the
// rate computed from the sums (STEMI 9/10 and 45/90 make 54/100 = 54%, not the 70% an average
// would say); a median stays per hospital; a hospital without adverse-event reports is left
// out of that sum; CSV with BOM.
func TestReportAggregates(t *testing.T) {
	h1rows := append(rowsOf("stemi-reperfusion", 10, 9, "CARDIO", 0), rowsOf("cv-median-ack-minutes", 3, 0, "GI", 10)...) // 10, 11, 12
	h1rows = append(h1rows, rowsOf("adverse-events-per-100", 100, 0, "GI", 0)...)                                         // no reports ever
	h2rows := append(rowsOf("stemi-reperfusion", 90, 45, "CARDIO", 0), rowsOf("cv-median-ack-minutes", 1, 0, "GI", 30)...)
	ae := rowsOf("adverse-events-per-100", 200, 0, "GI", 0)
	for range 6 { // six reports: numerator-only rows
		ae = append(ae, store.Measure{Indicator: "adverse-events-per-100", At: ae[0].At, Department: "GI", Setting: "inpatient", Numerator: 1})
	}
	h2rows = append(h2rows, ae...)
	u1, tok1 := instance(t, "H1", h1rows)
	u2, tok2 := instance(t, "H2", h2rows)

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"report", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json",
		"--hospital", u1 + "#" + tok1, "--hospital", "第二医院=" + u2 + "#" + tok2}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var table struct {
		Hospitals  []string
		Indicators []quality.Result
	}
	if err := json.Unmarshal(out.Bytes(), &table); err != nil {
		t.Fatal(err)
	}
	if strings.Join(table.Hospitals, ",") != "H1,第二医院" || len(table.Indicators) != 22 {
		t.Fatalf("hospitals %v, %d indicators", table.Hospitals, len(table.Indicators))
	}
	by := map[string]quality.Result{}
	for _, r := range table.Indicators {
		by[r.ID] = r
	}
	if r := by["stemi-reperfusion"]; r.Numerator != 54 || r.Denominator != 100 || *r.Value != 54 || *r.Met || len(r.Hospitals) != 2 ||
		*r.Hospitals[0].Value != 90 || *r.Hospitals[1].Value != 50 {
		t.Errorf("stemi %+v", r)
	}
	if r := by["cv-median-ack-minutes"]; r.Value != nil || !strings.Contains(r.Note, "median") || *r.Hospitals[0].Value != 11 || *r.Hospitals[1].Value != 30 {
		t.Errorf("median %+v", r)
	}
	if r := by["adverse-events-per-100"]; r.Numerator != 6 || r.Denominator != 200 || *r.Value != 3 || !strings.Contains(r.Note, "H1") {
		t.Errorf("adverse events %+v", r)
	}
	if r := by["coding-accuracy"]; r.Status != quality.StatusInsufficient || r.Value != nil {
		t.Errorf("coding accuracy %+v", r)
	}

	out.Reset()
	t.Setenv("LUJING_TOKEN", tok1)
	if code := run(context.Background(), []string{"report", "--from", "2026-03-01", "--to", "2026-03-31", "--hospital", u1}, &out, &errOut); code != 0 {
		t.Fatalf("csv: exit %d %s", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "\uFEFF指标编码") || !strings.Contains(out.String(), "stemi-reperfusion,STEMI患者发病12小时内再灌注率,,,,2026-03-01,2026-03-31,9,10,0,90,") {
		t.Errorf("csv %q", out.String()[:min(400, out.Len())])
	}

	// A wrong token, a missing flag.
	errOut.Reset()
	if code := run(context.Background(), []string{"report", "--from", "2026-03-01", "--to", "2026-03-31", "--hospital", u1 + "#wrong"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "401") || strings.Contains(errOut.String(), "wrong") && strings.Contains(errOut.String(), "#wrong") {
		t.Errorf("wrong token: %d %s", code, errOut.String())
	}
	if code := run(context.Background(), []string{"report", "--hospital", u1}, &out, &errOut); code != 2 {
		t.Errorf("no period: exit %d", code)
	}
}
