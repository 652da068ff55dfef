package bundle

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/lujing-health/lujing/mapping/resource"
)

// Resolve assigns the id of every entry and rewrites the references it can resolve:
// fullUrls of other entries (`urn:uuid:…` or absolute URLs) and conditional references
// (`Type?identifier=system|value`), looked up among the Bundle's entries first and then
// through r. References that resolve nowhere are kept as written: the resource may arrive
// later, and a reference to a patient never seen is stored, not dropped.
func (b *Bundle) Resolve(ctx context.Context, r Resolver) error {
	idx := b.identifierIndex()
	lookup := func(typ, query string) (string, *entryProblem, error) {
		sys, val, err := parseIdentifierQuery(query)
		if err != nil {
			return "", &entryProblem{400, "not-supported", err.Error()}, nil
		}
		if e, ok := idx[identKey(typ, sys, val)]; ok && e.ID != "" {
			return e.ID, nil, nil
		}
		if r == nil {
			return "", nil, nil
		}
		id, err := r.LookupIdentifier(ctx, typ, sys, val)
		if err != nil {
			return "", nil, fmt.Errorf("look up %s by identifier: %w", typ, err)
		}
		return id, nil, nil
	}

	// Ids first, so that every reference can be rewritten in one pass afterwards.
	for _, e := range b.Entries {
		if e.Err != nil {
			continue
		}
		prefix := fmt.Sprintf("Bundle.entry[%d].request", e.Index)
		_, cond := splitURL(e.requestURL)
		switch e.Method {
		case MethodPOST:
			if e.ifNoneExist != "" {
				// Senders write both "identifier=…" and "Patient?identifier=…"; both mean the same.
				id, p, err := lookup(e.Type, strings.TrimPrefix(e.ifNoneExist, e.Type+"?"))
				if err != nil {
					return err
				}
				if p != nil {
					e.Err = entryError(p.status, p.code, prefix+".ifNoneExist", p.diag)
					continue
				}
				if id != "" {
					e.ID, e.Exists = id, true
					continue
				}
			}
			e.ID = e.newID()
		case MethodPUT:
			if e.ID == "" { // conditional update
				id, p, err := lookup(e.Type, cond)
				if err != nil {
					return err
				}
				if p != nil {
					e.Err = entryError(p.status, p.code, prefix+".url", p.diag)
					continue
				}
				if id == "" {
					id = e.newID()
				}
				e.ID = id
			}
		case MethodDELETE:
			if e.ID == "" {
				id, p, err := lookup(e.Type, cond)
				if err != nil {
					return err
				}
				if p != nil {
					e.Err = entryError(p.status, p.code, prefix+".url", p.diag)
					continue
				}
				if id == "" {
					// Nothing matches: a conditional delete of nothing succeeds and changes nothing.
					e.Noop = true
					continue
				}
				e.ID = id
			}
		}
	}

	refs := map[string]string{}
	absolute := false
	for _, e := range b.Entries {
		if e.Err != nil || e.ID == "" || e.FullURL == "" {
			continue
		}
		refs[e.FullURL] = e.Type + "/" + e.ID
		absolute = absolute || !strings.HasPrefix(e.FullURL, "urn:")
	}
	for _, e := range b.Entries {
		if e.Err != nil || e.Resource == nil || e.Exists || !mayNeedRewrite(e.Resource.Raw, absolute) {
			continue
		}
		rewrite := map[string]string{}
		for _, v := range e.Resource.ReferenceValues() {
			if _, done := rewrite[v]; done {
				continue
			}
			if to, ok := refs[v]; ok {
				rewrite[v] = to
				continue
			}
			typ, query, ok := strings.Cut(v, "?")
			if !ok || strings.Contains(typ, "/") {
				continue
			}
			id, p, err := lookup(typ, query)
			if err != nil {
				return err
			}
			if p == nil && id != "" {
				rewrite[v] = typ + "/" + id
			}
		}
		if len(rewrite) == 0 {
			continue
		}
		r, err := e.Resource.Rewritten(rewrite)
		if err != nil {
			e.Err = entryError(422, "invalid", fmt.Sprintf("Bundle.entry[%d].resource", e.Index), "cannot rewrite references: "+err.Error())
			continue
		}
		// The entry's resource is what will be stored: whoever reads it after Resolve (the
		// content hash, the intake's triage) reads the server's references.
		e.Resource, e.Body = r, r.Raw
	}
	return nil
}

