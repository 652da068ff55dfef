package resource

import (
	"fmt"
	"strconv"
	"strings"
)

// checkLimits bounds nesting depth and array length in one pass over the
// bytes, before encoding/json builds a tree: a 16 MiB "{"a":[[[[…" or a
// million-element array then costs a scan that stops at the limit, not a
// recursive decode. It does not check JSON syntax (the decoder that runs next
// does); on malformed input it may miss a limit, never crash.
func checkLimits(b []byte, lim Limits) *Error {
	stack := make([]frame, 0, 16)
	var typ []byte // top-level resourceType, if seen, to prefix expressions
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			start := i + 1
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			str := b[start:min(i, len(b))]
			if n := len(stack); n > 0 && stack[n-1].object {
				f := &stack[n-1]
				if f.expectKey {
					f.key, f.expectKey = str, false
				} else if n == 1 && string(f.key) == "resourceType" {
					typ = str
				}
			}
		case '{', '[':
			if len(stack) >= lim.MaxDepth {
				return tooCostly(typ, stack, fmt.Sprintf("JSON nested deeper than %d levels", lim.MaxDepth))
			}
			stack = append(stack, frame{object: b[i] == '{', expectKey: b[i] == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 {
				f := &stack[n-1]
				if f.object {
					f.expectKey = true
					continue
				}
				// commas+1 elements so far: error as element MaxArray+1 starts.
				if f.commas++; f.commas >= lim.MaxArray {
					return tooCostly(typ, stack[:n-1], fmt.Sprintf("array longer than %d elements", lim.MaxArray))
				}
			}
		}
	}
	return nil
}

// frame is one open JSON container during checkLimits.
type frame struct {
	object    bool
	expectKey bool   // object: the next string is a key
	key       []byte // object: the last key seen (raw, escapes not decoded)
	commas    int    // array: elements seen - 1
}

// tooCostly names the element where a limit was hit, as far as the scan can
// tell: keys and indices of the open containers.
func tooCostly(typ []byte, stack []frame, diag string) *Error {
	var b strings.Builder
	b.Write(typ)
	for _, f := range stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.Write(f.key)
		} else {
			b.WriteString("[" + strconv.Itoa(f.commas) + "]")
		}
	}
	return Invalid(b.String(), "too-costly", diag)
}
