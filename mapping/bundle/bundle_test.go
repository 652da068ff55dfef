package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/mapping/resource"
)

// fakeResolver holds resources "stored before" the Bundle.
type fakeResolver map[string]string // "Type|system|value" → id

func (f fakeResolver) LookupIdentifier(_ context.Context, typ, system, value string) (string, error) {
	return f[typ+"|"+system+"|"+value], nil
}

func mustResolve(t *testing.T, raw string, r Resolver) *Bundle {
	t.Helper()
	b, err := Parse([]byte(raw), Limits{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := b.Resolve(context.Background(), r); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return b
}

func field(t *testing.T, body []byte, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, c := range p {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func TestResolveURNAndConditionalReferences(t *testing.T) {
	raw := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111",
	  "resource":{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"A1"}]},
	  "request":{"method":"POST","url":"Patient"}},
	 {"fullUrl":"urn:uuid:22222222-2222-2222-2222-222222222222",
	  "resource":{"resourceType":"Observation","status":"final","code":{"text":"K"},
	    "subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"},
	    "performer":[{"reference":"Organization?identifier=urn:org|H1"},{"reference":"Practitioner?identifier=urn:npi|999"}],
	    "valueQuantity":{"value":7.20,"unit":"mmol/L"}},
	  "request":{"method":"POST","url":"Observation"}}]}`
	b := mustResolve(t, raw, fakeResolver{"Organization|urn:org|H1": "org-1"})
	p, o := b.Entries[0], b.Entries[1]
	if p.ID != "11111111-1111-1111-1111-111111111111" {
		t.Errorf("patient id = %q, want the urn's uuid", p.ID)
	}
	if got := field(t, o.Body, "subject", "reference"); got != "Patient/"+p.ID {
		t.Errorf("subject = %v, want Patient/%s", got, p.ID)
	}
	if got := field(t, o.Body, "performer", "0", "reference"); got != "Organization/org-1" {
		t.Errorf("known conditional reference = %v, want Organization/org-1", got)
	}
	if got := field(t, o.Body, "performer", "1", "reference"); got != "Practitioner?identifier=urn:npi|999" {
		t.Errorf("unknown conditional reference = %v, want it kept as written", got)
	}
	if !strings.Contains(string(o.Body), "7.20") {
		t.Errorf("decimal lost its precision: %s", o.Body)
	}
	if o.Subject() != "Patient/"+p.ID {
		t.Errorf("Subject() = %q", o.Subject())
	}
	unresolved, err := Parse([]byte(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Hash() == unresolved.Entries[1].Resource.Hash() {
		t.Error("hash of the rewritten body should differ from the raw one")
	}
}

func TestConditionalReferenceToEntryInSameBundle(t *testing.T) {
	raw := `{"resourceType":"Bundle","type":"batch","entry":[
	 {"resource":{"resourceType":"Organization","id":"h1","identifier":[{"system":"urn:org","value":"H1"}]},
	  "request":{"method":"PUT","url":"Organization/h1"}},
	 {"resource":{"resourceType":"Patient","id":"p1","managingOrganization":{"reference":"Organization?identifier=urn:org|H1"}},
	  "request":{"method":"PUT","url":"Patient/p1"}}]}`
	b := mustResolve(t, raw, nil)
	if got := field(t, b.Entries[1].Body, "managingOrganization", "reference"); got != "Organization/h1" {
		t.Errorf("reference = %v, want Organization/h1", got)
	}
}

func TestIfNoneExistAndConditionalUpdateDelete(t *testing.T) {
	raw := `{"resourceType":"Bundle","type":"batch","entry":[
	 {"fullUrl":"urn:uuid:aaaaaaaa-1111-1111-1111-111111111111","resource":{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"A1"}]},
	  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:mrn|A1"}},
	 {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"B2"}]},
	  "request":{"method":"PUT","url":"Patient?identifier=urn%3Amrn%7CB2"}},
	 {"request":{"method":"DELETE","url":"Patient?identifier=urn:mrn|C3"}},
	 {"request":{"method":"DELETE","url":"Patient?identifier=urn:mrn|none"}},
	 {"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient?name=x"}}]}`
	b := mustResolve(t, raw, fakeResolver{
		"Patient|urn:mrn|A1": "stored-a1", "Patient|urn:mrn|B2": "stored-b2", "Patient|urn:mrn|C3": "stored-c3"})
	if e := b.Entries[0]; !e.Exists || e.ID != "stored-a1" {
		t.Errorf("ifNoneExist: exists=%v id=%q, want the stored one", e.Exists, e.ID)
	}
	if e := b.Entries[1]; e.ID != "stored-b2" || e.Err != nil {
		t.Errorf("conditional PUT: id=%q err=%v", e.ID, e.Err)
	}
	if e := b.Entries[2]; e.ID != "stored-c3" || e.Noop {
		t.Errorf("conditional DELETE: id=%q noop=%v", e.ID, e.Noop)
	}
	if e := b.Entries[3]; !e.Noop {
		t.Errorf("conditional DELETE of nothing should be a no-op")
	}
	if e := b.Entries[4]; e.Err == nil || e.Err.Status != 400 {
		t.Errorf("unsupported conditional search: err=%v, want 400", e.Err)
	}
}

func TestEntryErrors(t *testing.T) {
	cases := []struct {
		name, entry string
		status      int
		expr        string
	}{
		{"no request", `{"resource":{"resourceType":"Patient"}}`, 400, "Bundle.entry[0].request.method"},
		{"GET", `{"request":{"method":"GET","url":"Patient/1"}}`, 400, "Bundle.entry[0].request.method"},
		{"type mismatch", `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Observation"}}`, 400, "Bundle.entry[0].request.url"},
		{"id mismatch", `{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/b"}}`, 400, "Bundle.entry[0].resource.id"},
		{"missing status", `{"resource":{"resourceType":"Observation","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}`, 422, "Bundle.entry[0].resource.status"},
		{"no resource", `{"request":{"method":"PUT","url":"Patient/1"}}`, 400, "Bundle.entry[0].resource"},
		{"delete unknown type", `{"request":{"method":"DELETE","url":"Nope/1"}}`, 400, "Bundle.entry[0].request.url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Parse([]byte(`{"resourceType":"Bundle","type":"batch","entry":[`+tc.entry+`]}`), Limits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			e := b.Entries[0].Err
			if e == nil {
				t.Fatal("no entry error")
			}
			if e.Status != tc.status || e.Issues[0].Expression != tc.expr {
				t.Errorf("got %d %q, want %d %q (%v)", e.Status, e.Issues[0].Expression, tc.status, tc.expr, e)
			}
		})
	}
}