// mayNeedRewrite is a cheap test that spares the walk over a resource whose references are all
// plain "Type/id" — what most HIS and LIS send: only urn: references, conditional ones ("?")
// and, when the Bundle has absolute fullUrls, absolute ones can be rewritten.
func mayNeedRewrite(raw []byte, absolute bool) bool {
	return bytes.Contains(raw, []byte("urn:")) || bytes.IndexByte(raw, '?') >= 0 ||
		(absolute && bytes.Contains(raw, []byte("://")))
}

// Subject returns the entry's patient reference ("" when it has none): after Resolve, as
// resolved, since the entry's Resource is then the rewritten one.
func (e *Entry) Subject() string {
	if e.Resource == nil {
		return ""
	}
	if e.Resource.Type == "Patient" && e.ID != "" {
		return "Patient/" + e.ID
	}
	return e.Resource.Subject()
}

type entryProblem struct {
	status     int
	code, diag string
}

// newID picks the id of a created resource so that a retried Bundle creates nothing new: the
// sender's own id when it gave a valid one, else the uuid of its urn:uuid fullUrl, else one
// derived from the content hash.
func (e *Entry) newID() string {
	if e.Resource.ID != "" && resource.ValidID(e.Resource.ID) {
		return e.Resource.ID
	}
	if u, ok := strings.CutPrefix(e.FullURL, "urn:uuid:"); ok && resource.ValidID(u) {
		return u
	}
	return e.Resource.Hash()[:32]
}

func (b *Bundle) identifierIndex() map[string]*Entry {
	idx := map[string]*Entry{}
	for _, e := range b.Entries {
		if e.Err != nil || e.Resource == nil {
			continue
		}
		for _, id := range e.Resource.Identifiers {
			idx[identKey(e.Type, id.System, id.Value)] = e
			if id.System != "" { // "identifier=value" without a system matches too
				if _, taken := idx[identKey(e.Type, "", id.Value)]; !taken {
					idx[identKey(e.Type, "", id.Value)] = e
				}
			}
		}
	}
	return idx
}

func identKey(typ, system, value string) string { return typ + "\x00" + system + "\x00" + value }

// parseIdentifierQuery reads "identifier=system|value" (URL-escaped), the one conditional
// search Lujing supports: it is what HIS and Synthea send.
func parseIdentifierQuery(q string) (system, value string, err error) {
	vals, err := url.ParseQuery(q)
	if err != nil {
		return "", "", fmt.Errorf("conditional query %q: %w", q, err)
	}
	if len(vals) != 1 || len(vals["identifier"]) != 1 {
		return "", "", fmt.Errorf("conditional query %q: only identifier=system|value is supported", q)
	}
	v := vals["identifier"][0]
	if sys, val, ok := strings.Cut(v, "|"); ok {
		return sys, val, nil
	}
	return "", v, nil
}

// Hash is the content hash of Body. References rewritten to server ids are part of the
// content, so a rewritten body is hashed as rewritten.
func (e *Entry) Hash() string { return e.Resource.Hash() }

// Hashes returns the content hash of every entry that stores a resource, "" for the others,
// computed on all cores. Call it after Resolve: it hashes the rewritten resources.
func (b *Bundle) Hashes() []string {
	hs := make([]string, len(b.Entries))
	each(len(b.Entries), func(i int) {
		if e := b.Entries[i]; e.Err == nil && !e.Exists && !e.Noop && e.Method != MethodDELETE && e.Resource != nil {
			hs[i] = e.Hash()
		}
	})
	return hs
}

// Single wraps one resource sent on its own (POST /fhir/{type}, PUT /fhir/{type}/{id}) so that
// it is resolved like a Bundle entry.
func Single(method, id string, r *resource.Resource) *Bundle {
	e := &Entry{Method: method, Type: r.Type, ID: id, Resource: r, Body: r.Raw, requestURL: r.Type + "/" + id}
	return &Bundle{Type: "transaction", Entries: []*Entry{e}}
}
