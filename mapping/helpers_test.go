package mapping_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/grading"
	"github.com/lujing-health/lujing/mapping/resource"
)

// memStore is Resources over a map, safe for concurrent use.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte // "Type/id" → current body
}

func newStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) Get(_ context.Context, typ, id string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[typ+"/"+id]
	return b, ok, nil
}

func (s *memStore) put(ref string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[ref] = body
}

// newMapper is the mapper as Lujing ships it: the default profiles (read from
// adapters/profile's files, which mapping may not import), the example code maps and grading
// catalogue, the default zone.
func newMapper(t testing.TB, res mapping.Resources) *mapping.Clinical {
	t.Helper()
	maps, err := codemap.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	grades, err := grading.Example()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.New(res, mapping.Options{Profiles: defaultProfiles(t), CodeMaps: maps, Grades: grades})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func defaultProfiles(t testing.TB) map[string]mapping.Profile {
	t.Helper()
	files, err := filepath.Glob("../adapters/profile/defaults/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no default profiles (%v)", err)
	}
	out := map[string]mapping.Profile{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p mapping.Profile
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[p.Name] = p
	}
	return out
}

// SourceExtension marks the source system of a Bundle entry in test data (the synth stories).
const sourceExtension = "http://lujing.example/fhir/StructureDefinition/source-system"

// entry is one resource of a test Bundle, references resolved as intake would.
type entry struct {
	ref    string
	source string
	body   []byte
}

// bundleEntries reads the entries of a Bundle. urn:uuid references to other entries become
// Type/id, as intake rewrites them.
func bundleEntries(t testing.TB, raw []byte) []entry {
	t.Helper()
	var b struct {
		Entry []struct {
			FullURL   string `json:"fullUrl"`
			Resource  json.RawMessage
			Extension []struct {
				URL       string `json:"url"`
				ValueCode string `json:"valueCode"`
			}
		}
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	rewrite := map[string]string{}
	var parsed []*resource.Resource
	var out []entry
	for i, e := range b.Entry {
		if e.Resource == nil {
			continue
		}
		r, err := resource.Parse(e.Resource)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		id := r.ID
		if id == "" {
			id = "entry-" + strconv.Itoa(i)
		}
		ref := r.Type + "/" + id
		if strings.HasPrefix(e.FullURL, "urn:") {
			rewrite[e.FullURL] = ref
		}
		var source string
		for _, x := range e.Extension {
			if x.URL == sourceExtension {
				source = x.ValueCode
			}
		}
		parsed = append(parsed, r)
		out = append(out, entry{ref: ref, source: source, body: e.Resource})
	}
	if len(rewrite) > 0 {
		for i, r := range parsed {
			nr, err := r.Rewritten(rewrite)
			if err != nil {
				t.Fatal(err)
			}
			out[i].body = nr.Raw
		}
	}
	return out
}

// versionOf is meta.versionId when it is a number, else 0.
func versionOf(body []byte) int {
	var m struct {
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	_ = json.Unmarshal(body, &m)
	n, _ := strconv.Atoi(m.Meta.VersionID)
	return n
}
