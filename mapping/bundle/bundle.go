// Package bundle reads batch and transaction Bundles the way hospital systems send them:
// entries with `urn:uuid:` fullUrls that other entries reference, conditional references such
// as `Organization?identifier=system|value`, and PUT/POST/DELETE requests. It assigns the ids
// the server will store, rewrites the references it can resolve and keeps the others as written.
//
// It does no I/O: lookups of resources stored earlier go through a Resolver.
package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bytedance/sonic"
	"strings"

	"github.com/lujing-health/lujing/mapping/resource"
)

// Request methods an entry may carry.
const (
	MethodPOST   = "POST"
	MethodPUT    = "PUT"
	MethodDELETE = "DELETE"
)

// Limits bound a Bundle. Zero values take the defaults.
type Limits struct {
	MaxEntries int             // default 10,000
	Resource   resource.Limits // limits for each entry's resource
}

func (l Limits) maxEntries() int {
	if l.MaxEntries <= 0 {
		return 10000
	}
	return l.MaxEntries
}

// Entry is one entry of a Bundle after parsing and resolution.
type Entry struct {
	Index    int
	FullURL  string
	Method   string
	Type     string
	ID       string             // the id the server stores it under
	Resource *resource.Resource // nil for DELETE
	// Body is the resource JSON to store: the raw entry with resolved references rewritten.
	Body []byte
	// Exists is set when a conditional create (ifNoneExist) matched a stored resource: nothing
	// is to be stored, ID names the existing one.
	Exists bool
	// Noop is set for a conditional delete that matched nothing: it succeeds and stores nothing.
	Noop bool
	// Err is this entry's problem, with expressions rooted at the Bundle. In a batch the other
	// entries go on; a transaction fails whole.
	Err *resource.Error

	requestURL  string
	ifNoneExist string
}

// Bundle is a parsed batch or transaction.
type Bundle struct {
	Type    string // "batch" or "transaction"
	Entries []*Entry
}

// Transaction reports whether the Bundle is all-or-nothing.
func (b *Bundle) Transaction() bool { return b.Type == "transaction" }

// FirstError returns the first entry error, or nil.
func (b *Bundle) FirstError() *resource.Error {
	for _, e := range b.Entries {
		if e.Err != nil {
			return e.Err
		}
	}
	return nil
}

// Resolver finds resources stored before this Bundle.
type Resolver interface {
	// LookupIdentifier returns the id of the stored resource of type typ with the identifier, or
	// "" when there is none.
	LookupIdentifier(ctx context.Context, typ, system, value string) (string, error)
}

type rawBundle struct {
	ResourceType string     `json:"resourceType"`
	Type         string     `json:"type"`
	Entry        []rawEntry `json:"entry"`
}

type rawEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method      string `json:"method"`
		URL         string `json:"url"`
		IfNoneExist string `json:"ifNoneExist"`
	} `json:"request"`
}

// Parse reads a batch or transaction Bundle and checks every entry. Entry problems are recorded
// on the entry; an error is returned only when the Bundle itself is unusable.
func Parse(raw []byte, lim Limits) (*Bundle, error) {
	var rb rawBundle
	// The envelope of a Bundle of 100 took 14% of the server's CPU with encoding/json; the
	// fast decoder reads it, and encoding/json again only to explain what it refused.
	if sonic.ConfigStd.Unmarshal(raw, &rb) == nil {
		return parseEntries(rb, lim)
	}
	rb = rawBundle{}
	if err := json.Unmarshal(raw, &rb); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, &resource.Error{Status: 400, Issues: []resource.Issue{{
				Severity: "error", Code: "structure", Diagnostics: "body is not valid JSON: " + se.Error()}}}
		}
		return nil, &resource.Error{Status: 400, Issues: []resource.Issue{{
			Severity: "error", Code: "structure", Expression: "Bundle",
			Diagnostics: "body is not a FHIR Bundle: " + jsonProblem(err)}}}
	}
	return parseEntries(rb, lim)
}

func parseEntries(rb rawBundle, lim Limits) (*Bundle, error) {
	if rb.ResourceType != "Bundle" {
		return nil, &resource.Error{Status: 400, Issues: []resource.Issue{{
			Severity: "error", Code: "invalid", Expression: "resourceType",
			Diagnostics: fmt.Sprintf("POST /fhir takes a Bundle, got resourceType %q; post other resources to /fhir/{type}", rb.ResourceType)}}}
	}
	if rb.Type != "batch" && rb.Type != "transaction" {
		return nil, &resource.Error{Status: 400, Issues: []resource.Issue{{
			Severity: "error", Code: "value", Expression: "Bundle.type",
			Diagnostics: fmt.Sprintf("Bundle.type %q: POST /fhir takes batch or transaction; store other Bundles with POST /fhir/Bundle", rb.Type)}}}
	}
	if n := len(rb.Entry); n > lim.maxEntries() {
		return nil, &resource.Error{Status: 422, Issues: []resource.Issue{{
			Severity: "error", Code: "too-costly", Expression: "Bundle.entry",
			Diagnostics: fmt.Sprintf("%d entries, more than the limit of %d; split the Bundle", n, lim.maxEntries())}}}
	}
	b := &Bundle{Type: rb.Type, Entries: make([]*Entry, len(rb.Entry))}
	each(len(rb.Entry), func(i int) { b.Entries[i] = parseEntry(i, rb.Entry[i], lim) })
	return b, nil
}

