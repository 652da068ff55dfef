package intake

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/resource"
)

// keyStore stores everything as new, under the patient key the intake worked out.
type keyStore struct{ slowStore }

func (s *keyStore) Accept(_ context.Context, in []store.Incoming) ([]store.Result, error) {
	out := make([]store.Result, len(in))
	for i, e := range in {
		out[i] = store.Result{MessageID: int64(i + 1), VersionID: 1, Outcome: store.OutcomeCreated, PatientKey: e.PatientKey}
	}
	return out, nil
}

type lanes struct {
	mu               sync.Mutex
	ordinary, urgent []string
}

func (l *lanes) Publish(_ context.Context, keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ordinary = append(l.ordinary, keys...)
	return nil
}

func (l *lanes) PublishUrgent(_ context.Context, keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.urgent = append(l.urgent, keys...)
	return nil
}

// TestTriageSendsSuspectsUrgent: the patient of a resource the triage picks goes through the
// urgent lane only (one delivery reads all of its messages); the others through the ordinary.
func TestTriageSendsSuspectsUrgent(t *testing.T) {
	q := &lanes{}
	var asked []string
	triage := func(src Source, typ, id string, version int, r *resource.Resource) bool {
		asked = append(asked, typ+"/"+id)
		if src.System != "lis" || version != 1 || r == nil || r.ID != id {
			t.Errorf("triage of %s/%s got source %q version %d resource %v", typ, id, src.System, version, r)
			return false
		}
		return strings.Contains(string(r.Raw), `"HH"`)
	}
	in := New(&keyStore{}, q, Options{Triage: triage})
	defer in.Close()
	obs := func(id, patient, flag string) string {
		return `{"resource":{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"K"},"subject":{"reference":"Patient/` + patient + `"},
"interpretation":[{"coding":[{"code":"` + flag + `"}]}]},"request":{"method":"PUT","url":"Observation/` + id + `"}}`
	}
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[` +
		obs("a1", "a", "N") + "," + obs("b1", "b", "N") + "," + obs("b2", "b", "HH") + "," + obs("c1", "c", "N") + `]}`
	if _, _, err := in.Bundle(context.Background(), Source{System: "lis"}, []byte(bundle)); err != nil {
		t.Fatal(err)
	}
	if want := []string{"Patient/b"}; !slices.Equal(q.urgent, want) {
		t.Errorf("urgent %v, want %v", q.urgent, want)
	}
	if want := []string{"Patient/a", "Patient/c"}; !slices.Equal(q.ordinary, want) {
		t.Errorf("ordinary %v, want %v", q.ordinary, want)
	}
	if len(asked) != 4 {
		t.Errorf("triage asked about %v", asked)
	}
}

// TestTriageReadsResolvedReferences: the triage of a result in a Bundle that names its patient
// by urn:uuid (as HL7 v2 mapping and many senders do) sees the reference the intake stores,
// not the urn:uuid, so that it can tell whose result it is.
func TestTriageReadsResolvedReferences(t *testing.T) {
	var seen string
	triage := func(_ Source, typ, _ string, _ int, r *resource.Resource) bool {
		if typ == "Observation" {
			seen = string(r.Raw)
		}
		return false
	}
	in := New(&keyStore{}, &lanes{}, Options{Triage: triage})
	defer in.Close()
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:0d5c3a8e-4a7b-4c55-9b1e-3f7f0c9a1e01","resource":{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"1"}]},"request":{"method":"POST","url":"Patient"}},
{"resource":{"resourceType":"Observation","id":"k1","status":"final","code":{"text":"K"},"subject":{"reference":"urn:uuid:0d5c3a8e-4a7b-4c55-9b1e-3f7f0c9a1e01"}},"request":{"method":"PUT","url":"Observation/k1"}}]}`
	if _, _, err := in.Bundle(context.Background(), Source{System: "lis"}, []byte(bundle)); err != nil {
		t.Fatal(err)
	}
	if seen == "" || strings.Contains(seen, "urn:uuid") || !strings.Contains(seen, `"reference":"Patient/`) {
		t.Errorf("the triage read %s", seen)
	}
}

