package mapping

import (
	"cmp"
	"slices"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/lujing-health/lujing/mapping/resource"
)

// encounter maps an Encounter: admitted (with the first placement), transferred (each later
// placement in the location history), discharged (when finished), and a diagnosed event per
// Encounter.diagnosis entry with its role. A planned Encounter states nothing yet.
func (j *job) encounter() error {
	e, err := j.r.Encounter()
	if err != nil {
		return err
	}
	patient, ok, err := j.subject(e.Subject, "Encounter.subject")
	if !ok || err != nil {
		return err
	}
	status := e.Status.Code()
	if status == "planned" && !j.withdraw {
		return nil
	}
	setting := careSetting(e.Class)
	start := j.periodStart(e.Period)
	var mrn string
	if pr := j.need("Patient", patient[len("Patient/"):]); pr != nil {
		pt, err := pr.Patient()
		if err != nil {
			return err
		}
		mrn = j.mrn(pt)
	}
	placements := j.placements(e, start)
	first := placements[0]
	admitted := AdmittedData{
		CareSetting: setting, ClassCode: str(e.Class.Code), Status: status, MRN: mrn, Placement: first,
		Priority: firstCode(e.Priority), Attending: attending(e.Participant), Types: allCodes(e.Type),
	}
	if e.Hospitalization != nil {
		admitted.AdmitSource = firstCode(e.Hospitalization.AdmitSource)
	}
	at := j.at(start)
	j.event(KindAdmitted, j.ref+"#"+KindAdmitted, patient, j.ref, at, admitted)
	for i := 1; i < len(placements); i++ {
		to := placements[i]
		j.event(KindTransferred, j.ref+"#"+KindTransferred+"/"+to.Start.Format(time.RFC3339), patient, j.ref,
			*to.Start, TransferredData{CareSetting: setting, From: placements[i-1], To: to})
	}
	end := j.periodEnd(e.Period)
	if status == "finished" || j.withdraw && end != nil {
		d := DischargedData{CareSetting: setting, Admitted: at, Placement: placements[len(placements)-1]}
		if e.Hospitalization != nil {
			d.Disposition = firstCode(e.Hospitalization.DischargeDisposition)
		}
		d.Died = d.Disposition != nil && j.p.death[Code{System: d.Disposition.System, Code: d.Disposition.Code}]
		j.event(KindDischarged, j.ref+"#"+KindDischarged, patient, j.ref, j.at(end), d)
	}
	return j.diagnoses(e, patient, at, end)
}

// careSetting names the Encounter.class (v3 ActCode) as the care settings Lujing's rules use.
func careSetting(class fhir.Coding) string {
	switch str(class.Code) {
	case "IMP", "ACUTE", "NONAC":
		return "inpatient"
	case "AMB":
		return "outpatient"
	case "EMER":
		return "emergency"
	}
	return "other"
}

// mrn is the patient's medical-record number: the identifier in the profile's MRN system,
// else the one typed MR (v2-0203).
func (j *job) mrn(p fhir.Patient) string {
	for _, id := range p.Identifier {
		if j.p.MRNSystem != "" && str(id.System) == j.p.MRNSystem {
			return str(id.Value)
		}
	}
	for _, id := range p.Identifier {
		if hasCode(id.Type, "MR") {
			return str(id.Value)
		}
	}
	return ""
}

// attending is the participant of type ATND (attender).
func attending(ps []fhir.EncounterParticipant) *Ref {
	for _, p := range ps {
		for i := range p.Type {
			if hasCode(&p.Type[i], "ATND") {
				return refOf(p.Individual)
			}
		}
	}
	return nil
}

// placements reads the Encounter.location history as the placements of the stay, oldest
// first: the entries that begin at the same time (a ward and its bed) are one placement, and
// a placement like the one before it (back in the bed kept during a leave) is no move. Planned
// and reserved entries are not where the patient is; an entry without a period belongs to the
// stay's start. The department of the current (last) placement is Encounter.serviceType in the
// profile's system; any placement's is else the location of the profile's department physical
// type. There is always one placement.
func (j *job) placements(e fhir.Encounter, start *time.Time) []Placement {
	var out []Placement
	index := map[time.Time]int{}
	for _, l := range e.Location {
		if l.Status != nil && (l.Status.Code() == "planned" || l.Status.Code() == "reserved") {
			continue
		}
		t := j.periodStart(l.Period)
		if t == nil {
			t = start
		}
		var key time.Time
		if t != nil {
			key = *t
		}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Placement{Start: t})
		}
		p := &out[i]
		ref := refOf(&l.Location)
		switch {
		case j.p.Locations.Ward != "" && hasCode(l.PhysicalType, j.p.Locations.Ward):
			p.Ward = ref
		case j.p.Locations.Bed != "" && hasCode(l.PhysicalType, j.p.Locations.Bed):
			p.Bed = ref
		case p.Location == nil:
			p.Location = ref
		}
		if dt := j.p.Department.LocationPhysicalType; dt != "" && hasCode(l.PhysicalType, dt) && ref != nil {
			p.Department = &Code{Display: ref.Display}
			if ref.Identifier != nil {
				p.Department.System, p.Department.Code = ref.Identifier.System, ref.Identifier.Code
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Placement) int {
		switch {
		case a.Start == nil:
			return -1
		case b.Start == nil:
			return 1
		}
		return a.Start.Compare(*b.Start)
	})
	out = slices.CompactFunc(out, samePlace)
	if len(out) == 0 {
		out = append(out, Placement{Start: start})
	}
	if d := j.serviceDepartment(e.ServiceType); d != nil {
		out[len(out)-1].Department = d
	}
	return out
}

