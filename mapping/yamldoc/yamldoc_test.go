package yamldoc_test

import (
	"testing"

	"github.com/lujing-health/lujing/mapping/yamldoc"
)

type doc struct {
	Name  string `yaml:"name"`
	Items []struct {
		Code  string `yaml:"code"`
		Count int    `yaml:"count"`
	} `yaml:"items"`
}

const text = `name: x
items:
  - code: a
    count: 1
  - code: b
`

func TestLine(t *testing.T) {
	var v doc
	d, errs := yamldoc.Decode("f.yaml", []byte(text), &v)
	if errs != nil {
		t.Fatal(errs)
	}
	tests := []struct {
		path string
		line int
	}{
		{"name", 1},
		{"items", 3},
		{"items[0].count", 4},
		{"items[1].code", 5},
		{"items[1].count", 5}, // missing: the line of the mapping it belongs in
		{"items[7].code", 3},  // no such element: the list
		{"", 1},
	}
	for _, tt := range tests {
		if got := d.Line(tt.path); got != tt.line {
			t.Errorf("Line(%q) = %d, want %d", tt.path, got, tt.line)
		}
	}
	if got := d.Error("items[1].count", "must be %d or more", 1).Error(); got != "f.yaml:5: items[1].count: must be 1 or more" {
		t.Errorf("Error: %s", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"syntax", "name: [x\n", "f.yaml:1: not valid YAML: did not find expected ',' or ']'"},
		{"unknown field", "name: x\nitems:\n  - code: a\n    cuont: 1\n", "f.yaml:4: items[0].cuont: unknown field"},
		{"type", "name: x\nitems:\n  - count: many\n", `f.yaml:3: items[0].count: expected a whole number, got "many"`},
		{"not a mapping", "[1, 2]\n", "f.yaml:1: expected a mapping of fields at the top level"},
		{"repeated key", "name: x\nname: y\n", `f.yaml:2: name: repeated; first at line 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v doc
			_, errs := yamldoc.Decode("f.yaml", []byte(tt.yaml), &v)
			if len(errs) != 1 || errs[0].Error() != tt.want {
				t.Errorf("got %v, want %q", errs, tt.want)
			}
		})
	}
}
