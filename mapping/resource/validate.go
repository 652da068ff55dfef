package resource

import (
	"cmp"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxIssues bounds an OperationOutcome: past it, a sender learns nothing new.
const maxIssues = 100

// checker collects the issues of one Parse, with the FHIRPath of the
// element being checked kept as a stack so that a path string is only built
// when there is an issue to report.
type checker struct {
	issues []Issue
	base   string // "Observation", or "Patient.contained[0]"
	path   []step
	// stored skips the element checks: the body was checked when it was accepted.
	stored bool
}

type step struct {
	name  string
	index int // -1: not an array element
}

func (c *checker) push(name string) { c.path = append(c.path, step{name: name, index: -1}) }
func (c *checker) pop()             { c.path = c.path[:len(c.path)-1] }

func (c *checker) expr() string {
	var b strings.Builder
	b.WriteString(c.base)
	for _, s := range c.path {
		b.WriteByte('.')
		b.WriteString(s.name)
		if s.index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		}
	}
	return b.String()
}

// add reports an issue on the current element, or on its child when name is
// given.
func (c *checker) add(code, diag string, name ...string) {
	if len(c.issues) >= maxIssues {
		return
	}
	expr := c.expr()
	for _, n := range name {
		expr += "." + n
	}
	c.issues = append(c.issues, Issue{Severity: "error", Code: code, Diagnostics: diag, Expression: expr})
}

// sorted orders issues by element, so that an OperationOutcome does not
// depend on Go's map iteration order.
func (c *checker) sorted() []Issue {
	slices.SortStableFunc(c.issues, func(a, b Issue) int {
		return cmp.Or(cmp.Compare(a.Expression, b.Expression), cmp.Compare(a.Diagnostics, b.Diagnostics))
	})
	return c.issues
}

// object checks a JSON object against what the library's struct accepts:
// JSON types, enum codes, required elements.
func (c *checker) object(o *object, m map[string]any) {
	for key, v := range m {
		e := o.lookup(key)
		if e == nil || v == nil {
			// Unknown properties, "_x" primitive extensions and nulls are
			// ignored by the typed decode too; the raw bytes keep them.
			continue
		}
		c.push(key)
		if !e.list {
			c.value(e, v)
		} else if arr, ok := v.([]any); !ok {
			c.add("structure", "expected an array, got "+jsonType(v))
		} else {
			n := len(c.path) - 1 // c.value may grow c.path: index, not pointer
			for i, x := range arr {
				c.path[n].index = i
				c.value(e, x)
			}
		}
		c.pop()
	}
	for _, e := range o.required {
		if !empty(m[e.name]) {
			continue
		}
		diag := fmt.Sprintf("%s is required (%s), and missing", e.name, minCard(e))
		if m["_"+e.name] != nil {
			diag = fmt.Sprintf("%s is required (%s), and given only as an extension (_%s): Lujing needs the value", e.name, minCard(e), e.name)
		}
		c.add("required", diag, e.name)
	}
	for _, ch := range o.choices {
		n := 0
		for _, name := range ch.names {
			if !empty(m[name]) {
				n++
			}
		}
		switch {
		case n == 0:
			c.add("required", fmt.Sprintf("%s[x] is required (1..1): one of %s", ch.base, strings.Join(ch.names, ", ")), ch.base+"[x]")
		case n > 1:
			c.add("invalid", fmt.Sprintf("%s[x] takes only one of %s", ch.base, strings.Join(ch.names, ", ")), ch.base+"[x]")
		}
	}
}

func minCard(e *element) string {
	if e.list {
		return "1..*"
	}
	return "1..1"
}

// empty is absent for FHIR: missing, null, "", [] or {}. A required
// primitive given only as an extension ("_status") is empty too: Lujing
// needs the value.
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// value checks one JSON value (a property, or one array element) against
// the element's Go type.
func (c *checker) value(e *element, v any) {
	if v == nil {
		// null array elements are FHIR's way to align "_given" extensions;
		// encoding/json leaves the zero value, except that an enum's
		// UnmarshalJSON is called with "null" and fails.
		if e.kind == kindCode {
			c.add("code-invalid", "null is not a code; allowed: "+strings.Join(e.codes, " | "))
		}
		return
	}
	switch e.kind {
	case kindString:
		if _, ok := v.(string); !ok {
			c.add("structure", "expected a string, got "+jsonType(v))
		}
	case kindBool:
		if _, ok := v.(bool); !ok {
			c.add("structure", "expected true or false, got "+jsonType(v))
		}
	case kindInt:
		n, ok := v.(json.Number)
		if !ok {
			c.add("structure", "expected an integer, got "+jsonType(v))
		} else if _, err := strconv.ParseInt(string(n), 10, 32); err != nil {
			c.add("value", "expected a 32-bit integer, got "+quote(string(n)))
		}
	case kindDecimal:
		// encoding/json would also take a numeric string; FHIR would not.
		if _, ok := v.(json.Number); !ok {
			c.add("structure", "expected a number, got "+jsonType(v))
		}
	case kindCode:
		s, ok := v.(string)
		switch {
		case !ok:
			c.add("code-invalid", "expected a code (a JSON string), got "+jsonType(v)+"; allowed: "+strings.Join(e.codes, " | "))
		case !slices.Contains(e.codes, s):
			c.add("code-invalid", "unknown code "+quote(s)+"; allowed: "+strings.Join(e.codes, " | "))
		}
	case kindObject:
		if m, ok := v.(map[string]any); ok {
			c.object(e.object, m)
		} else {
			c.add("structure", "expected an object, got "+jsonType(v))
		}
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// ValidID reports whether s follows the FHIR id rule [A-Za-z0-9\-\.]{1,64}.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// instantRE is the R4 instant regex. time.Parse alone is laxer (it takes a
// time zone of +24:00, or a comma before fractional seconds).
var instantRE = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`)

// parseInstant parses a FHIR instant. A leap second (":60"), which the
// regex allows and Go's time package does not, is rejected.
func parseInstant(s string) (time.Time, bool) {
	if !instantRE.MatchString(s) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
