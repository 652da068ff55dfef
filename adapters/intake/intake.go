// Package intake accepts FHIR resources and Bundles from source systems: it validates them,
// resolves their references, stores every accepted version before answering, and tells the
// queue there is work. HTTP, HL7 v2 and the demo loader all come through here, so every way in
// follows the same rules.
package intake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/mapping/bundle"
	"github.com/lujing-health/lujing/mapping/resource"
)

// Store is what intake needs of the store.
type Store interface {
	Accept(ctx context.Context, in []store.Incoming) ([]store.Result, error)
	LookupIdentifier(ctx context.Context, typ string, id store.Identifier) (string, error)
}

// Publisher tells the worker there is work for patient keys.
type Publisher interface {
	Publish(ctx context.Context, keys ...string) error
	PublishUrgent(ctx context.Context, keys ...string) error
}

// Triage reports whether a stored resource version may make, change or withdraw a critical
// value. Its patient's work then goes through the queue's urgent lane, ahead of the rest. r is
// the resource as parsed on arrival, nil for a delete.
type Triage func(src Source, typ, id string, version int, r *resource.Resource) bool

// Source says who sends: the token's source system and hospital.
type Source struct {
	System   string // his, lis, pacs, generic…
	Hospital string
}

// Service is the intake.
type Service struct {
	store   Store
	queue   Publisher
	limits  bundle.Limits
	log     *slog.Logger
	metrics *metrics
	commits *committer
	triage  Triage

	// publishFailedAt holds the unix nanos of the last failed publish. While the queue is
	// down, senders are not made to wait for it: the relay republishes from the store.
	publishFailedAt atomic.Int64
}

// Options configure a Service.
type Options struct {
	Limits     bundle.Limits
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// MaxGroup bounds the entries of concurrent requests stored in one transaction; default 2000.
	MaxGroup int
	// Triage picks the urgent resources; nil: none is.
	Triage Triage
}

// New returns an intake over st that publishes work to q.
func New(st Store, q Publisher, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 2000
	}
	return &Service{store: st, queue: q, limits: opts.Limits, log: opts.Logger, metrics: newMetrics(opts.Registerer),
		commits: newCommitter(st, opts.MaxGroup), triage: opts.Triage}
}

// Close stops the committer after the requests queued in it are stored. Call it once no
// request can arrive any more (after the HTTP server's shutdown).
func (s *Service) Close() { s.commits.close() }

// Result is the answer for one resource or Bundle entry.
type Result struct {
	Status      int // HTTP status of the entry: 200, 201, 4xx
	Type, ID    string
	VersionID   int
	LastUpdated time.Time
	Outcome     store.Outcome
	Err         *resource.Error // set for a failed entry
}

// Location is "Type/id/_history/n", or "" when nothing names the entry.
func (r Result) Location() string {
	if r.Type == "" || r.ID == "" {
		return ""
	}
	if r.VersionID == 0 {
		return r.Type + "/" + r.ID
	}
	return fmt.Sprintf("%s/%s/_history/%d", r.Type, r.ID, r.VersionID)
}

// Resource accepts one resource sent to /fhir/{type} (POST, id "") or /fhir/{type}/{id} (PUT).
// A *resource.Error is the sender's fault; any other error is ours.
func (s *Service) Resource(ctx context.Context, src Source, typ, id string, raw []byte) (Result, error) {
	res, err := s.resource(ctx, src, typ, id, raw)
	var re *resource.Error
	if errors.As(err, &re) {
		s.metrics.rejected(src.System, re)
	}
	return res, err
}

func (s *Service) resource(ctx context.Context, src Source, typ, id string, raw []byte) (Result, error) {
	if !resource.KnownType(typ) {
		return Result{}, &resource.Error{Status: 404, Issues: []resource.Issue{{Severity: "error", Code: "not-supported",
			Diagnostics: fmt.Sprintf("%q is not an R4 resource type", typ)}}}
	}
	r, err := resource.ParseWith(raw, s.limits.Resource)
	if err != nil {
		return Result{}, asResourceError(err)
	}
	if r.Type != typ {
		return Result{}, &resource.Error{Status: 400, Issues: []resource.Issue{{Severity: "error", Code: "invalid", Expression: "resourceType",
			Diagnostics: fmt.Sprintf("resource is a %s but was sent to /fhir/%s", r.Type, typ)}}}
	}
	method := bundle.MethodPOST
	if id != "" {
		method = bundle.MethodPUT
		if !resource.ValidID(id) {
			return Result{}, &resource.Error{Status: 400, Issues: []resource.Issue{{Severity: "error", Code: "value", Expression: typ + ".id",
				Diagnostics: "the id in the URL is not a valid FHIR id"}}}
		}
		if r.ID != "" && r.ID != id {
			return Result{}, &resource.Error{Status: 400, Issues: []resource.Issue{{Severity: "error", Code: "invalid", Expression: typ + ".id",
				Diagnostics: fmt.Sprintf("resource id %q differs from the URL id %q", r.ID, id)}}}
		}
	}
	b := bundle.Single(method, id, r)
	res, err := s.apply(ctx, src, b, true)
	if err != nil {
		return Result{}, err
	}
	if res[0].Err != nil {
		return Result{}, unbase(res[0].Err, typ)
	}
	return res[0], nil
}

