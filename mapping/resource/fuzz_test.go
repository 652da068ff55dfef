package resource

import (
	"errors"
	"net/http"
	"testing"
)

// FuzzParse: Parse never panics and either accepts or returns an *Error
// with status 400 or 422. What it accepts must decode with the library
// (Parse's checks stand for the typed decode), and its canonical encoding
// must parse again to the same hash. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != http.StatusBadRequest && e.Status != http.StatusUnprocessableEntity) || len(e.Issues) == 0 {
				t.Fatalf("Parse error %T %v", err, err)
			}
			return
		}
		if err := typedRead(r); err != nil {
			t.Fatalf("accepted %s, but the typed decode fails: %v", r.Type, err)
		}
		r.Subject()
		r.References()
		outR, err := r.Rewritten(map[string]string{"Patient/1": "Patient/2"})
		if err != nil {
			t.Fatal(err)
		}
		out := outR.Raw
		sameR, err := r.Rewritten(nil)
		if err != nil {
			t.Fatal(err)
		}
		same := sameR.Raw
		again, err := Parse(same)
		if err != nil {
			t.Fatalf("canonical encoding rejected: %v\n%s", err, same)
		}
		if again.Hash() != r.Hash() {
			t.Fatalf("canonical encoding hashes differently:\n%s", same)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("rewritten references rejected: %v\n%s", err, out)
		}
	})
}
