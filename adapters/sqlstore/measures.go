package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/lujing-health/lujing/adapters/store"
)

var _ store.MeasureStore = (*Store)(nil)

// measureInsertRows is how many rows one INSERT of measures carries (13 parameters each).
const measureInsertRows = 200

// saveMeasures replaces the measure rows of the core and patient with those of c's records,
// in the transaction that replaces the records.
func (s *Store) saveMeasures(ctx context.Context, tx *sql.Tx, c store.CoreSave) error {
	if _, err := s.exec(ctx, tx, `DELETE FROM measures WHERE core = ? AND patient = ?`, c.Core, c.Patient); err != nil {
		return fmt.Errorf("measures: %w", err)
	}
	var rows []any
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		q := `INSERT INTO measures (core, patient, record, indicator, at, hospital, department, setting, subject, denominator, numerator, excluded, value) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ",")
		if _, err := s.exec(ctx, tx, q, rows...); err != nil {
			return fmt.Errorf("measures: %w", err)
		}
		rows, n = rows[:0], 0
		return nil
	}
	for _, r := range c.Records {
		for _, m := range r.Measures {
			subject := m.Subject
			if subject == "" {
				subject = c.Patient
			}
			hospital := m.Hospital
			if hospital == "" {
				hospital = r.Hospital
			}
			var value any
			if m.Value != nil {
				value = *m.Value
			}
			rows = append(rows, c.Core, c.Patient, r.ID, m.Indicator, micros(m.At), hospital, m.Department, m.Setting, subject,
				m.Denominator, m.Numerator, b2i(m.Excluded), value)
			if n++; n == measureInsertRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// measureWhere is the WHERE clause of a filter.
func measureWhere(f store.MeasureFilter) (string, []any) {
	var where []string
	var args []any
	if len(f.Indicators) > 0 {
		where = append(where, "indicator IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Indicators)), ",")+")")
		for _, i := range f.Indicators {
			args = append(args, i)
		}
	}
	if !f.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, micros(f.To))
	}
	for _, c := range []struct{ col, v string }{{"hospital", f.Hospital}, {"department", f.Department}, {"setting", f.Setting}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

func (s *Store) MeasureCounts(ctx context.Context, f store.MeasureFilter) ([]store.MeasureCount, error) {
	where, args := measureWhere(f)
	table := "measures"
	if !s.d.postgres() {
		// Without statistics (a fresh database) SQLite may pick the department index and sort
		// every row for the GROUP BY: seconds instead of a few hundred milliseconds.
		table = "measures INDEXED BY measures_period"
	}
	rows, err := s.query(ctx, s.r, `SELECT indicator, hospital, department, setting, COUNT(*), SUM(denominator), SUM(numerator), SUM(excluded)
		FROM `+table+where+` GROUP BY indicator, hospital, department, setting`, args...)
	if err != nil {
		return nil, fmt.Errorf("measure counts: %w", err)
	}
	defer rows.Close()
	var out []store.MeasureCount
	for rows.Next() {
		var m store.MeasureCount
		if err := rows.Scan(&m.Indicator, &m.Hospital, &m.Department, &m.Setting, &m.Rows, &m.Denominator, &m.Numerator, &m.Excluded); err != nil {
			return nil, fmt.Errorf("measure counts: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) MeasureValues(ctx context.Context, f store.MeasureFilter) ([]store.MeasureValue, error) {
	where, args := measureWhere(f)
	if where == "" {
		where = " WHERE value IS NOT NULL"
	} else {
		where += " AND value IS NOT NULL"
	}
	rows, err := s.query(ctx, s.r, `SELECT indicator, hospital, department, setting, value FROM measures`+where+` ORDER BY value`, args...)
	if err != nil {
		return nil, fmt.Errorf("measure values: %w", err)
	}
	defer rows.Close()
	var out []store.MeasureValue
	for rows.Next() {
		var m store.MeasureValue
		if err := rows.Scan(&m.Indicator, &m.Hospital, &m.Department, &m.Setting, &m.Value); err != nil {
			return nil, fmt.Errorf("measure values: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) MeasureSubjects(ctx context.Context, f store.MeasureFilter, population string) ([]string, error) {
	where, args := measureWhere(f)
	var cond string
	switch population {
	case "numerator":
		cond = "numerator > 0"
	case "denominator":
		cond = "denominator > 0"
	case "excluded":
		cond = "excluded > 0"
	default:
		return nil, fmt.Errorf("measure subjects: unknown population %q", population)
	}
	if where == "" {
		where = " WHERE " + cond
	} else {
		where += " AND " + cond
	}
	rows, err := s.query(ctx, s.r, `SELECT DISTINCT subject FROM measures`+where+` ORDER BY subject`, args...)
	if err != nil {
		return nil, fmt.Errorf("measure subjects: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var subject string
		if err := rows.Scan(&subject); err != nil {
			return nil, fmt.Errorf("measure subjects: %w", err)
		}
		out = append(out, subject)
	}
	return out, rows.Err()
}

func (s *Store) MeasureEvidence(ctx context.Context, hospital string, indicators []string) (map[string]store.MeasureEvidence, error) {
	out := make(map[string]store.MeasureEvidence, len(indicators))
	exists := func(q string, args ...any) (bool, error) {
		var one int
		err := s.queryRow(ctx, s.r, q, args...).Scan(&one)
		if err == sql.ErrNoRows {
			return false, nil
		}
		return err == nil, err
	}
	for _, ind := range indicators {
		q, args := `SELECT 1 FROM measures WHERE indicator = ?`, []any{ind}
		if hospital != "" {
			q, args = q+` AND hospital = ?`, append(args, hospital)
		}
		var ev store.MeasureEvidence
		var err error
		if ev.Rows, err = exists(q+` LIMIT 1`, args...); err != nil {
			return nil, fmt.Errorf("measure evidence %s: %w", ind, err)
		}
		if ev.Rows {
			if ev.Numerator, err = exists(q+` AND numerator > 0 LIMIT 1`, args...); err != nil {
				return nil, fmt.Errorf("measure evidence %s: %w", ind, err)
			}
		}
		out[ind] = ev
	}
	return out, nil
}

func (s *Store) KnownDepartment(ctx context.Context, department string) (bool, error) {
	var one int
	err := s.queryRow(ctx, s.r, `SELECT 1 FROM measures WHERE department = ? LIMIT 1`, department).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("known department: %w", err)
	}
	return true, nil
}