// TestHoldPublishesOnce: Bundles stored under Hold publish nothing until its publish, which
// names each patient once, urgent if any of its resources was, the urgent lane first; a second
// publish does nothing.
func TestHoldPublishesOnce(t *testing.T) {
	q := &lanes{}
	triage := func(_ Source, _, _ string, _ int, r *resource.Resource) bool {
		return strings.Contains(string(r.Raw), `"HH"`)
	}
	in := New(&keyStore{}, q, Options{Triage: triage})
	defer in.Close()
	obs := func(id, patient, flag string) []byte {
		return []byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"K"},"subject":{"reference":"Patient/` + patient + `"},"interpretation":[{"text":"` + flag + `"}]},"request":{"method":"PUT","url":"Observation/` + id + `"}}]}`)
	}
	ctx, publish := Hold(context.Background())
	for _, b := range [][]byte{obs("o1", "a", "N"), obs("o2", "b", "N"), obs("o3", "a", "HH"), obs("o4", "a", "N")} {
		if _, _, err := in.Bundle(ctx, Source{System: "lis"}, b); err != nil {
			t.Fatal(err)
		}
	}
	if len(q.ordinary)+len(q.urgent) != 0 {
		t.Fatalf("published before publish: %v %v", q.ordinary, q.urgent)
	}
	publish()
	publish()
	if !slices.Equal(q.urgent, []string{"Patient/a"}) || !slices.Equal(q.ordinary, []string{"Patient/b"}) {
		t.Errorf("urgent %v, ordinary %v", q.urgent, q.ordinary)
	}
	// Without Hold, each Bundle publishes at once.
	if _, _, err := in.Bundle(context.Background(), Source{System: "lis"}, obs("o5", "c", "N")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.ordinary, []string{"Patient/b", "Patient/c"}) {
		t.Errorf("ordinary %v", q.ordinary)
	}
}

// TestProvenanceGoesWithItsPatient: a Provenance is filed under the patient of the entry it
// targets in its Bundle, not as a key of its own; one that names nothing of its Bundle keeps
// its own.
func TestProvenanceGoesWithItsPatient(t *testing.T) {
	q := &lanes{}
	in := New(&keyStore{}, q, Options{})
	defer in.Close()
	b := `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:0d5c3a8e-4a7b-4c55-9b1e-3f7f0c9a1e01","resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"PUT","url":"Patient/p1"}},
{"fullUrl":"urn:uuid:0d5c3a8e-4a7b-4c55-9b1e-3f7f0c9a1e02","resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"K"},"subject":{"reference":"urn:uuid:0d5c3a8e-4a7b-4c55-9b1e-3f7f0c9a1e01"}},"request":{"method":"PUT","url":"Observation/o1"}},
{"resource":{"resourceType":"Provenance","id":"pv1","target":[{"reference":"urn:uuid:0d5c3a8e-4a7b-4c55-9b1e-3f7f0c9a1e02"}],"recorded":"2026-03-01T08:00:00Z","agent":[{"who":{"display":"LIS"}}]},"request":{"method":"PUT","url":"Provenance/pv1"}},
{"resource":{"resourceType":"Provenance","id":"pv2","target":[{"reference":"Observation/elsewhere"}],"recorded":"2026-03-01T08:00:00Z","agent":[{"who":{"display":"LIS"}}]},"request":{"method":"PUT","url":"Provenance/pv2"}}]}`
	if _, _, err := in.Bundle(context.Background(), Source{System: "lis"}, []byte(b)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.ordinary, []string{"Patient/p1", "Provenance/pv2"}) {
		t.Errorf("published %v", q.ordinary)
	}
}
