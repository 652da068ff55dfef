package clinicalpath

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// RecordKind is the pathways.Record.Kind of a pathway instance.
const RecordKind = "pathway-instance"

// Notice names.
const (
	NoticeEnrolled    = "pathway.enrolled"
	NoticeItemOverdue = "pathway.item_overdue"
	NoticeVariance    = "pathway.variance"
	NoticeCompleted   = "pathway.completed"
	NoticeWithdrawn   = "pathway.withdrawn"
)

// DefaultICUDepartments are the department codes a transfer to which is an ICU transfer
// when Config.ICUDepartments is nil. CCU is not among them: a STEMI patient is admitted there
// by design.
var DefaultICUDepartments = []string{"ICU", "SICU", "MICU", "EICU", "RICU", "NSICU"}

// Config is what the engine needs to know of the hospital.
type Config struct {
	// Zone is the hospital's time zone, for "day N of stay"; default Asia/Shanghai.
	Zone *time.Location
	// ICUDepartments are department codes of intensive care; nil: DefaultICUDepartments.
	ICUDepartments []string
	// ICULocations are ward, bed or location references ("Location/icu-1") or their
	// identifier values that are intensive care, for hospitals whose ICU is a ward of a
	// department rather than a department.
	ICULocations []string
}

// Engine runs the pathways for one hospital. It is read-only after New and safe for
// concurrent use.
type Engine struct {
	cfg      Config
	versions map[string]map[string]*Definition // id → version → definition
	latest   map[string]*Definition            // id → newest version
	ids      []string                          // definition ids, sorted: the order enrolment tries them
}

// New returns an engine for defs, which may hold several versions of a pathway: the newest
// (by version, compared as numbers where both are numbers: "2026.10" > "2026.9") is the one
// new patients are enrolled under, and every version stays available to the instances
// enrolled under it. An instance whose version is not in defs makes Apply fail, so keep
// old versions loaded.
func New(defs []*Definition, cfg Config) (*Engine, error) {
	if cfg.Zone == nil {
		cfg.Zone = defaultZone()
	}
	if cfg.ICUDepartments == nil {
		cfg.ICUDepartments = DefaultICUDepartments
	}
	e := &Engine{cfg: cfg, versions: map[string]map[string]*Definition{}, latest: map[string]*Definition{}}
	for _, d := range defs {
		if d == nil {
			return nil, fmt.Errorf("clinicalpath: nil definition")
		}
		if e.versions[d.ID] == nil {
			e.versions[d.ID] = map[string]*Definition{}
			e.ids = append(e.ids, d.ID)
		}
		if _, dup := e.versions[d.ID][d.Version]; dup {
			return nil, fmt.Errorf("clinicalpath: pathway %s version %s given twice", d.ID, d.Version)
		}
		e.versions[d.ID][d.Version] = d
		if cur := e.latest[d.ID]; cur == nil || compareVersions(d.Version, cur.Version) > 0 {
			e.latest[d.ID] = d
		}
	}
	slices.Sort(e.ids)
	return e, nil
}

func defaultZone() *time.Location {
	if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return z
	}
	return time.FixedZone("CST", 8*3600) // China has no daylight saving time
}

// Definition returns the definition of id at version ("" for the newest), nil when not loaded.
func (e *Engine) Definition(id, version string) *Definition {
	if version == "" {
		return e.latest[id]
	}
	return e.versions[id][version]
}

// Definitions returns every loaded definition: by id, then version, newest first.
func (e *Engine) Definitions() []*Definition {
	var out []*Definition
	for _, id := range e.ids {
		vs := make([]*Definition, 0, len(e.versions[id]))
		for _, d := range e.versions[id] {
			vs = append(vs, d)
		}
		slices.SortFunc(vs, func(a, b *Definition) int { return compareVersions(b.Version, a.Version) })
		out = append(out, vs...)
	}
	return out
}

