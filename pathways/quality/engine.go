package quality

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/pathways"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
)

// RecordKind is the kind of the core's records: one per encounter with QC rows.
const RecordKind = "quality-stay"

// Engine is the QC core of the encounter-level indicators no other core owns. It is pure
// and safe for concurrent use; it keeps no state of its own beyond the settings' name, since
// every row derives from the facts.
type Engine struct {
	cfg   *Config
	paths func() *clinicalpath.Engine
}

// New returns an engine; nil cfg is Default(). paths returns the pathway engine of the
// moment (definitions are uploaded at run time); nil, or a nil engine, means no pathway
// rows.
func New(cfg *Config, paths func() *clinicalpath.Engine) *Engine {
	if cfg == nil {
		cfg = Default()
	}
	return &Engine{cfg: cfg, paths: paths}
}

// Config returns the settings in use.
func (e *Engine) Config() *Config { return e.cfg }

// StayBody is the JSON of a quality-stay record: the encounter's rows with why each counts,
// for drill-down.
type StayBody struct {
	Kind         string     `json:"kind"`
	ID           string     `json:"id"`
	Patient      string     `json:"patient"`
	Encounter    string     `json:"encounter,omitempty"`
	Department   string     `json:"department,omitempty"`
	AdmittedAt   *time.Time `json:"admitted_at,omitempty"`
	DischargedAt *time.Time `json:"discharged_at,omitempty"`
	Config       string     `json:"config"`
	Indicators   []Row      `json:"indicators"`
}

// Row is one indicator row of a record, as the body shows it.
type Row struct {
	Indicator   string    `json:"indicator"`
	At          time.Time `json:"at"`
	Department  string    `json:"department,omitempty"`
	Setting     string    `json:"setting,omitempty"`
	Denominator int       `json:"denominator"`
	Numerator   int       `json:"numerator"`
	Excluded    bool      `json:"excluded,omitempty"`
	Detail      string    `json:"detail"`
}

type state struct {
	V      int    `json:"v"`
	Config string `json:"config"`
}

// builder gathers one encounter's rows.
type builder struct {
	body StayBody
	rows []pathways.Measure
}

