package hl7v2

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bytedance/sonic"
)

// Default identifier systems: Lujing's placeholders, the same as the synthetic HIS uses, so
// that HL7 and FHIR sources of one hospital name visits and locations alike. A hospital sets
// its own per sender (Options).
const (
	DefaultVisitSystem      = "http://lujing.example/fhir/sid/visit-number"
	DefaultDepartmentSystem = "http://lujing.example/fhir/CodeSystem/department"
	DefaultLocationSystem   = "http://lujing.example/fhir/sid/location"
	DefaultStaffSystem      = "http://lujing.example/fhir/sid/staff"
	DefaultOrderSystem      = "http://lujing.example/fhir/sid/order-number"
	DefaultDocumentSystem   = "http://lujing.example/fhir/sid/document-number"
	// MessageSystem names a stored HL7 message in Provenance.entity: "<sender>|<MSH-10>".
	MessageSystem = "http://lujing.example/fhir/sid/hl7v2-message"
)

// Options say how one sender's identifiers and codes become FHIR.
type Options struct {
	// Sender names the sending system (the peer and its MSH-3); ids of orders, reports and
	// documents are made within it, so two labs' order 1001 stay apart.
	Sender string
	// MRNSystem is the Patient.identifier system of the medical-record number: the PID-3
	// repetition typed MR, else the first. Empty: the assigning authority's OID
	// (urn:oid:…) when it has one, else a system named after it.
	MRNSystem        string
	VisitSystem      string // PV1-19 visit number (Encounter.identifier)
	DepartmentSystem string // PV1-10 hospital service, the department (Encounter.serviceType)
	LocationSystem   string // PV1-3 ward and bed (Encounter.location identifiers)
	StaffSystem      string // XCN ids: attending, ordering provider, authors
	OrderSystem      string // placer and filler order numbers
	DocumentSystem   string // TXA-12 unique document numbers
	// CodeSystems maps HL7 coding system names (CWE-3, e.g. "L" or "99LIS") to FHIR system
	// URIs, over the standard ones (LN, SCT, I10, UCUM, HL7nnnn…).
	CodeSystems map[string]string
	// Zone is the hospital's time zone, for times sent without an offset. Default Asia/Shanghai.
	Zone *time.Location
	// Raw is the message as received. When set, the Provenance contains it as a Binary
	// (contentType x-application/hl7-v2+er7, in its character set) and names it as its
	// source: the raw message is stored in the same transaction as what was made of it.
	Raw []byte
}

func (o *Options) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.VisitSystem, DefaultVisitSystem)
	def(&o.DepartmentSystem, DefaultDepartmentSystem)
	def(&o.LocationSystem, DefaultLocationSystem)
	def(&o.StaffSystem, DefaultStaffSystem)
	def(&o.OrderSystem, DefaultOrderSystem)
	def(&o.DocumentSystem, DefaultDocumentSystem)
	if o.Zone == nil {
		o.Zone = shanghai()
	}
}

// shanghai is the default zone, loaded once: LoadLocation reads the zone database each call.
var shanghai = sync.OnceValue(func() *time.Location {
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.FixedZone("CST", 8*3600) // China has no daylight saving time
})

// Result is a message mapped to FHIR.
type Result struct {
	// Bundle is a transaction Bundle: every resource the message states, and a Provenance
	// naming the message.
	Bundle []byte
	// Entries are "Type/id" of what the Bundle PUTs or POSTs (the Patient by its fullUrl
	// when it is created only if absent).
	Entries []string
	// Warnings are parts of the message left out (a result without a test code, a visit
	// without a number): the rest is mapped, and the acknowledgement reports the first.
	Warnings []*Error
}

// IsUnsupported reports whether err says the message type or event is not mapped: such a
// message is kept and acknowledged, not failed.
func IsUnsupported(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == CodeUnsupportedType || e.Code == CodeUnsupportedEvent)
}

// ToFHIR maps a message. The error is an *Error: unsupported types and events
// (IsUnsupported), or what is missing or malformed for the mapping.
func ToFHIR(m *Message, o Options) (*Result, error) { return toFHIR(m, o, true) }

