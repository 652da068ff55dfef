package hl7v2_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/mapping/bundle"
	"github.com/lujing-health/lujing/mapping/fhirschema"
)

func fixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/microsoft-fhir-converter/*.hl7")
	if err != nil || len(files) < 130 {
		t.Fatalf("fixtures: %d files, %v", len(files), err)
	}
	return files
}

// mappedTypes are the message types ToFHIR maps; the others must be reported unsupported.
var mappedTypes = map[string]bool{"ADT": true, "ORU": true, "ORM": true, "OML": true, "MDM": true}

// TestFixturesParse: every shared sample message parses, has a control id and a version Lujing
// accepts.
func TestFixturesParse(t *testing.T) {
	for _, f := range fixtures(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := hl7v2.Parse(data, hl7v2.ParseOptions{})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if m.ControlID() == "" {
			t.Errorf("%s: no control id", filepath.Base(f))
		}
		if err := hl7v2.CheckVersion(m); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

// TestFixturesMap: the sample messages of the mapped types become a transaction Bundle whose
// every resource validates against the R4 JSON Schema and passes the intake's own checks, with
// no entry refused; the others are reported unsupported.
func TestFixturesMap(t *testing.T) {
	mapped := 0
	for _, f := range fixtures(t) {
		name := filepath.Base(f)
		data, _ := os.ReadFile(f)
		m, err := hl7v2.Parse(data, hl7v2.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		code, _, _ := m.Type()
		opt := hl7v2.Options{Sender: "test", Raw: data}
		res, err := hl7v2.ToFHIR(m, opt)
		if hl7v2.IsUnsupported(err) {
			if mappedTypes[code] {
				t.Logf("%s: %s not mapped (%v)", name, m.TypeString(), err)
			}
			// Kept all the same: the raw message as a Binary with its Provenance.
			kept, err := hl7v2.KeepOnly(m, opt)
			if err != nil {
				t.Errorf("%s: KeepOnly: %v", name, err)
				continue
			}
			checkBundle(t, name, kept.Bundle)
			continue
		}
		if !mappedTypes[code] {
			t.Errorf("%s: %s should be unsupported, got %v", name, code, err)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		mapped++
		checkBundle(t, name, res.Bundle)
	}
	if mapped < 57 {
		t.Errorf("only %d fixtures mapped", mapped)
	}
}

// checkBundle validates the Bundle and each resource in it with the R4 schema, and runs it
// through the intake's Bundle parser and resolution.
func checkBundle(t *testing.T, name string, raw []byte) {
	t.Helper()
	if err := fhirschema.Validate(raw); err != nil {
		t.Errorf("%s: Bundle: %v", name, err)
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for i, e := range b.Entry {
		if err := fhirschema.Validate(e.Resource); err != nil {
			t.Errorf("%s: entry %d: %v\n%s", name, i, err, e.Resource)
		}
	}
	pb, err := bundle.Parse(raw, bundle.Limits{})
	if err != nil {
		t.Fatalf("%s: bundle.Parse: %v", name, err)
	}
	if err := pb.Resolve(context.Background(), nil); err != nil {
		t.Fatalf("%s: resolve: %v", name, err)
	}
	if e := pb.FirstError(); e != nil {
		t.Errorf("%s: intake refuses an entry: %v", name, strings.TrimSpace(e.Error()))
	}
}

// TestCheckAgreesWithToFHIR: Check, which the listener answers with, gives every sample message
// the verdict ToFHIR gives it (the same error, the same warnings), without a Bundle.
func TestCheckAgreesWithToFHIR(t *testing.T) {
	messages := map[string][]byte{
		"not a number": []byte("MSH|^~\\&|LIS|H|LJ|H|20260301080000||ORU^R01|C1|P|2.5.1\rPID|1||100^^^H^MR\rOBR|1|||2823-3^K^LN\rOBX|1|NM|2823-3^K^LN||high\r"),
		"no PID":       []byte("MSH|^~\\&|LIS|H|LJ|H|20260301080000||ORU^R01|C2|P|2.5.1\rOBR|1|||2823-3^K^LN\r"),
	}
	for _, f := range fixtures(t) {
		messages[filepath.Base(f)], _ = os.ReadFile(f)
	}
	for name, data := range messages {
		m, err := hl7v2.Parse(data, hl7v2.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		o := hl7v2.Options{Sender: "lab", Raw: data}
		full, ferr := hl7v2.ToFHIR(m, o)
		check, cerr := hl7v2.Check(m, o)
		if (ferr == nil) != (cerr == nil) || ferr != nil && ferr.Error() != cerr.Error() {
			t.Errorf("%s: ToFHIR %v, Check %v", name, ferr, cerr)
			continue
		}
		if ferr != nil {
			continue
		}
		if strings.HasPrefix(name, "no") {
			t.Errorf("%s: mapped", name)
		}
		if check.Bundle != nil || len(check.Warnings) != len(full.Warnings) {
			t.Errorf("%s: Check wrote %d bytes, %d warnings; ToFHIR %d warnings", name, len(check.Bundle), len(check.Warnings), len(full.Warnings))
		}
	}
}
