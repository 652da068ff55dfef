package bundle

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lujing-health/lujing/mapping/resource"
)

// FuzzBundle: whatever arrives, Parse and Resolve do not panic, errors are *resource.Error
// with a 4xx status, and every entry ends with an id, a no-op or an error.
func FuzzBundle(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Observation","status":"final","code":{},"subject":{"reference":"urn:uuid:1"}},"request":{"method":"POST","url":"Observation"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Patient?identifier=a|b"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","managingOrganization":{"reference":"Organization?identifier=%zz"}},"request":{"method":"PUT","url":"Patient/1"}}]}`))
	if raw, err := os.ReadFile(filepath.Join("testdata", "synthea-Bob965.json")); err == nil && len(raw) < 1<<20 {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := Parse(raw, Limits{MaxEntries: 1000})
		if err != nil {
			re, ok := err.(*resource.Error)
			if !ok || re.Status < 400 || re.Status > 499 {
				t.Fatalf("Parse error %T %v is not a 4xx resource.Error", err, err)
			}
			return
		}
		if err := b.Resolve(context.Background(), fakeResolver{"Organization|a|b": "o1"}); err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		for _, e := range b.Entries {
			if e.Err == nil && !e.Noop && e.ID == "" {
				t.Fatalf("entry %d has neither id, no-op nor error", e.Index)
			}
			if e.Err != nil && (e.Err.Status < 400 || e.Err.Status > 499) {
				t.Fatalf("entry %d error status %d", e.Index, e.Err.Status)
			}
		}
	})
}
