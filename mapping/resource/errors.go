package resource

import (
	"net/http"
	"strconv"
	"strings"
)

// Issue is one problem, in FHIR OperationOutcome terms.
type Issue struct {
	Severity string // "error" | "warning"
	// Code is an OperationOutcome issue-type code: "structure", "required",
	// "value", "code-invalid", "invalid", "not-supported", "too-costly".
	Code string
	// Diagnostics is for humans. It never quotes patient data: at most the
	// offending code or resource type, shortened.
	Diagnostics string
	// Expression is the FHIRPath of the element, e.g. "Observation.status",
	// "Patient.contained[0].status"; empty when no element can be named.
	Expression string
}

// Error is a rejected input. Status is the HTTP status it deserves: 400 when
// the body is not JSON or not FHIR (no or unknown resourceType, not the type
// expected), 422 when it is a known FHIR type with invalid content. Parse
// never decides 413; the HTTP layer bounds the body size.
type Error struct {
	Status int
	Issues []Issue
}

// Error joins the issues as "<expression>: <diagnostics>; …".
func (e *Error) Error() string {
	var b strings.Builder
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		if is.Expression != "" {
			b.WriteString(is.Expression)
			b.WriteString(": ")
		}
		b.WriteString(is.Diagnostics)
	}
	return b.String()
}

// Invalid is a 422 Error with one issue: a FHIR resource whose content is wrong.
func Invalid(expr, code, diag string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Issues: []Issue{{Severity: "error", Code: code, Diagnostics: diag, Expression: expr}}}
}

// NotFHIR is a 400 Error with one "structure" issue: the body is not JSON or
// not a FHIR resource at all.
func NotFHIR(expr, diag string) *Error {
	return notFHIR("structure", expr, diag)
}

func notFHIR(code, expr, diag string) *Error {
	return &Error{Status: http.StatusBadRequest, Issues: []Issue{{Severity: "error", Code: code, Diagnostics: diag, Expression: expr}}}
}

// quote shows an offending value in a diagnostic. Values are cut short so
// that a misplaced field (a name, a note) cannot leak whole into logs.
func quote(s string) string {
	const max = 40
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}