// samePlace reports whether a and b put the patient in the same place (b continues a).
func samePlace(a, b Placement) bool {
	eq := func(x, y *Ref) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	sameDept := a.Department == nil && b.Department == nil || a.Department != nil && b.Department != nil && *a.Department == *b.Department
	return sameDept && eq(a.Ward, b.Ward) && eq(a.Bed, b.Bed) && eq(a.Location, b.Location)
}

func (j *job) serviceDepartment(cc *fhir.CodeableConcept) *Code {
	sys := j.p.Department.ServiceTypeSystem
	if sys == "" {
		return nil
	}
	for _, c := range codings(cc) {
		if sys == "*" || c.System == sys {
			return &c
		}
	}
	return nil
}

// diagRoles names the diagnosis-role codes (http://terminology.hl7.org/CodeSystem/diagnosis-role).
var diagRoles = map[string]string{
	"AD": "admission", "DD": "discharge", "CM": "comorbidity", "CC": "chief-complaint",
	"pre-op": "pre-op", "post-op": "post-op", "billing": "billing",
}

// diagnoses states each Encounter.diagnosis entry with its role, reading the Condition for
// the code. A refuted or entered-in-error Condition withdraws its entry.
func (j *job) diagnoses(e fhir.Encounter, patient string, admitted time.Time, end *time.Time) error {
	// Principal per role (comorbidities excepted): rank 1, or the first entry when no entry of
	// the role is ranked.
	ranked := map[string]bool{}
	for _, d := range e.Diagnosis {
		if d.Rank != nil {
			ranked[useCode(d)] = true
		}
	}
	firstOf := map[string]bool{}
	for _, d := range e.Diagnosis {
		use := useCode(d)
		condRef, cond := j.condition(d.Condition)
		if condRef == "" {
			// Only a display or an identifier: there is no code to state. The rest of the
			// Encounter is still worth mapping.
			j.flag("diagnosis-not-followed")
			continue
		}
		data := DiagnosedData{Condition: condRef, Role: cmp.Or(diagRoles[use], use)}
		if d.Rank != nil {
			data.Rank = *d.Rank
		}
		switch {
		case use == "CM": // a comorbidity is never the principal diagnosis
		case ranked[use]:
			data.Principal = data.Rank == 1
		case !firstOf[use]:
			data.Principal = true
		}
		firstOf[use] = true
		key := j.ref + "#" + KindDiagnosed + "/" + cmp.Or(use, "-") + "/" + condRef
		var when *time.Time
		if use == "DD" {
			when = end
		}
		kind := KindDiagnosed
		if cond != nil {
			c, err := cond.Condition()
			if err != nil {
				return err
			}
			j.fillDiagnosis(&data, c, false)
			if when == nil {
				when = cmp.Or(data.Recorded, data.Onset)
			}
			if v := data.VerificationStatus; v == "refuted" || v == "entered-in-error" {
				kind = KindCancelled
			}
		}
		if when == nil {
			when = &admitted
		}
		if kind == KindCancelled {
			j.event(KindCancelled, key, patient, j.ref, *when, CancelledData{Cancels: KindDiagnosed, Reason: data.VerificationStatus})
			continue
		}
		j.event(KindDiagnosed, key, patient, j.ref, *when, data)
	}
	return nil
}

func useCode(d fhir.EncounterDiagnosis) string {
	if c := firstCode(d.Use); c != nil {
		return c.Code
	}
	return ""
}

// condition follows an Encounter.diagnosis.condition: a stored Condition (needed) or one
// contained in the Encounter. ref is "" when it cannot be followed.
func (j *job) condition(r fhir.Reference) (ref string, cond *resource.Resource) {
	s := str(r.Reference)
	if len(s) > 1 && s[0] == '#' {
		for _, c := range j.r.Contained {
			if c != nil && c.Type == "Condition" && c.ID == s[1:] {
				return j.ref + s, c
			}
		}
		return "", nil
	}
	typ, id, ok := literal(s)
	if !ok || typ != "Condition" {
		return "", nil
	}
	if c := j.need(typ, id); c != nil {
		return typ + "/" + id, c
	}
	return typ + "/" + id, nil
}
