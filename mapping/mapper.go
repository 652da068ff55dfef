package mapping

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/grading"
	"github.com/lujing-health/lujing/mapping/resource"
)

// Options configure a Clinical mapper.
type Options struct {
	// Profiles are the source profiles by name. "generic" is required: it maps a source that
	// has no profile of its own.
	Profiles map[string]Profile
	// CodeMaps are the maps profiles name in code_maps.
	CodeMaps []*codemap.Map
	// Grades is the surgery grading catalogue for Procedures that carry no grade; nil for none.
	Grades *grading.Catalogue
	// Zone is the hospital's time zone: a FHIR date without a time ("2026-03-02") is midnight
	// there. Default Asia/Shanghai.
	Zone *time.Location
}

// Clinical maps FHIR resources to clinical events. It is safe for concurrent use.
//
// Events depend only on the resource and the stored resources it needs, never on the order of
// arrival: a resource that needs one not yet stored returns a *MissingError (park it, and map
// it again when one of MissingError.Needs arrives). A version that withdraws what an earlier
// one stated (entered in error, refuted, cancelled, not done) yields KindCancelled events
// under the same Keys; a first version (Input.Version ≤ 1) that is already withdrawn yields
// nothing, since nothing was stated. A delete withdraws the events of Input.Body when the
// caller passes the last version's JSON there, and does nothing without it.
type Clinical struct {
	res      Resources
	profiles map[string]*profile
	grades   *grading.Catalogue
	zone     *time.Location
}

var _ Mapper = (*Clinical)(nil)

// profile is a Profile with its maps and code lists resolved.
type profile struct {
	Profile
	maps     []*codemap.Map
	critical map[Code]bool // system and code only
	death    map[Code]bool
}

// New returns a Clinical mapper reading dependencies from res.
func New(res Resources, opts Options) (*Clinical, error) {
	if res == nil {
		return nil, fmt.Errorf("mapping: New needs Resources")
	}
	if _, ok := opts.Profiles["generic"]; !ok {
		return nil, fmt.Errorf("mapping: no \"generic\" profile, the one for sources without their own")
	}
	byID := map[string]*codemap.Map{}
	for _, m := range opts.CodeMaps {
		byID[m.ID] = m
	}
	c := &Clinical{res: res, profiles: map[string]*profile{}, grades: opts.Grades, zone: opts.Zone}
	if c.zone == nil {
		c.zone = defaultZone()
	}
	for _, name := range slices.Sorted(maps.Keys(opts.Profiles)) {
		p := opts.Profiles[name]
		if probs := p.Problems(); len(probs) > 0 {
			return nil, fmt.Errorf("mapping: profile %q: %s: %s", name, probs[0].Path, probs[0].Message)
		}
		rp := &profile{Profile: p, critical: map[Code]bool{}, death: map[Code]bool{}}
		for _, id := range p.CodeMaps {
			m, ok := byID[id]
			if !ok {
				return nil, fmt.Errorf("mapping: profile %q names code map %q, which is not loaded", name, id)
			}
			rp.maps = append(rp.maps, m)
		}
		for _, x := range p.Critical.Interpretations {
			rp.critical[Code{System: x.System, Code: x.Code}] = true
		}
		for _, x := range p.Discharge.Death {
			rp.death[Code{System: x.System, Code: x.Code}] = true
		}
		c.profiles[name] = rp
	}
	return c, nil
}

// defaultZone is Asia/Shanghai, or UTC+8 where the zone database is missing (China has no
// daylight saving time, so the two agree).
func defaultZone() *time.Location {
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.FixedZone("CST", 8*3600)
}

// typeMappers map one resource type each. The statuses that withdraw a type's statements are
// in withdrawal.
var typeMappers = map[string]func(*job) error{
	"AdverseEvent":      (*job).adverseEvent,
	"Composition":       (*job).composition,
	"Condition":         (*job).conditionEvent,
	"DiagnosticReport":  (*job).diagnosticReport,
	"DocumentReference": (*job).documentReference,
	"Encounter":         (*job).encounter,
	"ImagingStudy":      (*job).imagingStudy,
	"MedicationRequest": (*job).medicationRequest,
	"Observation":       (*job).observation,
	"Patient":           (*job).patient,
	"Procedure":         (*job).procedure,
	"ServiceRequest":    (*job).serviceRequest,
}

// Map maps one stored resource version. Types with no clinical meaning here map to nothing.
func (c *Clinical) Map(ctx context.Context, in Input) (Result, error) {
	return c.mapResource(ctx, in, nil, false)
}

// Preview maps a resource as Map does without reading any other resource: a dependency is
// taken as present and empty, so nothing parks. It tells what a resource states before it is
// applied — the intake's triage of possible critical values — and is cheap enough for that;
// an event that would copy something from a dependency lacks it. r is the resource already
// parsed from in.Body (the intake has it), or nil.
func (c *Clinical) Preview(in Input, r *resource.Resource) (Result, error) {
	return c.mapResource(context.Background(), in, r, true)
}

