package clinical

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
)

// countingStore counts the events EventsSince returns.
type countingStore struct {
	*sqlstore.Store
	read int
}

func (c *countingStore) EventsSince(ctx context.Context, patient string, after int64) ([]store.Event, error) {
	evs, err := c.Store.EventsSince(ctx, patient, after)
	c.read += len(evs)
	return evs, err
}

func TestEventCacheReadsOnlyNewEvents(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	add := func(n int) {
		for i := range n {
			id := fmt.Sprintf("o%d-%d", n, i)
			res, err := st.Accept(ctx, []store.Incoming{{Source: "lis", Type: "Observation", ID: id, Body: []byte(`{}`), Hash: id, PatientKey: "Patient/p"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CompleteAll(ctx, []store.Completion{{MessageID: res[0].MessageID, Status: store.StatusProcessed,
				Events: []store.Event{{Key: "Observation/" + id + "#result", Version: 1, Kind: "result", Patient: "Patient/p", At: time.Now(), Resource: "Observation/" + id}}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cs := &countingStore{Store: st}
	c := newEventCache(10, time.Minute)
	t0 := time.Now()
	add(3)
	if evs, _ := c.read(ctx, cs, "Patient/p", t0); len(evs) != 3 || cs.read != 3 {
		t.Fatalf("first read: %d events, %d from the store", len(evs), cs.read)
	}
	add(2)
	evs, _ := c.read(ctx, cs, "Patient/p", t0.Add(time.Second))
	if len(evs) != 5 || cs.read != 5 {
		t.Fatalf("second read: %d events, %d read in all; want 5 and only the 2 new read", len(evs), cs.read)
	}
	if evs[3].Key != "Observation/o2-0#result" {
		t.Fatalf("not in storing order: %v", evs[3].Key)
	}
	if evs, _ := c.read(ctx, cs, "Patient/p", t0.Add(2*time.Minute)); len(evs) != 5 || cs.read != 10 {
		t.Fatalf("after the ttl: %d events, %d read in all; want a full read", len(evs), cs.read)
	}
}