// Bundle accepts a batch or transaction Bundle sent to /fhir. For a transaction, any entry's
// problem fails the whole Bundle with that entry's error and nothing is stored.
func (s *Service) Bundle(ctx context.Context, src Source, raw []byte) (*bundle.Bundle, []Result, error) {
	b, err := bundle.Parse(raw, s.limits)
	if err != nil {
		s.metrics.rejected(src.System, err)
		return nil, nil, err
	}
	if b.Transaction() {
		if e := b.FirstError(); e != nil {
			s.metrics.rejected(src.System, e)
			return b, nil, e
		}
	}
	res, err := s.apply(ctx, src, b, b.Transaction())
	return b, res, err
}

func (s *Service) apply(ctx context.Context, src Source, b *bundle.Bundle, atomic bool) ([]Result, error) {
	if err := b.Resolve(ctx, resolver{s.store}); err != nil {
		return nil, fmt.Errorf("resolve references: %w", err)
	}
	if atomic {
		if e := b.FirstError(); e != nil {
			s.metrics.rejected(src.System, e)
			return nil, e
		}
	}
	results := make([]Result, len(b.Entries))
	var err error
	var in []store.Incoming
	var at []int // index into results of each Incoming
	var parsed []*resource.Resource
	hashes := b.Hashes()
	for i, e := range b.Entries {
		switch {
		case e.Err != nil:
			results[i] = Result{Status: e.Err.Status, Err: e.Err, Type: e.Type}
			s.metrics.rejected(src.System, e.Err)
			continue
		case e.Exists:
			results[i] = Result{Status: http.StatusOK, Type: e.Type, ID: e.ID, Outcome: store.OutcomeUnchanged}
			continue
		case e.Noop:
			results[i] = Result{Status: http.StatusOK, Type: e.Type, Outcome: store.OutcomeUnchanged}
			continue
		}
		inc := store.Incoming{
			Source: src.System, Hospital: src.Hospital,
			Type: e.Type, ID: e.ID, Delete: e.Method == bundle.MethodDELETE,
		}
		if inc.Delete {
			inc.Hash = "deleted"
			inc.PatientKey = e.Type + "/" + e.ID
		} else {
			inc.Body = e.Body
			inc.Hash = hashes[i]
			inc.SourceUpdated = e.Resource.Meta.LastUpdated
			inc.PatientKey = patientKey(e)
			for _, id := range e.Resource.Identifiers {
				inc.Identifiers = append(inc.Identifiers, store.Identifier{System: id.System, Value: id.Value})
			}
		}
		in = append(in, inc)
		at = append(at, i)
		parsed = append(parsed, e.Resource)
	}
	if len(in) == 0 {
		return results, nil
	}
	provenanceWithItsPatient(in, parsed)
	stored, err := s.commits.accept(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("store %d resources: %w", len(in), err)
	}
	var order []string
	urgent := map[string]bool{} // patient key → its work goes through the urgent lane
	for j, r := range stored {
		i := at[j]
		results[i] = Result{Status: http.StatusOK, Type: in[j].Type, ID: in[j].ID,
			VersionID: r.VersionID, LastUpdated: r.LastUpdated, Outcome: r.Outcome}
		if r.Outcome == store.OutcomeCreated {
			results[i].Status = http.StatusCreated
		}
		s.metrics.accepted(src.System, r.Outcome)
		if r.MessageID == 0 {
			continue
		}
		u, seen := urgent[r.PatientKey]
		if !seen {
			order = append(order, r.PatientKey)
		}
		// One urgent delivery reads all of the patient's stored messages: once urgent, the
		// patient's other resources need no triage.
		urgent[r.PatientKey] = u || s.triage != nil && s.triage(src, in[j].Type, in[j].ID, r.VersionID, parsed[j])
	}
	if h, ok := ctx.Value(heldKey{}).(*held); ok {
		h.add(s, order, urgent)
		return results, nil
	}
	hot, keys := split(order, urgent)
	s.publish(ctx, hot, keys)
	return results, nil
}

// provenanceWithItsPatient files a Provenance under the patient of the first entry of the same
// Bundle it names (its targets, for the HL7 listener's): it has no patient of its own, and as
// its own key each one cost the worker a delivery of its own — one per HL7 message. Only
// Provenance: a record made once, mapped to nothing, so its versions filed under two keys
// cannot be applied out of order in a way that matters.
func provenanceWithItsPatient(in []store.Incoming, parsed []*resource.Resource) {
	var own map[string]string // "Type/id" → its patient key
	for i := range in {
		if in[i].Type != "Provenance" || in[i].Delete || parsed[i] == nil {
			continue
		}
		if own == nil {
			own = map[string]string{}
			for _, e := range in {
				if strings.HasPrefix(e.PatientKey, "Patient") && e.ID != "" {
					own[e.Type+"/"+e.ID] = e.PatientKey
				}
			}
		}
		for _, ref := range parsed[i].References() {
			if k, ok := own[ref.Value]; ok {
				in[i].PatientKey = k
				break
			}
		}
	}
}