func (c *Clinical) mapResource(ctx context.Context, in Input, r *resource.Resource, preview bool) (Result, error) {
	if in.Deleted && len(in.Body) == 0 {
		return Result{}, nil
	}
	if r == nil {
		var err error
		if r, err = resource.ParseStored(in.Body); err != nil {
			return Result{}, fmt.Errorf("mapping %s: %w", in.Ref(), err)
		}
	}
	if r.Type != in.Type {
		return Result{}, fmt.Errorf("mapping %s: the body is a %s", in.Ref(), r.Type)
	}
	mapType := typeMappers[r.Type]
	if mapType == nil {
		return Result{}, nil
	}
	p, err := c.profile(in)
	if err != nil {
		return Result{}, err
	}
	j := &job{c: c, ctx: ctx, in: in, r: r, p: p, ref: in.Ref(), preview: preview}
	reason := withdrawal(r)
	if in.Deleted {
		reason = "deleted"
	}
	if in.Version <= 1 && !in.Deleted && (reason != "" || r.String("status") == "entered-in-error") {
		// Withdrawn before anything was stated: nothing to say, nothing to withdraw.
		return Result{}, nil
	}
	j.withdraw = reason != ""
	if err := mapType(j); err != nil {
		return Result{}, fmt.Errorf("mapping %s: %w", in.Ref(), err)
	}
	if j.err != nil {
		return Result{}, fmt.Errorf("mapping %s: %w", in.Ref(), j.err)
	}
	if len(j.missing) > 0 {
		return Result{}, &MissingError{Needs: j.missing}
	}
	if j.withdraw {
		j.cancelAll(reason)
	}
	return j.res, nil
}

func (c *Clinical) profile(in Input) (*profile, error) {
	if in.Profile != "" {
		p, ok := c.profiles[in.Profile]
		if !ok {
			return nil, fmt.Errorf("mapping %s: no source profile %q", in.Ref(), in.Profile)
		}
		return p, nil
	}
	if p, ok := c.profiles[in.Source]; ok {
		return p, nil
	}
	return c.profiles["generic"], nil
}

// withdrawal is the status by which r withdraws the events its type states without a status
// of their own (admitted, diagnosed, operated…), or "". Results, orders, imaging and
// documents carry their status, entered-in-error included, in their Data instead.
func withdrawal(r *resource.Resource) string {
	switch s := r.String("status"); r.Type {
	case "Encounter":
		if s == "entered-in-error" || s == "cancelled" {
			return s
		}
	case "Procedure":
		if s == "entered-in-error" || s == "not-done" {
			return s
		}
	case "Condition":
		for i := 0; ; i++ {
			code := r.String("verificationStatus", "coding", fmt.Sprint(i), "code")
			if code == "" {
				return ""
			}
			if code == "refuted" || code == "entered-in-error" {
				return code
			}
		}
	}
	return ""
}

// job is the mapping of one resource.
type job struct {
	c        *Clinical
	ctx      context.Context
	in       Input
	r        *resource.Resource
	p        *profile
	ref      string // "Type/id" of the resource mapped
	res      Result
	withdraw bool     // map only to withdraw: dependencies are not needed, status gates are open
	preview  bool     // read no dependency (Preview)
	missing  []string // dependencies not stored
	err      error    // the first failure reading a dependency
	deps     map[string][]byte
}

// event adds an event of the resource. data is one of the *Data structs.
func (j *job) event(kind, key, patient, encounter string, at time.Time, data any) {
	j.res.Events = append(j.res.Events, Event{Key: key, Version: j.in.Version, Kind: kind, Patient: patient, Encounter: encounter,
		Hospital: j.in.Hospital, Source: j.in.Source, At: at.UTC(), Resource: j.ref, Data: encode(data)})
}

// encode writes event data as JSON, leaving "<" (a Quantity comparator) as it is.
func encode(data any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil { // the Data structs hold only JSON-safe values
		panic(fmt.Sprintf("mapping: encode %T: %v", data, err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// cancelAll replaces the events mapped with their withdrawal.
func (j *job) cancelAll(reason string) {
	for i, e := range j.res.Events {
		if e.Kind == KindCancelled {
			continue // withdrawn already, for a reason of its own
		}
		e.Kind, e.Data = KindCancelled, encode(CancelledData{Cancels: e.Kind, Reason: reason})
		j.res.Events[i] = e
	}
	// A withdrawn resource's codes need no map.
	j.res.Unmapped = nil
}

// flag records a data-quality remark once.
func (j *job) flag(f string) {
	if !slices.Contains(j.res.Flags, f) {
		j.res.Flags = append(j.res.Flags, f)
	}
}

// fetch reads the JSON of the stored resource typ/id that the mapping depends on. When it is
// not stored it is recorded as missing and fetch returns nil; so it does while withdrawing,
// when nothing is read.
func (j *job) fetch(typ, id string) []byte {
	if j.withdraw || j.preview {
		return nil
	}
	ref := typ + "/" + id
	if ref == j.ref {
		return j.in.Body
	}
	if body, seen := j.deps[ref]; seen {
		return body
	}
	body, ok, err := j.c.res.Get(j.ctx, typ, id)
	switch {
	case err != nil:
		if j.err == nil {
			j.err = fmt.Errorf("read %s: %w", ref, err)
		}
		return nil
	case !ok || len(body) == 0:
		body = nil
		if !slices.Contains(j.missing, ref) {
			j.missing = append(j.missing, ref)
		}
	}
	if j.deps == nil {
		j.deps = map[string][]byte{}
	}
	j.deps[ref] = body
	return body
}

// need is fetch, decoded.
func (j *job) need(typ, id string) *resource.Resource {
	body := j.fetch(typ, id)
	if body == nil {
		return nil
	}
	r, err := resource.ParseStored(body)
	if err != nil || r.Type != typ {
		if j.err == nil {
			j.err = fmt.Errorf("stored %s/%s is not a valid %s", typ, id, typ)
		}
		return nil
	}
	return r
}
