package resource

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// knownInvalid are official R4 examples that Parse rejects, with the reason.
var knownInvalid = map[string]string{}

// typedRead decodes r with its typed accessor, when it has one.
func typedRead(r *Resource) error {
	var err error
	switch r.Type {
	case "AdverseEvent":
		_, err = r.AdverseEvent()
	case "Composition":
		_, err = r.Composition()
	case "Condition":
		_, err = r.Condition()
	case "DiagnosticReport":
		_, err = r.DiagnosticReport()
	case "DocumentReference":
		_, err = r.DocumentReference()
	case "Encounter":
		_, err = r.Encounter()
	case "ImagingStudy":
		_, err = r.ImagingStudy()
	case "Location":
		_, err = r.Location()
	case "MedicationRequest":
		_, err = r.MedicationRequest()
	case "Observation":
		_, err = r.Observation()
	case "Organization":
		_, err = r.Organization()
	case "Patient":
		_, err = r.Patient()
	case "Practitioner":
		_, err = r.Practitioner()
	case "Procedure":
		_, err = r.Procedure()
	case "ServiceRequest":
		_, err = r.ServiceRequest()
	}
	for _, c := range r.Contained {
		err = errors.Join(err, typedRead(c))
	}
	return err
}

// fixture is one JSON document to parse, named for failure messages.
type fixture struct {
	name string
	raw  []byte
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(path) != ".gz" {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err = io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// withEntries is the Bundle file itself followed by each entry's resource,
// as the exact bytes of the file.
func withEntries(t testing.TB, name string, raw []byte) []fixture {
	t.Helper()
	var b struct {
		Entry []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := []fixture{{name, raw}}
	for i, e := range b.Entry {
		if e.Resource != nil {
			out = append(out, fixture{name + "#entry[" + strconv.Itoa(i) + "]", e.Resource})
		}
	}
	return out
}

func glob(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no test data %s (%v)", pattern, err)
	}
	return files
}

// TestFixturesAccepted parses every official R4 example (with the entries of
// the example Bundles), both Synthea transaction Bundles with their entries,
// every line of the Synthea bulk export and our own examples (there is no
// AdverseEvent elsewhere): all must be accepted, and those of a typed
// resource type must decode with the library.
func TestFixturesAccepted(t *testing.T) {
	t.Parallel()
	var all []fixture
	for _, f := range glob(t, "testdata/fhir-r4-examples/resources/*.json") {
		all = append(all, fixture{filepath.Base(f), readFile(t, f)})
	}
	for _, f := range glob(t, "testdata/own/*.json") {
		all = append(all, fixture{filepath.Base(f), readFile(t, f)})
	}
	for _, f := range glob(t, "testdata/fhir-r4-examples/bundles/*.json") {
		all = append(all, withEntries(t, filepath.Base(f), readFile(t, f))...)
	}
	for _, f := range glob(t, "testdata/synthea-r4-bundles/*.json.gz") {
		all = append(all, withEntries(t, filepath.Base(f), readFile(t, f))...)
	}
	for _, f := range glob(t, "testdata/synthea-bulk-ndjson/*.ndjson.gz") {
		if filepath.Base(f) == "log.ndjson.gz" {
			continue // the export log, see TestBulkExportLogIsNotFHIR
		}
		all = append(all, ndjson(t, f)...)
	}
	types := map[string]int{}
	for _, f := range all {
		r, err := Parse(f.raw)
		if reason, ok := knownInvalid[f.name]; ok {
			if err == nil {
				t.Errorf("%s: accepted, but listed as invalid (%s)", f.name, reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		types[r.Type]++
		if err := typedRead(r); err != nil {
			t.Errorf("%s: accepted but the typed decode fails: %v", f.name, err)
		}
	}
	t.Logf("%d documents, %d resource types", len(all), len(types))
	for typ := range typedResources {
		if types[typ] == 0 {
			t.Errorf("no fixture of typed type %s", typ)
		}
	}
}

func ndjson(t testing.TB, path string) []fixture {
	t.Helper()
	var out []fixture
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	sc.Buffer(nil, 16<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, fixture{filepath.Base(path) + ":" + strconv.Itoa(n), bytes.Clone(sc.Bytes())})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

func TestBulkExportLogIsNotFHIR(t *testing.T) {
	for _, f := range ndjson(t, "testdata/synthea-bulk-ndjson/log.ndjson.gz") {
		_, err := Parse(f.raw)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Issues[0].Expression != "resourceType" {
			t.Errorf("%s: got %v, want a 400 on resourceType", f.name, err)
		}
	}
}
