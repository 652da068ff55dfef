package synth

import (
	"testing"

	"github.com/lujing-health/lujing/mapping/fhirschema"
)

func TestAgainstR4Schema(t *testing.T) {
	g := New(8, Options{NationalIDSystem: "urn:oid:1.2.156.10011.1.3", CriticalShare: 0.3})
	seen := map[string]int{}
	rs := take(g, 3000)
	check := func(name string, body []byte) {
		t.Helper()
		if err := fhirschema.Validate(body); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, r := range rs {
		check(r.Ref(), r.JSON)
		seen[r.Type]++
	}
	t.Logf("validated %v", seen)
	check("transaction", Transaction(rs[:200]))
	check("batch", Batch(rs[200:400]))
	post, err := TransactionPOST(g.Patient().Events)
	if err != nil {
		t.Fatal(err)
	}
	check("POST transaction", post)
}
