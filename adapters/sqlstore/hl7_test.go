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
