package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func setup(t *testing.T, url string) (*sqlstore.Store, *clock) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.PutWebhook(t.Context(), store.Webhook{ID: "ns", Name: "nurse station", URL: url, Secret: "s3cret", Events: []string{"critical-value."}}); err != nil {
		t.Fatal(err)
	}
	_, err = st.SaveCore(t.Context(), store.CoreSave{Core: "criticalvalue", Patient: "Patient/p1", State: []byte(`{}`),
		Events: []store.StreamEvent{{Name: "critical-value.notified", Record: "cv1", Patient: "Patient/p1", Department: "ICU",
			At: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Data: []byte(`{"id":"cv1","value":"6.8"}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	return st, &clock{t: time.Now()}
}

func TestDeliveredSigned(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !Verify("s3cret", body, r.Header.Get(SignatureHeader)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got.Store(body)
	}))
	defer srv.Close()
	st, c := setup(t, srv.URL)
	d := New(st, Options{Now: c.now})
	if n, err := d.Tick(t.Context()); n != 1 || err != nil {
		t.Fatalf("tick: %d %v", n, err)
	}
	body, _ := got.Load().([]byte)
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil || p.Event != "critical-value.notified" || p.Record != "cv1" || string(p.Data) != `{"id":"cv1","value":"6.8"}` || p.Attempt != 1 {
		t.Fatalf("payload %s (%v)", body, err)
	}
	ds, _ := st.Deliveries(t.Context(), store.DeliveryFilter{})
	if len(ds) != 1 || ds[0].Status != store.DeliveryDelivered || ds[0].LastStatus != 200 {
		t.Fatalf("deliveries %+v", ds)
	}
	if n, _ := d.Tick(t.Context()); n != 0 {
		t.Fatalf("delivered again: %d", n)
	}
}

func TestRetriedThenDeadThenReplayed(t *testing.T) {
	var calls atomic.Int32
	var fail atomic.Bool
	fail.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	st, c := setup(t, srv.URL)
	d := New(st, Options{Now: c.now, MaxAttempts: 3, Backoff: 10 * time.Second})
	ctx := t.Context()
	d.Tick(ctx)
	ds, _ := st.Deliveries(ctx, store.DeliveryFilter{})
	if ds[0].Status != store.DeliveryPending || ds[0].Attempts != 1 || ds[0].LastStatus != 500 || !ds[0].NextAt.Equal(c.now().Add(10*time.Second).Truncate(time.Microsecond)) {
		t.Fatalf("after one failure %+v", ds[0])
	}
	if n, _ := d.Tick(ctx); n != 0 {
		t.Fatal("retried before its backoff")
	}
	c.add(10 * time.Second)
	d.Tick(ctx) // attempt 2, next in 20 s
	c.add(19 * time.Second)
	if n, _ := d.Tick(ctx); n != 0 {
		t.Fatal("backoff did not double")
	}
	c.add(time.Second)
	d.Tick(ctx) // attempt 3: dead
	dead, _ := st.Deliveries(ctx, store.DeliveryFilter{Status: store.DeliveryDead})
	if len(dead) != 1 || dead[0].Attempts != 3 || calls.Load() != 3 {
		t.Fatalf("dead letters %+v after %d calls", dead, calls.Load())
	}
	c.add(time.Hour)
	if n, _ := d.Tick(ctx); n != 0 {
		t.Fatal("a dead delivery was tried again")
	}
	// Replay from the dead-letter list once the receiver is fixed.
	fail.Store(false)
	if _, err := st.RetryDelivery(ctx, dead[0].ID, c.now()); err != nil {
		t.Fatal(err)
	}
	d.Tick(ctx)
	ds, _ = st.Deliveries(ctx, store.DeliveryFilter{})
	if ds[0].Status != store.DeliveryDelivered || ds[0].Attempts != 4 {
		t.Fatalf("after replay %+v", ds[0])
	}
}

func TestHangingAndRefusingReceivers(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	st, c := setup(t, hang.URL)
	d := New(st, Options{Now: c.now, Client: &http.Client{Timeout: 200 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d.Tick(ctx)
	ds, _ := st.Deliveries(ctx, store.DeliveryFilter{})
	if ds[0].Status != store.DeliveryPending || ds[0].Attempts != 1 || ds[0].LastError == "" {
		t.Fatalf("a hanging receiver: %+v, want a retry", ds[0])
	}

	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) }))
	defer gone.Close()
	st2, c2 := setup(t, gone.URL)
	New(st2, Options{Now: c2.now}).Tick(ctx)
	ds, _ = st2.Deliveries(ctx, store.DeliveryFilter{})
	if ds[0].Status != store.DeliveryDead || ds[0].LastStatus != 410 {
		t.Fatalf("a refusing receiver: %+v, want dead at once", ds[0])
	}
}
