package quality

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

// facts is one patient's facts that hold, decoded once.
type facts struct {
	all        []mapping.Event
	admissions map[string]admission // by encounter
	discharges map[string]discharge // by encounter
	transfers  []transfer
	diagnoses  []diagnosis
	operations []operation
	documents  []document
	orders     []order
	results    []result
	adverse    []adverse
}

type (
	admission = pathways.Admission
	discharge = pathways.Discharge
	transfer  = pathways.Transfer
	diagnosis = pathways.Diagnosis
	operation = pathways.Operation
	document  = pathways.Document
	order     = pathways.Order
	result    = pathways.Result
	adverse   = pathways.Adverse
)

// readFacts decodes the facts that hold (pathways.DecodeFacts) into what the indicators read;
// admissions and discharges by encounter.
func readFacts(in []mapping.Event) (*facts, error) {
	d, err := pathways.DecodeFacts(in, mapping.KindAdmitted, mapping.KindDischarged, mapping.KindTransferred, mapping.KindDiagnosed,
		mapping.KindOperated, mapping.KindDocumented, mapping.KindOrdered, mapping.KindResult, mapping.KindAdverseEvent)
	if err != nil {
		return nil, fmt.Errorf("quality: %w", err)
	}
	f := &facts{all: d.All, admissions: map[string]admission{}, discharges: map[string]discharge{}, transfers: d.Transfers,
		diagnoses: d.Diagnoses, operations: d.Operations, documents: d.Documents, orders: d.Orders, results: d.Results, adverse: d.Adverse}
	for _, a := range d.Admissions {
		if a.Encounter != "" {
			f.admissions[a.Encounter] = a
		}
	}
	for _, x := range d.Discharges {
		if x.Encounter != "" {
			f.discharges[x.Encounter] = x
		}
	}
	return f, nil
}

// stay is an inpatient encounter.
type stay struct {
	enc        string
	admitted   time.Time
	admission  *admission
	discharged *discharge // nil while in hospital
	department string
}

// stays lists the inpatient encounters (by admission, or by a discharge whose setting is
// inpatient), by admission time.
func (f *facts) stays() []*stay {
	var out []*stay
	seen := map[string]bool{}
	add := func(enc string) {
		if seen[enc] {
			return
		}
		seen[enc] = true
		s := &stay{enc: enc}
		if a, ok := f.admissions[enc]; ok {
			s.admission, s.admitted = &a, a.At
		}
		if d, ok := f.discharges[enc]; ok {
			s.discharged = &d
			if s.admitted.IsZero() {
				s.admitted = d.Admitted
			}
		}
		s.department = f.department(enc)
		out = append(out, s)
	}
	for enc, a := range f.admissions {
		if a.CareSetting == "inpatient" {
			add(enc)
		}
	}
	for enc, d := range f.discharges {
		if d.CareSetting == "inpatient" {
			add(enc)
		}
	}
	slices.SortFunc(out, func(a, b *stay) int {
		if c := a.admitted.Compare(b.admitted); c != 0 {
			return c
		}
		return strings.Compare(a.enc, b.enc)
	})
	return out
}

// department is the encounter's department at its end: the discharge's, else the last
// transfer's, else the admission's.
func (f *facts) department(enc string) string {
	if d, ok := f.discharges[enc]; ok && d.Department != nil {
		return d.Department.Code
	}
	dept := ""
	if a, ok := f.admissions[enc]; ok && a.Department != nil {
		dept = a.Department.Code
	}
	for _, t := range f.transfers {
		if t.Encounter == enc && t.To.Department != nil {
			dept = t.To.Department.Code
		}
	}
	return dept
}

// during reports whether a fact without an encounter falls in the stay.
func (s *stay) during(t time.Time) bool {
	if t.Before(s.admitted) {
		return false
	}
	return s.discharged == nil || !t.After(s.discharged.At)
}

// of reports whether a fact belongs to the stay: by its encounter, or by time when it names
// none.
func (s *stay) of(e mapping.Event) bool {
	return e.Encounter == s.enc || e.Encounter == "" && s.during(e.At)
}

// principal is the stay's principal diagnosis: the first Encounter.diagnosis entry marked
// principal (not a comorbidity), else a lone first Condition of the encounter.
func (f *facts) principal(enc string) (diagnosis, bool) {
	var fallback *diagnosis
	ambiguous := false
	for i := range f.diagnoses {
		d := &f.diagnoses[i]
		if d.Encounter != enc {
			continue
		}
		switch {
		case d.Principal && d.Role != "comorbidity":
			return *d, true
		case d.Role == "" && fallback == nil:
			fallback = d
		case d.Role == "" && d.At.Equal(fallback.At):
			ambiguous = true
		}
	}
	if fallback != nil && !ambiguous {
		return *fallback, true
	}
	return diagnosis{}, false
}

// onset is the diagnosis' onset: its own, else that of the Condition it names.
func (f *facts) onset(d diagnosis) (time.Time, bool) {
	if d.Onset != nil {
		return *d.Onset, true
	}
	for _, x := range f.diagnoses {
		if x.Resource == d.Condition && x.Onset != nil {
			return *x.Onset, true
		}
	}
	return time.Time{}, false
}

// prefixOf reports whether the concept's code (after mapping) or any coding as received
// starts with one of the prefixes.
func prefixOf(c mapping.Concept, prefixes []string) bool {
	codes := []string{c.Code}
	for _, x := range c.Codings {
		codes = append(codes, x.Code)
	}
	for _, code := range codes {
		for _, p := range prefixes {
			if code != "" && strings.HasPrefix(code, p) {
				return true
			}
		}
	}
	return false
}

func codeListed(c *mapping.Code, list []mapping.Code) bool {
	return c != nil && slices.ContainsFunc(list, func(x mapping.Code) bool { return x.System == c.System && x.Code == c.Code })
}