func parseEntry(i int, re rawEntry, lim Limits) *Entry {
	e := &Entry{Index: i, FullURL: re.FullURL}
	prefix := fmt.Sprintf("Bundle.entry[%d]", i)
	if re.Request == nil || re.Request.Method == "" {
		e.Err = entryError(400, "required", prefix+".request.method", "a batch or transaction entry needs request.method and request.url")
		return e
	}
	e.Method = strings.ToUpper(re.Request.Method)
	e.requestURL, e.ifNoneExist = re.Request.URL, re.Request.IfNoneExist
	target, cond := splitURL(re.Request.URL)
	switch e.Method {
	case MethodPOST, MethodPUT:
	case MethodDELETE:
		typ, id := splitTypeID(target)
		if !resource.KnownType(typ) {
			e.Err = entryError(400, "not-supported", prefix+".request.url", fmt.Sprintf("DELETE of %q: not a resource type", re.Request.URL))
			return e
		}
		e.Type, e.ID = typ, id
		if id == "" && cond == "" {
			e.Err = entryError(400, "required", prefix+".request.url", "DELETE needs Type/id or Type?identifier=system|value")
		}
		return e
	default:
		e.Err = entryError(400, "not-supported", prefix+".request.method", fmt.Sprintf("method %q is not supported here; use POST, PUT or DELETE", re.Request.Method))
		return e
	}
	if len(re.Resource) == 0 || bytes.Equal(re.Resource, []byte("null")) {
		e.Err = entryError(400, "required", prefix+".resource", e.Method+" needs a resource")
		return e
	}
	r, err := resource.ParseWith(re.Resource, lim.Resource)
	if err != nil {
		e.Err = rebase(err, prefix+".resource")
		return e
	}
	e.Resource, e.Type, e.Body = r, r.Type, r.Raw
	typ, id := splitTypeID(target)
	if typ != r.Type {
		e.Err = entryError(400, "invalid", prefix+".request.url", fmt.Sprintf("request.url names %q but the resource is a %s", typ, r.Type))
		return e
	}
	if e.Method == MethodPUT {
		switch {
		case id != "" && r.ID != "" && id != r.ID:
			e.Err = entryError(400, "invalid", prefix+".resource.id", fmt.Sprintf("resource id %q differs from request.url id %q", r.ID, id))
		case id == "" && cond == "":
			e.Err = entryError(400, "required", prefix+".request.url", "PUT needs Type/id or Type?identifier=system|value")
		}
		e.ID = id
	}
	return e
}

func splitURL(u string) (target, query string) {
	u = strings.TrimPrefix(strings.TrimSpace(u), "/")
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i], u[i+1:]
	}
	return u, ""
}

// splitTypeID reads "Type", "Type/id" or "Type/id/_history/n".
func splitTypeID(s string) (typ, id string) {
	parts := strings.Split(s, "/")
	typ = parts[0]
	if len(parts) > 1 {
		id = parts[1]
	}
	return typ, id
}

func entryError(status int, code, expr, diag string) *resource.Error {
	return &resource.Error{Status: status, Issues: []resource.Issue{{Severity: "error", Code: code, Expression: expr, Diagnostics: diag}}}
}

// rebase roots the expressions of a resource error at the entry, so that a sender reads
// "Bundle.entry[3].resource.status" instead of "Observation.status".
func rebase(err error, prefix string) *resource.Error {
	re, ok := err.(*resource.Error)
	if !ok {
		return entryError(422, "invalid", prefix, err.Error())
	}
	out := &resource.Error{Status: re.Status, Issues: make([]resource.Issue, len(re.Issues))}
	for i, is := range re.Issues {
		expr := is.Expression
		if j := strings.IndexByte(expr, '.'); j >= 0 && resource.KnownType(expr[:j]) {
			expr = prefix + expr[j:]
		} else if expr == "" || resource.KnownType(expr) {
			expr = prefix
		} else {
			expr = prefix + "." + expr
		}
		is.Expression = expr
		out.Issues[i] = is
	}
	return out
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("element %q has the wrong JSON type (%s)", te.Field, te.Value)
	}
	return "malformed"
}