// compareVersions compares dot- or dash-separated versions part by part, numerically where
// both parts are numbers.
func compareVersions(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' })
	}
	pa, pb := split(a), split(b)
	for i := range min(len(pa), len(pb)) {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea == nil && eb == nil {
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if c := strings.Compare(pa[i], pb[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(pa), len(pb))
}

// state is the JSON document the engine keeps per patient.
type state struct {
	Patient   string      `json:"patient"`
	Instances []*instance `json:"instances"`
}

// instance is one enrolment. Everything but the pinned version, the human actions and the
// notices sent is derived again from the facts on every Apply, which is what makes the
// records the same whatever order the facts arrived in.
type instance struct {
	ID        string      `json:"id"`
	Encounter string      `json:"encounter"`
	Pathway   string      `json:"pathway"`
	Version   string      `json:"version"` // pinned at enrolment
	Derived   derived     `json:"derived"`
	Withdrawn *Withdrawal `json:"withdrawn,omitempty"`
	Recorded  []Variance  `json:"recorded,omitempty"` // variances clinicians recorded
	Notified  []string    `json:"notified,omitempty"` // keys of the notices already sent, sorted
	// Dropped marks an instance whose encounter no longer qualifies. It is kept, without a
	// record, so that re-enrolling the encounter (the facts changing back) sends nothing twice.
	Dropped bool `json:"dropped,omitempty"`
}

func decodeState(raw json.RawMessage) (*state, error) {
	st := &state{}
	if len(raw) == 0 || string(raw) == "null" {
		return st, nil
	}
	if err := pathways.Decode(raw, st); err != nil {
		return nil, fmt.Errorf("clinicalpath: decoding state: %w", err)
	}
	return st, nil
}

// Apply runs the pathways of one patient on the facts in force at in.Now; see the package
// documentation for what it does. Applying the same input to the returned state gives the
// same records and no notices.
func (e *Engine) Apply(raw json.RawMessage, in pathways.Input) (pathways.Outcome, error) {
	st, err := decodeState(raw)
	if err != nil {
		return pathways.Outcome{}, err
	}
	facts := pathways.Holding(in.Facts)
	if st.Patient == "" {
		st.Patient = in.Patient.Ref
	}
	if st.Patient == "" && len(facts) > 0 {
		st.Patient = facts[0].Patient
	}
	byEnc := map[string]*instance{}
	for _, x := range st.Instances {
		byEnc[x.Encounter] = x
	}
	// Existing instances: derive again under the pinned version. One that no longer
	// qualifies (its diagnosis was withdrawn or corrected, or it was enrolled on facts that
	// later ones refine) is dropped unless a clinician has acted on it, so that the records
	// converge to what the final facts say.
	for _, x := range st.Instances {
		def := e.Definition(x.Pathway, x.Version)
		if def == nil {
			return pathways.Outcome{}, fmt.Errorf("clinicalpath: instance %s is enrolled under %s version %s, which is not loaded", x.ID, x.Pathway, x.Version)
		}
		en, ok := enrolment(def, in.Patient, facts, x.Encounter)
		switch {
		case ok:
			x.Derived, x.Dropped = e.derive(def, en, facts), false
		case x.Withdrawn == nil && len(x.Recorded) == 0:
			x.Dropped = true
		}
	}
	// New enrolments: one pathway per encounter, the first (by id) whose newest version
	// takes the encounter. A dropped instance that another pathway now takes starts afresh.
	for _, enc := range inpatientEncounters(facts) {
		if x := byEnc[enc]; x != nil && !x.Dropped {
			continue
		}
		for _, id := range e.ids {
			def := e.latest[id]
			en, ok := enrolment(def, in.Patient, facts, enc)
			if !ok {
				continue
			}
			x := byEnc[enc]
			if x == nil {
				x = &instance{ID: recordID(st.Patient, enc), Encounter: enc}
				st.Instances = append(st.Instances, x)
				byEnc[enc] = x
			}
			x.Pathway, x.Version, x.Notified, x.Dropped = def.ID, def.Version, nil, false
			x.Derived = e.derive(def, en, facts)
			break
		}
	}
	slices.SortFunc(st.Instances, func(a, b *instance) int {
		return cmp.Or(a.Derived.EnrolledAt.Compare(b.Derived.EnrolledAt), strings.Compare(a.ID, b.ID))
	})
	return e.finish(st, in.Now)
}

// finish projects every instance at now into records, sends the notices not sent before and
// encodes the state.
func (e *Engine) finish(st *state, now time.Time) (pathways.Outcome, error) {
	var out pathways.Outcome
	for _, x := range st.Instances {
		if x.Dropped {
			continue
		}
		def := e.Definition(x.Pathway, x.Version)
		if def == nil {
			return pathways.Outcome{}, fmt.Errorf("clinicalpath: instance %s is enrolled under %s version %s, which is not loaded", x.ID, x.Pathway, x.Version)
		}
		view, wake := e.project(st.Patient, x, def, now)
		body, err := json.Marshal(view)
		if err != nil {
			return pathways.Outcome{}, fmt.Errorf("clinicalpath: encoding %s: %w", x.ID, err)
		}
		rec := pathways.Record{Kind: RecordKind, ID: x.ID, Patient: st.Patient, Encounter: x.Encounter,
			Department: view.Department, Status: view.Status, Opened: view.EnrolledAt, Body: body}
		if view.Withdrawn != nil {
			rec.Closed = view.Withdrawn.At
		} else if view.DischargedAt != nil {
			rec.Closed = *view.DischargedAt
		}
		out.Records = append(out.Records, rec)
		for _, n := range notices(view) {
			if _, sent := slices.BinarySearch(x.Notified, n.key); sent {
				continue
			}
			x.Notified = append(x.Notified, n.key)
			out.Notices = append(out.Notices, pathways.Notice{Name: n.name, Record: x.ID, Patient: st.Patient,
				Department: view.Department, At: n.at, Data: body})
		}
		slices.Sort(x.Notified)
		if !wake.IsZero() && (out.Wake.IsZero() || wake.Before(out.Wake)) {
			out.Wake = wake
		}
	}
	slices.SortStableFunc(out.Notices, func(a, b pathways.Notice) int { return a.At.Compare(b.At) })
	raw, err := json.Marshal(st)
	if err != nil {
		return pathways.Outcome{}, fmt.Errorf("clinicalpath: encoding state: %w", err)
	}
	out.State = raw
	return out, nil
}

// notice is one notice a record's view calls for, with the key that makes it be sent once.
type notice struct {
	key, name string
	at        time.Time
}

func notices(v *Instance) []notice {
	out := []notice{{"enrolled", NoticeEnrolled, v.EnrolledAt}}
	for _, it := range v.Items {
		if it.DueAt != nil && (it.Status == ItemOverdue || it.Late) {
			out = append(out, notice{"item_overdue:" + it.ID, NoticeItemOverdue, *it.DueAt})
		}
	}
	for _, x := range v.Variances {
		out = append(out, notice{"variance:" + x.ID, NoticeVariance, x.At})
	}
	if v.Status == StatusCompleted && v.DischargedAt != nil {
		out = append(out, notice{"completed", NoticeCompleted, *v.DischargedAt})
	}
	if v.Withdrawn != nil {
		out = append(out, notice{"withdrawn", NoticeWithdrawn, v.Withdrawn.At})
	}
	return out
}

// recordID is stable per patient and encounter, and unique across patients.
func recordID(patient, encounter string) string { return "cp-" + shortHash(patient+"|"+encounter) }

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// inpatientEncounters lists the encounters that have an admission fact, in time order.
func inpatientEncounters(facts []mapping.Event) []string {
	var out []string
	for _, f := range facts {
		if f.Kind == mapping.KindAdmitted && f.Encounter != "" && !slices.Contains(out, f.Encounter) {
			out = append(out, f.Encounter)
		}
	}
	return out
}