// Check maps a message as ToFHIR does, with the same errors and warnings, but does not write
// the Bundle (Result.Bundle is nil): to decide a message's acknowledgement before its FHIR is
// needed, at a third of the cost.
func Check(m *Message, o Options) (*Result, error) { return toFHIR(m, o, false) }

func toFHIR(m *Message, o Options, encode bool) (*Result, error) {
	o.defaults()
	b := &builder{m: m, o: o, d: &m.Delims, check: !encode}
	code, event, _ := m.Type()
	var err error
	switch code {
	case "ADT":
		err = b.adt(event)
	case "ORU":
		if event != "R01" {
			return nil, b.unsupportedEvent()
		}
		err = b.oru()
	case "ORM", "OML":
		if code == "ORM" && event != "O01" || code == "OML" && event != "O21" {
			return nil, b.unsupportedEvent()
		}
		err = b.orders()
	case "MDM":
		err = b.mdm(event)
	default:
		return nil, &Error{Code: CodeUnsupportedType, Segment: "MSH", Seq: 1, Field: 9, Msg: "message type not mapped"}
	}
	if err != nil {
		return nil, err
	}
	return b.bundle()
}

// KeepOnly is the Bundle of a message that is not mapped (IsUnsupported): the Provenance
// holding the raw message, so that it is kept like the others. It needs o.Raw.
func KeepOnly(m *Message, o Options) (*Result, error) {
	if len(o.Raw) == 0 {
		return nil, &Error{Code: CodeInternal, Msg: "KeepOnly needs the raw message"}
	}
	o.defaults()
	b := &builder{m: m, o: o, d: &m.Delims}
	return b.bundle()
}

func (b *builder) unsupportedEvent() error {
	return &Error{Code: CodeUnsupportedEvent, Segment: "MSH", Seq: 1, Field: 9, Msg: "trigger event not mapped"}
}

// builder collects the entries of one message's Bundle.
type builder struct {
	m        *Message
	o        Options
	d        *Delimiters
	entries  []entry
	warnings []*Error
	// patient is the fullUrl of the current PID's Patient entry; encounter the reference of
	// its visit, nil when PV1-19 is empty.
	patient   string
	encounter map[string]any
	check     bool // Check: no Bundle written
}

type entry struct {
	fullURL     string
	resource    obj
	method, url string
	ifNoneExist string
	ref         string // "Type/id" or the fullUrl
}

type obj = map[string]any

// id derives a resource id from the sender and the parts: the same message gives the same
// ids, and a correction of a result (same order, same test) the same id again.
func (b *builder) id(kind string, parts ...string) string {
	return nameUUID(b.o.Sender + "\x00" + kind + "\x00" + strings.Join(parts, "\x00"))
}

