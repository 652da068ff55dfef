package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
)

// perPatientReads are the reads by patient of tables that grow with every admission. Each must
// find its rows through an index that leads with the patient: a full scan passes every test on
// a few rows and takes seconds in a hospital's second year.
var perPatientReads = []struct{ table, column, query string }{
	{"core_state", "patient", `SELECT core, patient, version, wake, dirty FROM core_state WHERE patient = ? ORDER BY core`},
	{"records", "patient", `SELECT kind, id FROM records WHERE kind = ? AND patient = ?`},
	{"events", "patient", `SELECT key FROM events WHERE patient = ? AND {pos} > ? ORDER BY {pos}`}, // as EventsSince
	{"events", "patient", `SELECT key FROM events WHERE patient = ? ORDER BY at, message_id, seq`}, // as Events
	{"messages", "patient_key", `SELECT id FROM messages WHERE patient_key = ? AND status = 'received' ORDER BY id LIMIT ?`},
}

func TestPerPatientReadsUseAnIndex(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s := openSQLite(t)
		for _, q := range perPatientReads {
			plan := sqlitePlan(t, s, strings.ReplaceAll(q.query, "{pos}", "rowid"))
			if !strings.Contains(plan, "SEARCH "+q.table+" USING") || !strings.Contains(plan, "("+q.column+"=?") {
				t.Errorf("%s: plan does not search an index by %s:\n%s", q.query, q.column, plan)
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		s := openPostgres(t)
		for _, q := range perPatientReads {
			for _, ix := range postgresPlanIndexes(t, s, strings.ReplaceAll(q.query, "{pos}", "id")) {
				if lead := leadingColumn(t, s, ix); lead != q.column {
					t.Errorf("%s: plan reads index %s, which leads with %s, not %s", q.query, ix, lead, q.column)
				}
			}
		}
	})
}

func sqlitePlan(t *testing.T, s *Store, query string) string {
	t.Helper()
	args := make([]any, strings.Count(query, "?"))
	for i := range args {
		args[i] = "x"
	}
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}

// postgresPlanIndexes returns the indexes PostgreSQL's plan of query reads with sequential
// scans priced out, so that the plan of an empty table is the plan of a full one. A plan
// without an index fails the test.
func postgresPlanIndexes(t *testing.T, s *Store, query string) []string {
	t.Helper()
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	n := strings.Count(query, "?")
	args := make([]any, n)
	for i := range args {
		args[i] = "1"
	}
	var out []byte
	if err := tx.QueryRow("EXPLAIN (FORMAT JSON) "+s.d.rebind(query), args...).Scan(&out); err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	var plan any
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatal(err)
	}
	var names []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if name, ok := v["Index Name"].(string); ok {
				names = append(names, name)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(plan)
	if len(names) == 0 {
		t.Errorf("%s: plan reads no index:\n%s", query, out)
	}
	return names
}

func leadingColumn(t *testing.T, s *Store, index string) string {
	t.Helper()
	var col string
	err := s.r.QueryRow(`SELECT a.attname FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indexrelid = $1::regclass`, index).Scan(&col)
	if err == sql.ErrNoRows {
		t.Fatalf("index %s not found", index)
	}
	if err != nil {
		t.Fatal(err)
	}
	return col
}
