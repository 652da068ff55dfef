package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/adapters/store"
)

var _ mllp.Store = (*Store)(nil)

const hl7Columns = "id, sender, control_id, message_type, raw, charset, hash, status, ack, error, received_at"

func scanHL7(sc scanner) (mllp.Record, error) {
	var r mllp.Record
	var received int64
	err := sc.Scan(&r.ID, &r.Sender, &r.ControlID, &r.Type, &r.Raw, &r.Charset, &r.Hash, &r.Status, &r.Ack, &r.Error, &received)
	r.ReceivedAt = fromMicros(received)
	return r, err
}

// HL7Message returns the record of a sender's control id, store.ErrNotFound when none.
func (s *Store) HL7Message(ctx context.Context, sender, controlID string) (mllp.Record, error) {
	r, err := scanHL7(s.queryRow(ctx, s.r, "SELECT "+hl7Columns+" FROM hl7_messages WHERE sender = ? AND control_id = ?", sender, controlID))
	if errors.Is(err, sql.ErrNoRows) {
		return mllp.Record{}, fmt.Errorf("hl7 message %s: %w", controlID, store.ErrNotFound)
	}
	if err != nil {
		return mllp.Record{}, fmt.Errorf("hl7 message %s: %w", controlID, err)
	}
	return r, nil
}

// SaveHL7 stores the records in one transaction with one statement; a record of a sender and
// control id already stored replaces its verdict (a replay), keeping the raw message and the
// time first received.
func (s *Store) SaveHL7(ctx context.Context, recs []mllp.Record) error {
	if len(recs) == 0 {
		return nil
	}
	// One row per key (a statement may not upsert the same row twice): in the place of its
	// first record, with the verdict of its last.
	at := micros(now())
	index := map[[2]string]int{}
	var rows [][]any
	for _, r := range recs {
		row := []any{r.Sender, r.ControlID, r.Type, r.Raw, r.Charset, r.Hash, r.Status, r.Ack, r.Error, micros(r.ReceivedAt), at}
		if i, ok := index[[2]string{r.Sender, r.ControlID}]; ok {
			rows[i] = row
			continue
		}
		index[[2]string{r.Sender, r.ControlID}] = len(rows)
		rows = append(rows, row)
	}
	types := []string{"text", "text", "text", "bytea", "text", "text", "text", "text", "text", "bigint", "bigint"}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, b := range s.batches(types, rows) {
			q := `INSERT INTO hl7_messages (sender, control_id, message_type, raw, charset, hash, status, ack, error, received_at, updated_at) ` +
				b.rows + ` ON CONFLICT (sender, control_id) DO UPDATE SET status = excluded.status, ack = excluded.ack,
				error = excluded.error, updated_at = excluded.updated_at`
			if _, err := s.exec(ctx, tx, q, b.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save %d hl7 messages: %w", len(rows), err)
	}
	return nil
}

// ReceiveHL7 stores new messages, all or none, and sets their ID. A message whose sender
// and control id are stored already (before, or earlier in recs) is not stored again: its
// stored record is returned at its index in prior, whose other entries are zero.
func (s *Store) ReceiveHL7(ctx context.Context, recs []mllp.Record) (prior []mllp.Record, err error) {
	if len(recs) == 0 {
		return nil, nil
	}
	at := micros(now())
	rows := make([][]any, len(recs))
	for i, r := range recs {
		rows[i] = []any{r.Sender, r.ControlID, r.Type, r.Raw, r.Charset, r.Hash, r.Status, r.Ack, r.Error, micros(r.ReceivedAt), at}
	}
	types := []string{"text", "text", "text", "bytea", "text", "text", "text", "text", "text", "bigint", "bigint"}
	prior = make([]mllp.Record, len(recs))
	bs := s.batches(types, rows)
	receive := func(tx querier) error {
		ids := map[[2]string]int64{}
		for _, b := range bs {
			q := `INSERT INTO hl7_messages (sender, control_id, message_type, raw, charset, hash, status, ack, error, received_at, updated_at) ` +
				b.rows + ` ON CONFLICT (sender, control_id) DO NOTHING RETURNING id, sender, control_id`
			rs, err := s.query(ctx, tx, q, b.args...)
			if err != nil {
				return err
			}
			err = eachRow(rs, func(sc scanner) error {
				var id int64
				var sender, control string
				if err := sc.Scan(&id, &sender, &control); err != nil {
					return err
				}
				ids[[2]string{sender, control}] = id
				return nil
			})
			if err != nil {
				return err
			}
		}
		for i := range recs {
			k := [2]string{recs[i].Sender, recs[i].ControlID}
			if id, ok := ids[k]; ok {
				recs[i].ID = id
				delete(ids, k) // a second one in recs is a duplicate of this one
				continue
			}
			r, err := scanHL7(s.queryRow(ctx, tx, "SELECT "+hl7Columns+" FROM hl7_messages WHERE sender = ? AND control_id = ?", k[0], k[1]))
			if err != nil {
				return fmt.Errorf("stored duplicate %s: %w", k[1], err)
			}
			prior[i] = r
		}
		return nil
	}
	if len(bs) == 1 {
		// One statement is atomic by itself, and a duplicate it skipped was committed before
		// (ON CONFLICT waits for a concurrent insert of it): no BEGIN and COMMIT around it, two
		// round trips fewer on the path of every ACK.
		err = receive(s.w)
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error { return receive(tx) })
	}
	if err != nil {
		return nil, fmt.Errorf("receive %d hl7 messages: %w", len(recs), err)
	}
	return prior, nil
}

// ReceivedHL7 returns up to limit records acknowledged and not applied yet whose ID is above
// afterID, by ID.
func (s *Store) ReceivedHL7(ctx context.Context, afterID int64, limit int) ([]mllp.Record, error) {
	return s.hl7ByStatus(ctx, "received", afterID, limit)
}

// FailedHL7 returns up to limit failed records with an id above afterID, by id.
func (s *Store) FailedHL7(ctx context.Context, afterID int64, limit int) ([]mllp.Record, error) {
	return s.hl7ByStatus(ctx, "failed", afterID, limit)
}

// hl7ByStatus pages through the records of a status. The status is written into the query, not
// bound, so that the planner sees it and takes the partial index of that status.
func (s *Store) hl7ByStatus(ctx context.Context, status string, afterID int64, limit int) ([]mllp.Record, error) {
	if status != "received" && status != "failed" {
		return nil, fmt.Errorf("hl7 messages by status %q: not indexed", status)
	}
	rows, err := s.query(ctx, s.r, "SELECT "+hl7Columns+" FROM hl7_messages WHERE status = '"+status+"' AND id > ? ORDER BY id LIMIT ?",
		afterID, limitOr(limit, 100))
	if err != nil {
		return nil, fmt.Errorf("%s hl7 messages: %w", status, err)
	}
	var out []mllp.Record
	err = eachRow(rows, func(sc scanner) error {
		r, err := scanHL7(sc)
		out = append(out, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s hl7 messages: %w", status, err)
	}
	return out, nil
}
