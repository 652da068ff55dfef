package mapping_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/mapping"
)

var update = flag.Bool("update", false, "rewrite the expected part of the golden cases")

// separator divides a golden case: the input above, the expected outcome below.
const separator = "----------"

// outcome is what mapping one resource gave, as the golden files show it.
type outcome struct {
	Resource string          `json:"resource"`
	Version  int             `json:"version,omitempty"`
	Events   []mapping.Event `json:"events,omitempty"`
	Unmapped []mapping.Code  `json:"unmapped,omitempty"`
	Flags    []string        `json:"flags,omitempty"`
	Missing  []string        `json:"missing,omitempty"` // a *MissingError: parked
	Error    string          `json:"error,omitempty"`
}

// TestGolden maps each case of testdata/golden and compares the outcome with the expected part
// (go test -update rewrites it). A case is a FHIR resource or Bundle, optionally preceded by
// "# source: lis", "# profile: x", "# hospital: h" lines, then the separator line, then the
// outcomes as JSON, one per resource (per Bundle entry, in order). For a Bundle the entries are
// what the store holds (the last version of each); a lone resource is all the store holds.
// Versions are meta.versionId, else the entry's rank among those of the same resource.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases (%v)", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := bytes.Cut(raw, []byte("\n"+separator+"\n"))
			if !ok {
				t.Fatalf("no %q line", separator)
			}
			got := runCase(t, input)
			if *update {
				out := append(append(input, "\n"+separator+"\n"...), got...)
				if err := os.WriteFile(file, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if string(want) != string(got) {
				t.Errorf("outcome differs (go test -update rewrites it):\n%s", got)
			}
		})
	}
}

func runCase(t *testing.T, input []byte) []byte {
	in := mapping.Input{Hospital: "LUJING-DEMO", Source: "generic"}
	var body []byte
	for _, line := range strings.SplitAfter(string(input), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "#"), ":")
		if !strings.HasPrefix(line, "#") || !ok {
			body = append(body, line...)
			continue
		}
		switch v = strings.TrimSpace(v); strings.TrimSpace(k) {
		case "source":
			in.Source = v
		case "profile":
			in.Profile = v
		case "hospital":
			in.Hospital = v
		default:
			t.Fatalf("unknown directive %q", line)
		}
	}
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		t.Fatalf("input: %v", err)
	}
	entries := []entry{{ref: head.ResourceType + "/" + head.ID, body: body}}
	if head.ResourceType == "Bundle" {
		entries = bundleEntries(t, body)
	}
	store := newStore()
	for _, e := range entries {
		store.put(e.ref, e.body)
	}
	m := newMapper(t, store)
	var outs []outcome
	rank := map[string]int{}
	for _, e := range entries {
		x := in
		x.Type, x.ID, _ = strings.Cut(e.ref, "/")
		x.Body = e.body
		if e.source != "" {
			x.Source = e.source
		}
		rank[e.ref]++
		x.Version = versionOf(e.body)
		if x.Version == 0 {
			x.Version = rank[e.ref]
		}
		res, err := m.Map(context.Background(), x)
		o := outcome{Resource: e.ref, Events: res.Events, Unmapped: res.Unmapped, Flags: res.Flags}
		if x.Version > 1 {
			o.Version = x.Version
		}
		var miss *mapping.MissingError
		switch {
		case errors.As(err, &miss):
			o.Missing = miss.Needs
		case err != nil:
			o.Error = err.Error()
		}
		outs = append(outs, o)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(outs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
