package mapping

import (
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/lujing-health/lujing/mapping/resource"
)

// literal reads a literal reference to a resource on this server: "Patient/1", an absolute
// URL ending in Patient/1, either with "/_history/n". Local ("#x") and urn: references, and
// anything that is not Type/id of a known type, are not literal.
func literal(ref string) (typ, id string, ok bool) {
	if ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") {
		return "", "", false
	}
	parts := strings.Split(strings.TrimRight(ref, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	n := len(parts)
	if n < 2 || !resource.KnownType(parts[n-2]) || !resource.ValidID(parts[n-1]) {
		return "", "", false
	}
	return parts[n-2], parts[n-1], true
}

// refOf is a Reference as event data: "Type/id" when literal, else as written.
func refOf(r *fhir.Reference) *Ref {
	if r == nil {
		return nil
	}
	out := &Ref{Reference: str(r.Reference), Display: str(r.Display)}
	if typ, id, ok := literal(out.Reference); ok {
		out.Reference = typ + "/" + id
	}
	if r.Identifier != nil && r.Identifier.Value != nil {
		out.Identifier = &Code{System: str(r.Identifier.System), Code: *r.Identifier.Value}
	}
	if *out == (Ref{}) {
		return nil
	}
	return out
}

// refStrings lists references as "Type/id" (or as written when not literal), skipping empty ones.
func refStrings(refs []fhir.Reference) []string {
	var out []string
	for i := range refs {
		if r := refOf(&refs[i]); r != nil && r.Reference != "" {
			out = append(out, r.Reference)
		}
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// subject resolves the patient a resource is about. ok is false, with a flag and no error,
// when it is about no patient (no subject, or a Group, Device, Location…). A reference the
// mapping cannot follow is an error the sender must fix. The Patient must be stored, so that
// no event of a patient comes before the patient (else the resource is parked).
func (j *job) subject(r *fhir.Reference, path string) (patient string, ok bool, err error) {
	if r == nil || (r.Reference == nil && r.Identifier == nil) {
		j.flag("not-patient-data")
		return "", false, nil
	}
	ref := str(r.Reference)
	typ, id, lit := literal(ref)
	switch {
	case ref == "":
		return "", false, errorAt(path, "a reference by identifier only cannot be followed: send a literal reference (Patient/<id>)")
	case strings.HasPrefix(ref, "#"):
		return "", false, errorAt(path, "a contained patient cannot be followed: send the Patient and refer to it")
	case !lit:
		return "", false, errorAt(path, "not a literal reference to a resource on this server")
	case typ != "Patient":
		j.flag("not-patient-data")
		return "", false, nil
	}
	j.fetch(typ, id)
	return "Patient/" + id, true, nil
}

// encounterOf resolves the Encounter a resource belongs to, "" when none. The Encounter must
// be stored (else the resource is parked): an event's Encounter is then known to whoever
// reads it. A reference that is not literal is ignored with a flag.
func (j *job) encounterOf(r *fhir.Reference) string {
	if r == nil || r.Reference == nil {
		return ""
	}
	typ, id, ok := literal(*r.Reference)
	if !ok || typ != "Encounter" {
		j.flag("encounter-not-followed")
		return ""
	}
	j.fetch(typ, id)
	return "Encounter/" + id
}

// elementError is a mapping failure on one element. Its message names the element and never
// quotes a value: the worker logs it.
type elementError struct{ path, msg string }

func (e *elementError) Error() string { return e.path + ": " + e.msg }

func errorAt(path, msg string) error { return &elementError{path, msg} }
