// Package yamldoc reads Lujing's YAML configuration files (code maps, surgery grading
// catalogues, source profiles) strictly, and reports problems as "file:line: field: problem",
// so that `lujing check` points a hospital's IT at the exact line to fix.
//
// It decodes twice: once into a yaml.Node tree, which keeps line numbers, and once into the
// caller's struct with unknown fields refused. Checks done after decoding name the element by
// a path such as "groups[0].elements[3].equivalence"; Doc.Error finds its line in the tree.
package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/lujing-health/lujing/mapping/resource"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a YAML file.
type Error struct {
	File    string
	Line    int    // 0 when no line can be named
	Field   string // path of the element, e.g. "groups[0].target"; empty for the whole file
	Problem string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Doc is a decoded YAML document that can name the line of any of its elements.
type Doc struct {
	File string
	root *yaml.Node // the document's top mapping
}

// Decode decodes data, the contents of file, into v (a pointer to a struct with yaml tags).
// Unknown fields, wrong types and YAML syntax errors are returned as *Error values, all of
// them for type errors; with errors the Doc is nil.
func Decode(file string, data []byte, v any) (*Doc, []error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []error{syntaxError(file, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, []error{&Error{File: file, Problem: "empty document"}}
	}
	root := doc.Content[0]
	d := &Doc{File: file, root: root}
	if root.Kind != yaml.MappingNode {
		return nil, []error{&Error{File: file, Line: root.Line, Problem: "expected a mapping of fields at the top level"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return d, nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return nil, []error{syntaxError(file, err)}
	}
	var errs []error
	for _, msg := range te.Errors {
		errs = append(errs, d.typeError(msg))
	}
	return nil, errs
}

var (
	lineRE    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownRE = regexp.MustCompile(`^field (\S+) not found in type .+$`)
	typeRE    = regexp.MustCompile("^cannot unmarshal !!(\\w+) (?:`(.*)` )?into (\\S+)$")
	dupRE     = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

func syntaxError(file string, err error) error {
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: n, Problem: "not valid YAML: " + m[2]}
	}
	return &Error{File: file, Problem: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// typeError turns one of yaml.v3's "line N: …" type errors into an Error naming the field.
func (d *Doc) typeError(msg string) error {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return &Error{File: d.File, Problem: msg}
	}
	line, _ := strconv.Atoi(m[1])
	e := &Error{File: d.File, Line: line, Problem: m[2]}
	if u := unknownRE.FindStringSubmatch(m[2]); u != nil {
		e.Field, _ = d.find(d.root, "", func(k, _ *yaml.Node) bool { return k.Line == line && k.Value == u[1] })
		e.Problem = "unknown field"
		return e
	}
	if u := dupRE.FindStringSubmatch(m[2]); u != nil {
		e.Field, _ = d.find(d.root, "", func(k, _ *yaml.Node) bool { return k.Line == line && k.Value == u[1] })
		e.Problem = "repeated; first at line " + u[2]
		return e
	}
	if t := typeRE.FindStringSubmatch(m[2]); t != nil {
		// The node on that line with the value quoted (a scalar), or of the kind named.
		kind := map[string]yaml.Kind{"seq": yaml.SequenceNode, "map": yaml.MappingNode}[t[1]]
		e.Field, _ = d.find(d.root, "", func(_, v *yaml.Node) bool {
			if kind != 0 {
				return v.Line == line && v.Kind == kind
			}
			return v.Line == line && v.Kind == yaml.ScalarNode && v.Value == t[2]
		})
		e.Problem = fmt.Sprintf("expected %s, got %s", goKind(t[3]), yamlKind(t[1], t[2]))
	}
	return e
}

func goKind(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case t == "string":
		return "a text"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "a mapping of fields"
}

func yamlKind(tag, value string) string {
	switch tag {
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	}
	return strconv.Quote(value)
}

// find walks the tree depth first for a mapping entry (key node, value node) or list element
// (nil, element) that match reports, and returns its path.
func (d *Doc) find(n *yaml.Node, path string, match func(k, v *yaml.Node) bool) (string, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if match(k, v) {
				return p, true
			}
			if p, ok := d.find(v, p, match); ok {
				return p, true
			}
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			if v.Kind == yaml.ScalarNode && match(&yaml.Node{Line: -1}, v) {
				return p, true
			}
			if p, ok := d.find(v, p, match); ok {
				return p, true
			}
		}
	}
	return "", false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Error reports a problem with the element at path ("groups[0].elements[3].equivalence"). The
// line is that of the element, or of the nearest enclosing element present in the file (the
// mapping a missing field belongs in).
func (d *Doc) Error(path, format string, args ...any) *Error {
	return &Error{File: d.File, Line: d.Line(path), Field: path, Problem: fmt.Sprintf(format, args...)}
}

// Line is the line of the element at path, as described for Error; 0 for an empty Doc.
func (d *Doc) Line(path string) int {
	if d == nil || d.root == nil {
		return 0
	}
	n := d.root
	for _, s := range steps(path) {
		next := child(n, s)
		if next == nil {
			break
		}
		n = next
	}
	return n.Line
}

// step is one element of a path: a field name, or an index when key is empty.
type step struct {
	key   string
	index int
}

func steps(path string) []step {
	var out []step
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			out = append(out, step{key: name})
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if err != nil {
				break
			}
			out = append(out, step{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

func child(n *yaml.Node, s step) *yaml.Node {
	switch {
	case s.key != "" && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == s.key {
				return n.Content[i+1]
			}
		}
	case s.key == "" && n.Kind == yaml.SequenceNode && s.index >= 0 && s.index < len(n.Content):
		return n.Content[s.index]
	}
	return nil
}

// Versioned checks what every versioned configuration document has at its top: an id that
// is a FHIR id (it becomes the id of the FHIR resource exported from it) and a version.
func (d *Doc) Versioned(id, version string) []error {
	var errs []error
	switch {
	case id == "":
		errs = append(errs, d.Error("id", "required"))
	case !resource.ValidID(id):
		errs = append(errs, d.Error("id", "%q is not a FHIR id: 1 to 64 of A-Z a-z 0-9 - .", id))
	}
	if version == "" {
		errs = append(errs, d.Error("version", "required"))
	}
	return errs
}
