package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Transaction returns a transaction Bundle that PUTs each resource to "Type/id", so sending it
// again changes nothing. Entries have fullUrl "urn:uuid:<id>" (the generator's ids are UUIDs).
// A transaction may not touch one resource twice: pass at most one version of each (Traffic
// makes chunks that way). rs must hold valid JSON, as the Generator makes it.
func Transaction(rs []Resource) []byte { return putBundle("transaction", rs) }

// Batch is Transaction as a batch Bundle: entries are processed independently.
func Batch(rs []Resource) []byte { return putBundle("batch", rs) }

// putBundle writes the Bundle by hand around the resources' bytes: no decoding and
// re-encoding of what is already JSON, which matters under load.
func putBundle(typ string, rs []Resource) []byte {
	n := 64
	for _, r := range rs {
		n += len(r.JSON) + 2*len(r.Ref()) + 100
	}
	b := make([]byte, 0, n)
	b = append(b, `{"resourceType":"Bundle","type":`...)
	b = appendString(b, typ)
	b = append(b, `,"entry":[`...)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"fullUrl":`...)
		b = appendString(b, "urn:uuid:"+r.ID)
		b = append(b, `,"resource":`...)
		b = append(b, r.JSON...)
		b = append(b, `,"request":{"method":"PUT","url":`...)
		b = appendString(b, r.Ref())
		b = append(b, `}}`...)
	}
	return append(b, `]}`...)
}

// TransactionPOST returns a transaction Bundle in the style of Synthea, to exercise reference
// resolution: every entry is a POST with fullUrl "urn:uuid:<id>" and a resource without id;
// references between entries are rewritten to those urns, and references to resources outside
// the Bundle that carry an identifier (the facility: Organization, Location, Practitioner)
// become conditional references "Type?identifier=system|value". Other outside references stay
// as they are. Only the last version of a resource is kept (POST creates; it cannot update),
// so pass a whole Story's Events to send the final state of a stay.
//
// The server assigns new ids, so resources sent this way cannot be referred to by the
// generator's ids afterwards: send a patient's whole story in one such Bundle.
func TransactionPOST(rs []Resource) ([]byte, error) {
	// Keep the last version of each resource at the place of its first.
	last := map[string]int{}
	var order []string
	for i, r := range rs {
		if _, seen := last[r.Ref()]; !seen {
			order = append(order, r.Ref())
		}
		last[r.Ref()] = i
	}
	urns := make(map[string]string, len(order))
	for _, ref := range order {
		urns[ref] = "urn:uuid:" + rs[last[ref]].ID
	}
	entries := make([]any, 0, len(order))
	for _, key := range order {
		r := rs[last[key]]
		var res map[string]any
		dec := json.NewDecoder(bytes.NewReader(r.JSON))
		dec.UseNumber() // keep decimals as written: "3.50" must not become 3.5
		if err := dec.Decode(&res); err != nil {
			return nil, fmt.Errorf("synth: decode %s: %w", key, err)
		}
		delete(res, "id")
		rewriteRefs(res, urns)
		entries = append(entries, map[string]any{
			"fullUrl":  urns[key],
			"resource": res,
			"request":  map[string]any{"method": "POST", "url": r.Type},
		})
	}
	out, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err != nil {
		return nil, fmt.Errorf("synth: encode bundle: %w", err)
	}
	return out, nil
}

// rewriteRefs walks decoded JSON and rewrites every Reference (an object with a string
// "reference") as TransactionPOST documents.
func rewriteRefs(v any, urns map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["reference"].(string); ok && !strings.HasPrefix(s, "#") {
			if urn, ok := urns[s]; ok {
				x["reference"] = urn
			} else if id, ok := x["identifier"].(map[string]any); ok {
				sys, _ := id["system"].(string)
				val, _ := id["value"].(string)
				if typ, _, found := strings.Cut(s, "/"); found && sys != "" && val != "" {
					x["reference"] = typ + "?identifier=" + sys + "|" + val
				}
			}
		}
		for _, e := range x {
			rewriteRefs(e, urns)
		}
	case []any:
		for _, e := range x {
			rewriteRefs(e, urns)
		}
	}
}