// Apply computes the patient's rows from the facts in force. It is idempotent and does not
// depend on the order facts arrived in; it never wakes by itself (no row changes with time
// alone: a readmission or a return to theatre comes with a fact).
func (e *Engine) Apply(raw json.RawMessage, in pathways.Input) (pathways.Outcome, error) {
	f, err := readFacts(in.Facts)
	if err != nil {
		return pathways.Outcome{}, err
	}
	patient := in.Patient.Ref
	if patient == "" && len(f.all) > 0 {
		patient = f.all[0].Patient
	}
	recs := map[string]*builder{}
	home := func(enc string, s *stay) *builder {
		if b := recs[enc]; b != nil {
			return b
		}
		b := &builder{body: StayBody{Kind: RecordKind, ID: recordID(patient, enc), Patient: patient, Encounter: enc, Config: e.cfg.Name(), Indicators: []Row{}}}
		if s != nil {
			b.body.Department = s.department
			if !s.admitted.IsZero() {
				t := s.admitted.UTC()
				b.body.AdmittedAt = &t
			}
			if s.discharged != nil {
				t := s.discharged.At.UTC()
				b.body.DischargedAt = &t
			}
		}
		recs[enc] = b
		return b
	}
	add := func(b *builder, m pathways.Measure, detail string) {
		m.Subject = patient
		b.rows = append(b.rows, m)
		b.body.Indicators = append(b.body.Indicators, Row{Indicator: m.Indicator, At: m.At.UTC(), Department: m.Department, Setting: m.Setting,
			Denominator: m.Denominator, Numerator: m.Numerator, Excluded: m.Excluded, Detail: detail})
	}

	stays := f.stays()
	qualifying := e.qualifying(in, f)
	for _, s := range stays {
		if s.discharged == nil {
			continue
		}
		b := home(s.enc, s)
		row := func(ind string, den, num int, excluded bool, detail string) {
			add(b, pathways.Measure{Indicator: ind, At: s.discharged.At, Department: s.department, Setting: "inpatient",
				Denominator: den, Numerator: num, Excluded: excluded}, detail)
		}
		row(IndicatorAdverseEvents, 1, 0, false, "inpatient discharge")
		e.readmission(f, s, stays, row)
		if pws := qualifying[s.enc]; len(pws) > 0 {
			enrolled := ""
			if pe := e.pathEngine(); pe != nil {
				enrolled = pe.Enrols(in.Patient, in.Facts, s.enc)
			}
			if enrolled != "" {
				row(IndicatorEnrollment, 1, 1, false, "qualifies for "+strings.Join(pws, ", ")+"; enrolled in "+enrolled)
			} else {
				row(IndicatorEnrollment, 1, 0, false, "qualifies for "+strings.Join(pws, ", ")+"; not enrolled")
			}
			// The same, per pathway (GET /api/v1/pathways/{id}/counts).
			for _, pw := range pws {
				in := 0
				if enrolled == pw {
					in = 1
				}
				row(clinicalpath.ForPathway(IndicatorEnrollment, pw), 1, in, false, "qualifies for "+pw)
			}
		}
		e.operationRows(f, s, row)
		e.reperfusion(f, s, IndicatorSTEMI, e.cfg.STEMI, row)
		e.reperfusion(f, s, IndicatorStroke, e.cfg.Stroke, row)
		e.coding(f, s, row)
	}
	e.adverseEvents(f, stays, func(enc string, s *stay, m pathways.Measure, detail string) { add(home(enc, s), m, detail) })

	out := pathways.Outcome{}
	for _, k := range sortedKeys(recs) {
		b := recs[k]
		body, err := json.Marshal(b.body)
		if err != nil {
			return pathways.Outcome{}, fmt.Errorf("quality: record: %w", err)
		}
		rec := pathways.Record{Kind: RecordKind, ID: b.body.ID, Patient: patient, Encounter: b.body.Encounter, Department: b.body.Department,
			Status: "open", Body: body, Measures: b.rows}
		if b.body.AdmittedAt != nil {
			rec.Opened = *b.body.AdmittedAt
		} else if len(b.rows) > 0 {
			rec.Opened = b.rows[0].At
		}
		if b.body.DischargedAt != nil {
			rec.Status, rec.Closed = "discharged", *b.body.DischargedAt
		}
		out.Records = append(out.Records, rec)
	}
	slices.SortStableFunc(out.Records, func(a, b pathways.Record) int {
		return cmp.Or(a.Opened.Compare(b.Opened), strings.Compare(a.ID, b.ID))
	})
	st, err := json.Marshal(state{V: 1, Config: e.cfg.Name()})
	if err != nil {
		return pathways.Outcome{}, err
	}
	out.State = st
	return out, nil
}

func (e *Engine) pathEngine() *clinicalpath.Engine {
	if e.paths == nil {
		return nil
	}
	return e.paths()
}

// qualifying maps each discharged encounter that meets a loaded pathway's entry criteria
// (the newest version of each) to those pathways' ids.
func (e *Engine) qualifying(in pathways.Input, f *facts) map[string][]string {
	pe := e.pathEngine()
	if pe == nil || len(f.discharges) == 0 {
		return nil
	}
	out := map[string][]string{}
	for _, def := range pe.Definitions() {
		if pe.Definition(def.ID, "") != def {
			continue // an older version: instances keep it, new enrolments take the newest
		}
		for _, enc := range clinicalpath.Qualifies(def, in.Patient, in.Facts) {
			out[enc] = append(out[enc], def.ID)
		}
	}
	return out
}

// recordID is stable per patient and encounter and unique across patients.
func recordID(patient, enc string) string {
	h := sha256.Sum256([]byte(patient + "|" + enc))
	return "qs-" + hex.EncodeToString(h[:8])
}
