package resource

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// TestMutationsAgreeWithLibrary is a systematic check of the promise behind
// Parse's checks: what Parse accepts, the library decodes. Starting from one
// real example of each typed resource type, every element in turn is
// replaced by each value of a set of wrong and right JSON types, and every
// variant that Parse accepts must decode with the typed accessor.
func TestMutationsAgreeWithLibrary(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	var bases []map[string]any
	var docs [][]byte
	for _, f := range append(glob(t, "testdata/fhir-r4-examples/resources/*.json"), glob(t, "testdata/own/*.json")...) {
		docs = append(docs, readFile(t, f))
	}
	for _, f := range glob(t, "testdata/fhir-r4-examples/bundles/*.json") {
		for _, e := range withEntries(t, f, readFile(t, f)) {
			docs = append(docs, e.raw)
		}
	}
	for _, doc := range docs {
		r, err := Parse(doc)
		if err != nil || typedResources[r.Type] == nil || seen[r.Type] {
			continue
		}
		seen[r.Type] = true
		bases = append(bases, r.Map())
	}
	if len(bases) != len(typedResources) {
		t.Fatalf("examples of %d typed types, want %d", len(bases), len(typedResources))
	}
	alternatives := []any{
		"x", "final", "", json.Number("1"), json.Number("1.5"), json.Number("3000000000"),
		true, nil, map[string]any{}, map[string]any{"x": "y"}, []any{}, []any{"x"}, []any{nil},
		[]any{map[string]any{}}, []any{json.Number("2")},
	}
	var variants, accepted int
	for _, base := range bases {
		for _, path := range paths(base, nil) {
			for _, alt := range alternatives {
				body, err := encode(replace(base, path, alt))
				if err != nil {
					t.Fatal(err)
				}
				variants++
				r, err := Parse(body)
				if err != nil {
					continue
				}
				accepted++
				if err := typedRead(r); err != nil {
					t.Errorf("accepted but the typed decode fails: %v\n%s", err, body)
				}
			}
		}
	}
	t.Logf("%d variants of %d examples, %d accepted", variants, len(bases), accepted)
}

// paths lists the path (keys and indices) of every value below v, except
// resourceType.
func paths(v any, prefix []any) [][]any {
	var out [][]any
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if k == "resourceType" && len(prefix) == 0 {
				continue
			}
			p := append(slices.Clone(prefix), k)
			out = append(append(out, p), paths(x[k], p)...)
		}
	case []any:
		for i, e := range x {
			p := append(slices.Clone(prefix), i)
			out = append(append(out, p), paths(e, p)...)
		}
	}
	return out
}

// replace returns a copy of v with the value at path replaced by with.
func replace(v any, path []any, with any) any {
	if len(path) == 0 {
		return with
	}
	switch x := v.(type) {
	case map[string]any:
		c := maps.Clone(x)
		k := path[0].(string)
		c[k] = replace(x[k], path[1:], with)
		return c
	case []any:
		c := slices.Clone(x)
		i := path[0].(int)
		c[i] = replace(x[i], path[1:], with)
		return c
	}
	panic("path does not fit")
}