// split parts the keys, in order, into the urgent ones and the rest.
func split(order []string, urgent map[string]bool) (hot, keys []string) {
	for _, k := range order {
		if urgent[k] {
			hot = append(hot, k)
		} else {
			keys = append(keys, k)
		}
	}
	return hot, keys
}

type heldKey struct{}

// held gathers the work that Bundles stored under Hold would have published.
type held struct {
	mu     sync.Mutex
	s      *Service
	order  []string
	urgent map[string]bool
	done   bool
}

func (h *held) add(s *Service, order []string, urgent map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.s = s
	for _, k := range order {
		u, seen := h.urgent[k]
		if !seen {
			h.order = append(h.order, k)
		}
		h.urgent[k] = u || urgent[k]
	}
}

// Hold returns a context under which the intake stores as usual but keeps the work it would
// publish until publish is called (once; later calls do nothing). A caller that applies several
// messages of one patient in a row — the HL7 applier taking a patient's waiting messages — so
// makes one delivery of them for the worker, not one each: one read of the pending messages,
// one commit of their events, one run of the cores. Until publish the work is in the store
// only, as after a failed publish: if the caller dies first, the relay republishes it.
func Hold(ctx context.Context) (context.Context, func()) {
	h := &held{urgent: map[string]bool{}}
	return context.WithValue(ctx, heldKey{}, h), func() {
		h.mu.Lock()
		s, order, urgent, done := h.s, h.order, h.urgent, h.done
		h.done = true
		h.mu.Unlock()
		if s != nil && !done {
			hot, keys := split(order, urgent)
			s.publish(ctx, hot, keys)
		}
	}
}

// publish tells the queue, the urgent keys first; a failure is logged and left to the relay,
// never returned: the resources are stored and the sender must get its 2xx.
func (s *Service) publish(ctx context.Context, urgent, keys []string) {
	if len(keys)+len(urgent) == 0 || s.queue == nil {
		return
	}
	if last := s.publishFailedAt.Load(); last != 0 && time.Since(time.Unix(0, last)) < 2*time.Second {
		s.metrics.publishSkipped.Add(float64(len(keys) + len(urgent)))
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 500*time.Millisecond)
	defer cancel()
	var err error
	if len(urgent) > 0 {
		err = s.queue.PublishUrgent(ctx, urgent...)
		s.metrics.urgent.Add(float64(len(urgent)))
	}
	if err == nil && len(keys) > 0 {
		err = s.queue.Publish(ctx, keys...)
	}
	if err != nil {
		s.publishFailedAt.Store(time.Now().UnixNano())
		s.metrics.publishErrors.Inc()
		s.log.Warn("queue publish failed; the relay will republish from the store", "keys", len(keys)+len(urgent), "err", err)
		return
	}
	s.publishFailedAt.Store(0)
}

var patientRef = regexp.MustCompile(`(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$`)

// patientKey is the ordering key of a resource: its patient when it has one, so that one
// patient's work is applied in order, else the resource itself.
func patientKey(e *bundle.Entry) string {
	if m := patientRef.FindStringSubmatch(e.Subject()); m != nil {
		return "Patient/" + m[1]
	}
	if s := e.Subject(); strings.HasPrefix(s, "Patient?") {
		return s // an unresolved conditional reference: still one key per patient
	}
	return e.Type + "/" + e.ID
}

type resolver struct{ st Store }

func (r resolver) LookupIdentifier(ctx context.Context, typ, system, value string) (string, error) {
	id, err := r.st.LookupIdentifier(ctx, typ, store.Identifier{System: system, Value: value})
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return id, err
}

func asResourceError(err error) error {
	var re *resource.Error
	if errors.As(err, &re) {
		return re
	}
	return &resource.Error{Status: 422, Issues: []resource.Issue{{Severity: "error", Code: "invalid", Diagnostics: err.Error()}}}
}

// unbase turns "Bundle.entry[0].resource.x" back into "Type.x" for a resource sent on its own.
func unbase(e *resource.Error, typ string) *resource.Error {
	out := &resource.Error{Status: e.Status, Issues: make([]resource.Issue, len(e.Issues))}
	for i, is := range e.Issues {
		if rest, ok := strings.CutPrefix(is.Expression, "Bundle.entry[0].resource"); ok {
			is.Expression = typ + rest
		} else if rest, ok := strings.CutPrefix(is.Expression, "Bundle.entry[0].request"); ok {
			is.Expression = typ + rest
		}
		out.Issues[i] = is
	}
	return out
}