// nameUUID is a UUID-shaped name-based id (version 5 layout over SHA-256).
func nameUUID(name string) string {
	h := sha256.Sum256([]byte(name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	s := hex.EncodeToString(h[:16])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// put adds a resource stored under its own id (PUT Type/id).
func (b *builder) put(typ, id string, r obj) string {
	r["resourceType"] = typ
	r["id"] = id
	ref := typ + "/" + id
	b.entries = append(b.entries, entry{fullURL: "urn:uuid:" + id, resource: r, method: "PUT", url: ref, ref: ref})
	return ref
}

// conditional adds a resource found by its business identifier: a PUT that updates the one
// already stored with it (update) or a POST that creates it only when none is (create-only).
// It returns the fullUrl, which references use; the intake rewrites them to the stored id.
func (b *builder) conditional(typ, uuid, system, value string, update bool, r obj) string {
	r["resourceType"] = typ
	full := "urn:uuid:" + uuid
	q := "identifier=" + url.QueryEscape(system+"|"+value)
	e := entry{fullURL: full, resource: r, ref: full}
	if update {
		e.method, e.url = "PUT", typ+"?"+q
	} else {
		e.method, e.url, e.ifNoneExist = "POST", typ, q
	}
	b.entries = append(b.entries, e)
	return full
}

// bundle writes the transaction Bundle with the Provenance of the message.
func (b *builder) bundle() (*Result, error) {
	if len(b.entries) == 0 && len(b.o.Raw) == 0 {
		return nil, &Error{Code: CodeRequiredMissing, Msg: "the message states nothing that maps to FHIR"}
	}
	msh := b.m.MSH()
	recorded, ok := ParseTime(msh.Field(7).String(), b.o.Zone)
	at, ok2 := recorded.Instant()
	if !ok || !ok2 {
		return nil, &Error{Code: CodeDataType, Segment: "MSH", Seq: 1, Field: 7, Msg: "not a date/time with at least a day"}
	}
	var targets []any
	res := &Result{Warnings: b.warnings}
	if b.check {
		return res, nil
	}
	control := b.m.ControlID()
	what := obj{
		"identifier": obj{"system": MessageSystem, "value": b.o.Sender + "|" + control},
		"display":    "HL7 v2 " + b.m.TypeString() + " " + control,
	}
	var contained []any
	if len(b.o.Raw) > 0 {
		// The raw message is contained in its Provenance: stored in the same transaction as
		// what was made of it, one inbox entry fewer than a Binary of its own, and read back
		// with GET /fhir/Provenance/{id}.
		contentType := "x-application/hl7-v2+er7"
		if cs := codeValue(b.m.Charset); cs != "" {
			contentType += "; charset=" + strings.ReplaceAll(cs, " ", "-")
		}
		contained = []any{obj{"resourceType": "Binary", "id": "message", "contentType": contentType,
			"data": base64.StdEncoding.EncodeToString(b.o.Raw)}}
		what["reference"] = "#message"
	}
	for _, e := range b.entries {
		targets = append(targets, obj{"reference": e.ref})
		res.Entries = append(res.Entries, e.ref)
	}
	app := strings.TrimSpace(msh.Field(3).String() + "^" + msh.Field(4).String())
	prov := obj{
		"target":   targets,
		"recorded": at,
		"activity": obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "CREATE", "display": "create"}}},
		"agent": []any{obj{
			"type": obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "author", "display": "Author"}}},
			"who":  obj{"display": strings.Trim(app, "^")},
		}},
		"entity": []any{obj{"role": "source", "what": what}},
	}
	if len(targets) == 0 { // a message kept, not mapped: the Provenance is about the message itself
		prov["target"] = []any{obj{"reference": "#message"}}
	}
	set(prov, "contained", contained)
	if strings.Trim(app, "^ ") == "" {
		prov["agent"].([]any)[0].(obj)["who"] = obj{"display": b.o.Sender}
	}
	res.Entries = append(res.Entries, b.put("Provenance", b.id("provenance", control), prov))
	entries := make([]any, len(b.entries))
	for i, e := range b.entries {
		req := obj{"method": e.method, "url": e.url}
		if e.ifNoneExist != "" {
			req["ifNoneExist"] = e.ifNoneExist
		}
		entries[i] = obj{"fullUrl": e.fullURL, "resource": e.resource, "request": req}
	}
	// sonic (the intake's decoder) writes it in a third of encoding/json's time, keys sorted
	// alike.
	out, err := sonic.ConfigStd.Marshal(obj{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err != nil {
		return nil, &Error{Code: CodeInternal, Msg: fmt.Sprintf("encode the Bundle: %v", err)}
	}
	res.Bundle = out
	return res, nil
}

// warn records a part of the message left out.
func (b *builder) warn(e *Error) { b.warnings = append(b.warnings, e) }

// dateTime reads a date/time field as a FHIR dateTime; "" when empty or unreadable.
func (b *builder) dateTime(f Field) string {
	t, ok := ParseTime(f.String(), b.o.Zone)
	if !ok {
		return ""
	}
	return t.DateTime()
}

// instant reads a date/time field as a FHIR instant; "" when empty, unreadable or a year
// or month alone.
func (b *builder) instant(f Field) string {
	t, ok := ParseTime(f.String(), b.o.Zone)
	if !ok {
		return ""
	}
	s, _ := t.Instant()
	return s
}

// firstTime is the first of the fields that holds a readable date/time.
func (b *builder) firstTime(fs ...Field) (Time, bool) {
	for _, f := range fs {
		if t, ok := ParseTime(f.String(), b.o.Zone); ok {
			return t, true
		}
	}
	return Time{}, false
}

// set puts v under k when it is not empty.
func set(r obj, k string, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
	case obj:
		if len(x) == 0 {
			return
		}
	case []any:
		if len(x) == 0 {
			return
		}
	case nil:
		return
	}
	r[k] = v
}
