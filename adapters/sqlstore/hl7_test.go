package sqlstore

import (
	"errors"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/adapters/store"
)

// TestHL7Messages: a saved record is found by sender and control id; saving the same key again
// (a replay, or a duplicate in one group) replaces its verdict and keeps the raw message;
// FailedHL7 pages through the failed ones by id. On SQLite, and on PostgreSQL when set.
func TestHL7Messages(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testHL7Messages(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		postgresURL(t)
		testHL7Messages(t, openPostgres(t))
	})
}

func testHL7Messages(t *testing.T, s *Store) {
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	rec := func(control, status string) mllp.Record {
		return mllp.Record{Sender: "lab|LIS|HOSP", ControlID: control, Type: "ORU^R01", Raw: []byte("MSH|^~\\&|\xd5\xc5\r"),
			Charset: "GB18030", Hash: "h-" + control, Status: status, Ack: map[string]string{"accepted": "AA", "failed": "AE"}[status],
			Error: map[string]string{"failed": "OBX-5: not a number"}[status], ReceivedAt: at}
	}
	if _, err := s.HL7Message(ctx, "lab|LIS|HOSP", "C1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
	if err := s.SaveHL7(ctx, []mllp.Record{rec("C1", "accepted"), rec("C2", "failed"), rec("C3", "failed"), rec("C2", "failed")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.HL7Message(ctx, "lab|LIS|HOSP", "C1")
	if err != nil || got.Status != "accepted" || got.Ack != "AA" || string(got.Raw) != "MSH|^~\\&|\xd5\xc5\r" || !got.ReceivedAt.Equal(at) || got.ID == 0 {
		t.Fatalf("C1: %+v, %v", got, err)
	}
	failed, err := s.FailedHL7(ctx, 0, 1)
	if err != nil || len(failed) != 1 || failed[0].ControlID != "C2" || failed[0].Error != "OBX-5: not a number" {
		t.Fatalf("first failed page: %+v, %v", failed, err)
	}
	failed, err = s.FailedHL7(ctx, failed[0].ID, 10)
	if err != nil || len(failed) != 1 || failed[0].ControlID != "C3" {
		t.Fatalf("second failed page: %+v, %v", failed, err)
	}
	// A replay's verdict replaces the failure.
	replayed := rec("C2", "accepted")
	replayed.Raw = []byte("ignored: the raw message is kept")
	if err := s.SaveHL7(ctx, []mllp.Record{replayed}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.HL7Message(ctx, "lab|LIS|HOSP", "C2")
	if got.Status != "accepted" || got.Error != "" || string(got.Raw) != "MSH|^~\\&|\xd5\xc5\r" {
		t.Errorf("after replay: %+v", got)
	}
	if failed, _ := s.FailedHL7(ctx, 0, 10); len(failed) != 1 {
		t.Errorf("failed after replay: %d", len(failed))
	}
}

// TestReceiveHL7: new messages are stored and get their ids; one already stored, or twice in
// the same call, is not stored again and comes back as the stored record; ReceivedHL7 pages
// through the ones not applied yet, and a saved verdict takes a message off that list.
func TestReceiveHL7(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testReceiveHL7(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		postgresURL(t)
		testReceiveHL7(t, openPostgres(t))
	})
}

func testReceiveHL7(t *testing.T, s *Store) {
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	rec := func(control, status, raw string) mllp.Record {
		return mllp.Record{Sender: "lab|LIS|HOSP", ControlID: control, Type: "ORU^R01", Raw: []byte(raw), Charset: "UTF-8",
			Hash: "h-" + raw, Status: status, Ack: map[string]string{"received": "AA", "failed": "AE"}[status], ReceivedAt: at}
	}
	first := []mllp.Record{rec("C1", "received", "one"), rec("C2", "failed", "two")}
	prior, err := s.ReceiveHL7(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if first[0].ID == 0 || first[1].ID <= first[0].ID || prior[0].ID != 0 || prior[1].ID != 0 {
		t.Fatalf("new messages: ids %d %d, prior %+v", first[0].ID, first[1].ID, prior)
	}
	again := []mllp.Record{rec("C3", "received", "three"), rec("C1", "received", "one, sent again"), rec("C3", "received", "three twice")}
	prior, err = s.ReceiveHL7(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].ID == 0 || prior[0].ID != 0 {
		t.Fatalf("C3 is new: id %d, prior %+v", again[0].ID, prior[0])
	}
	if prior[1].ID != first[0].ID || string(prior[1].Raw) != "one" || prior[1].Ack != "AA" || again[1].ID != 0 {
		t.Fatalf("C1 again: prior %+v, id %d", prior[1], again[1].ID)
	}
	if prior[2].ID != again[0].ID || string(prior[2].Raw) != "three" {
		t.Fatalf("C3 twice in one call: prior %+v", prior[2])
	}
	pending, err := s.ReceivedHL7(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].ControlID != "C1" || pending[1].ControlID != "C3" {
		t.Fatalf("received, not applied: %+v", pending)
	}
	applied := pending[0]
	applied.Status = mllp.StatusAccepted
	if err := s.SaveHL7(ctx, []mllp.Record{applied}); err != nil {
		t.Fatal(err)
	}
	pending, err = s.ReceivedHL7(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].ControlID != "C3" {
		t.Fatalf("after C1 applied: %+v", pending)
	}
	if pending, _ = s.ReceivedHL7(ctx, pending[0].ID, 10); len(pending) != 0 {
		t.Fatalf("after the last id: %+v", pending)
	}
}