func TestBundleErrors(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
	}{
		{"not JSON", `{"resourceType":`, 400},
		{"not a bundle", `{"resourceType":"Patient"}`, 400},
		{"collection", `{"resourceType":"Bundle","type":"collection"}`, 400},
		{"entry not array", `{"resourceType":"Bundle","type":"batch","entry":{}}`, 400},
		{"too many entries", `{"resourceType":"Bundle","type":"batch","entry":[{},{},{}]}`, 422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body), Limits{MaxEntries: 2})
			re, ok := err.(*resource.Error)
			if !ok || re.Status != tc.status {
				t.Fatalf("err = %v, want status %d", err, tc.status)
			}
		})
	}
}

// TestSyntheaBundle resolves a real Synthea transaction: every urn:uuid reference must point
// to a server id afterwards, and the conditional references to practitioners the server has
// never seen stay as written.
func TestSyntheaBundle(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "synthea-Bob965.json"))
	if err != nil {
		t.Fatal(err)
	}
	b := mustResolve(t, string(raw), nil)
	if e := b.FirstError(); e != nil {
		t.Fatalf("entry error: %v", e)
	}
	for _, e := range b.Entries {
		if strings.Contains(string(e.Body), `"reference":"urn:uuid:`) || strings.Contains(string(e.Body), `"reference": "urn:uuid:`) {
			t.Errorf("entry %d (%s) still has a urn:uuid reference", e.Index, e.Type)
		}
		if e.Type != "Patient" && e.Type != "Organization" && e.Type != "Practitioner" && e.Type != "Location" && e.Type != "Provenance" &&
			!strings.HasPrefix(e.Subject(), "Patient/") && e.Subject() != "" {
			t.Errorf("entry %d (%s) subject %q not resolved", e.Index, e.Type, e.Subject())
		}
	}
}

// TestResolvedResourceIsTheBody: after Resolve an entry's Resource reads as its Body (the
// server's references, the same content hash as the body parsed again), so that the intake
// reads what it stores without parsing it twice.
func TestResolvedResourceIsTheBody(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "synthea-Bob965.json"))
	if err != nil {
		t.Fatal(err)
	}
	b := mustResolve(t, string(raw), nil)
	rewritten := 0
	for _, e := range b.Entries {
		if e.Resource == nil {
			continue
		}
		again, err := resource.Parse(e.Body)
		if err != nil {
			t.Fatalf("entry %d: %v", e.Index, err)
		}
		if !bytes.Equal(e.Resource.Raw, e.Body) || e.Hash() != again.Hash() || e.Resource.Subject() != again.Subject() {
			t.Errorf("entry %d (%s): the resource is not its body (hash %s, body %s; subject %q, body %q)",
				e.Index, e.Type, e.Hash(), again.Hash(), e.Resource.Subject(), again.Subject())
		}
		if strings.Contains(string(raw), e.FullURL) && strings.Contains(e.Resource.Subject(), "urn:uuid:") {
			t.Errorf("entry %d: subject %q", e.Index, e.Resource.Subject())
		}
		if strings.HasPrefix(e.Resource.Subject(), "Patient/") && e.Type != "Patient" {
			rewritten++
		}
	}
	if rewritten == 0 {
		t.Fatal("no entry had its patient reference rewritten")
	}
}

func TestReferenceInsideContainedIsRewritten(t *testing.T) {
	raw := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:33333333-1111-1111-1111-111111111111","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"DiagnosticReport","id":"r1","status":"final","code":{"text":"K"},
	   "subject":{"reference":"urn:uuid:33333333-1111-1111-1111-111111111111"},
	   "contained":[{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"K"},"subject":{"reference":"urn:uuid:33333333-1111-1111-1111-111111111111"}}],
	   "result":[{"reference":"#o1"}]},
	  "request":{"method":"PUT","url":"DiagnosticReport/r1"}}]}`
	b := mustResolve(t, raw, nil)
	body := b.Entries[1].Body
	if got := field(t, body, "contained", "0", "subject", "reference"); got != "Patient/33333333-1111-1111-1111-111111111111" {
		t.Errorf("contained subject = %v", got)
	}
	if got := field(t, body, "result", "0", "reference"); got != "#o1" {
		t.Errorf("local reference = %v, want #o1 untouched", got)
	}
}
