package synth

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Patient returns the next patient's story. Patients arrive as a Poisson process from
// Options.Start; each story's content depends on the seed and the patient's number, and its bed
// on the stories generated before it.
func (g *Generator) Patient() *Story {
	idx := g.n
	g.n++
	arrival := g.next
	gap := time.Duration(g.arrivals.ExpFloat64() * float64(24*time.Hour) / g.opt.AdmissionsPerDay)
	g.next = g.next.Add(gap).Truncate(time.Second)

	// Odd stream numbers for patients, so no patient shares the arrival clock's stream.
	r := rand.New(rand.NewPCG(uint64(g.seed), uint64(idx)<<1|1))
	b := &builder{g: g, r: r, idx: idx}
	sc := g.scen[pick(r, g.weights, g.total)]

	b.male = r.Float64() < sc.maleP
	admit := arrival
	if !sc.urgent {
		admit = b.workingHours(arrival)
	}
	age := between(r, sc.age)
	b.birth = time.Date(admit.In(g.opt.Zone).Year()-age, time.January, 1, 0, 0, 0, 0, g.opt.Zone).AddDate(0, 0, -r.IntN(365))
	b.mrn = fmt.Sprintf("%04d%08d", g.mrnTag, idx+1)
	b.name = chineseName(r, b.male)
	b.patientID = b.id()
	b.patientRef = ref("Patient", b.patientID, b.name[0]+b.name[1], nil)
	b.emitPatient(admit, time.Time{})

	st := &Story{PatientID: b.patientID, MRN: b.mrn, Scenario: sc.key, Admitted: admit, arrival: arrival}
	out := b.stay(sc, admit, 1)
	st.Discharged = out.discharge
	// A few surgical patients come back within 31 days: the follow-up and readmission
	// indicators need some. The second stay is in the same department.
	if !out.died && out.operated && sc.opDay != [2]int{0, 0} && r.Float64() < 0.05 {
		re := readmission
		re.dept = sc.dept
		if sc.key == HipFracture {
			re.dx = re.dx[:1] // a wound infection, not a bowel obstruction
		}
		back := b.workingHours(out.discharge.Add(time.Duration(2+r.IntN(27)) * 24 * time.Hour))
		st.Discharged = b.stay(re, back, 2).discharge
	}
	// Sources send in clinical-time order; equal times keep the order they were made in,
	// which puts every referenced resource before the one referring to it.
	slices.SortStableFunc(b.events, func(x, y Resource) int { return x.Time.Compare(y.Time) })
	st.Events = b.events
	return st
}

// builder holds one story while it is made.
type builder struct {
	g          *Generator
	r          *rand.Rand
	idx        int
	k          int // ids made so far
	events     []Resource
	male       bool
	birth      time.Time
	mrn        string
	name       [2]string
	patientID  string
	patientRef obj
	orders     int
	buf        []byte
	docR       *rand.Rand // documents draw on their own stream (documents.go)
	docs       int        // document ids made so far
}

// id is the next id of this story: a UUID named by seed, patient number and counter.
func (b *builder) id() string {
	b.k++
	return nameUUID(fmt.Sprintf("%d/%d/%d", b.g.seed, b.idx, b.k))
}

func (b *builder) emit(typ, id string, src Source, t time.Time, body obj) {
	// Encode into a reused buffer and keep an exact-size copy: stories wait in Stream's heap
	// for weeks of simulated time, so slack capacity would add up.
	b.buf = appendJSON(b.buf[:0], body)
	b.events = append(b.events, Resource{Type: typ, ID: id, Source: src, Time: t, JSON: bytes.Clone(b.buf)})
}

func (b *builder) emitPatient(t, died time.Time) {
	g := b.g
	ids := []obj{o(
		"use", "usual",
		"type", cc("住院号", coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number")),
		"system", g.opt.MRNSystem, "value", b.mrn,
	)}
	if g.opt.NationalIDSystem != "" {
		ids = append(ids, o(
			"use", "official",
			"type", cc("居民身份证号", coding("http://terminology.hl7.org/CodeSystem/v2-0203", "NI", "National unique individual identifier")),
			"system", g.opt.NationalIDSystem, "value", nationalID(b.birth, b.idx, b.male),
		))
	}
	var deceased any
	if !died.IsZero() {
		deceased = g.dateTime(died)
	}
	b.emit("Patient", b.patientID, HIS, t, o(
		"resourceType", "Patient", "id", b.patientID, "meta", g.meta(t),
		"identifier", ids,
		"active", true,
		"name", []obj{humanName(b.name)},
		"gender", gender(b.male),
		"birthDate", g.date(b.birth),
		"deceasedDateTime", deceased,
		"managingOrganization", g.facility.org,
	))
}

// nationalID is an 18-digit resident ID with a valid check digit under the non-existent region
// 999999: well-formed for masking tests, and nobody's.
func nationalID(birth time.Time, idx int, male bool) string {
	seq := (idx*2)%998 + 1 // odd for men, even for women, as on real cards
	if !male {
		seq++
	}
	s := fmt.Sprintf("999999%s%03d", birth.Format("20060102"), seq%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return s + string("10X98765432"[sum%11])
}

type stayOutcome struct {
	discharge time.Time
	died      bool
	operated  bool
}

// plannedLab is one lab order of a stay, planned before any value is drawn so that the share
// of critical results can be set from the whole stay.
type plannedLab struct {
	at          time.Time
	panel       panel
	urgent      bool
	onAdmission bool // drawn on admission, before any treatment
}

// stay emits one inpatient stay: admission, diagnoses, orders, results, operation, discharge.
func (b *builder) stay(sc scenario, admit time.Time, n int) stayOutcome {
	g, r := b.g, b.r
	dept := g.facility.depts[sc.dept]
	attending := dept.doctors[1+r.IntN(2)]
	surgeon := dept.doctors[r.IntN(2)]
	encID := b.id()
	encRef := ref("Encounter", encID, "", nil)
	visit := fmt.Sprintf("%s-%d", b.mrn, n)

	// Length of stay: mostly within the standard, some beyond it (a pathway variance).
	days := between(r, sc.stay)
	if sc.overstay[1] > 0 && r.Float64() < 0.08 {
		days = between(r, sc.overstay)
	}
	discharge := b.localTime(admit, days, 9*60, 11*60+30)

	// The operation, if any, and what may follow it.
	var op *operation
	var opStart, opEnd time.Time
	if len(sc.ops) > 0 && r.Float64() < sc.opShare {
		x := sc.ops[r.IntN(len(sc.ops))]
		op = &x
		switch {
		case x == thrombolysis:
			opStart = admit.Add(minutes(r, 20, 70))
			opEnd = opStart.Add(minutes(r, 30, 60))
		case sc.opDay == [2]int{0, 0}: // primary PCI: door to balloon
			opStart = admit.Add(minutes(r, 35, 110))
			opEnd = opStart.Add(minutes(r, 40, 90))
		default:
			d := between(r, sc.opDay)
			if d == 0 {
				opStart = admit.Add(minutes(r, 120, 360))
			} else {
				opStart = b.localTime(admit, d, 8*60+30, 14*60)
			}
			opEnd = opStart.Add(minutes(r, 50, 240))
		}
	} else if sc.key == STEMI && r.Float64() < 0.5 {
		op = &thrombolysis // no PCI: about half get thrombolysis, the rest conservative care
		opStart = admit.Add(minutes(r, 20, 60))
		opEnd = opStart.Add(minutes(r, 30, 60))
	}
	surgical := op != nil && op.grade > 0
	var reop *operation
	var reopStart, complicationAt time.Time
	var complication *code
	if surgical {
		if r.Float64() < 0.03 {
			c := complications[r.IntN(len(complications))]
			complication = &c
			complicationAt = opEnd.Add(minutes(r, 2*24*60, 5*24*60))
		}
		if r.Float64() < 0.02 { // unplanned return to theatre
			x := exploratoryLaparotomy
			if sc.key == STEMI {
				x = pci
			}
			if sc.key != HipFracture {
				reop = &x
				reopStart = opEnd.Add(minutes(r, 18*60, 4*24*60))
			}
		}
	}
	// Discharge comes at least a day after the last thing that happened.
	last := opEnd
	if !reopStart.IsZero() {
		last = reopStart.Add(3 * time.Hour)
	}
	if complicationAt.After(last) {
		last = complicationAt
	}
	if surgical {
		last = last.Add(24 * time.Hour) // and at least two days after an operation
	}
	if !last.IsZero() && discharge.Before(last.Add(24*time.Hour)) {
		discharge = b.localTime(last, 1, 9*60, 11*60+30)
	}
	died := false
	disposition := coding("http://terminology.hl7.org/CodeSystem/discharge-disposition", "home", "Home")
	switch p := r.Float64(); {
	case (sc.key == STEMI || sc.key == Stroke) && p < 0.02, p < 0.003:
		died = true
		discharge = discharge.Add(-minutes(r, 0, 12*60)) // whenever it happens
		disposition = coding("http://terminology.hl7.org/CodeSystem/discharge-disposition", "exp", "Expired")
	case p < 0.05:
		disposition = coding("http://terminology.hl7.org/CodeSystem/discharge-disposition", "aadvice", "Left against advice")
	case p < 0.08:
		disposition = coding("http://terminology.hl7.org/CodeSystem/discharge-disposition", "other-hcf", "Other healthcare facility")
	}
	bed := dept.beds[g.allocBed(sc.dept, admit, discharge, r)]

	// 1. Admission (HIS ADT): in progress, no diagnosis coded yet.
	admitSource := coding("http://terminology.hl7.org/CodeSystem/admit-source", "outp", "From outpatient department")
	priority := coding("http://terminology.hl7.org/CodeSystem/v3-ActPriority", "R", "routine")
	if sc.urgent {
		admitSource = coding("http://terminology.hl7.org/CodeSystem/admit-source", "emd", "From accident/emergency department")
		priority = coding("http://terminology.hl7.org/CodeSystem/v3-ActPriority", "EM", "emergency")
	}
	encounter := func(t time.Time, status string, diagnosis []obj, end time.Time) {
		period := o("start", g.dateTime(admit))
		locStatus := "active"
		hosp := o("admitSource", cc("", admitSource))
		if !end.IsZero() {
			period = o("start", g.dateTime(admit), "end", g.dateTime(end))
			locStatus = "completed"
			hosp = append(hosp, field{"dischargeDisposition", cc("", disposition)})
		}
		b.emit("Encounter", encID, HIS, t, o(
			"resourceType", "Encounter", "id", encID, "meta", g.meta(t),
			"identifier", []obj{o("use", "official", "system", VisitNumberSystem, "value", visit)},
			"status", status,
			"class", coding(ActCodeSystem, "IMP", "inpatient encounter"),
			"priority", cc("", priority),
			"serviceType", dept.service,
			"subject", b.patientRef,
			"participant", []obj{o(
				"type", []obj{cc("", coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND", "attender"))},
				"individual", attending.ref,
			)},
			"period", period,
			"diagnosis", diagnosis,
			"hospitalization", hosp,
			"location", []obj{
				o("location", dept.ward, "status", locStatus,
					"physicalType", cc("", coding("http://terminology.hl7.org/CodeSystem/location-physical-type", "wa", "Ward")), "period", period),
				o("location", bed, "status", locStatus,
					"physicalType", cc("", coding("http://terminology.hl7.org/CodeSystem/location-physical-type", "bd", "Bed")), "period", period),
			},
			"serviceProvider", g.facility.org,
		))
	}
	encounter(admit, "in-progress", nil, time.Time{})

	// 2. Diagnoses (HIS, once the admitting doctor has written them), then the Encounter
	// updated to name the principal one.
	dxAt := admit.Add(minutes(r, 15, 60))
	principal := sc.dx[r.IntN(len(sc.dx))]
	var onset time.Time
	if sc.key == STEMI || sc.key == Stroke {
		// Symptom onset before arrival; ~15% arrive after the 12-hour reperfusion window.
		if r.Float64() < 0.15 {
			onset = admit.Add(-minutes(r, 12*60+30, 30*60))
		} else {
			onset = admit.Add(-minutes(r, 40, 11*60))
		}
	}
	principalID := b.condition(principal, encRef, dxAt, onset)
	admitted := []obj{diagnosis(principalID, "AD", "Admission diagnosis", 1)}
	discharged := []obj{diagnosis(principalID, "DD", "Discharge diagnosis", 1)}
	for i, c := range b.comorbidities(principal) {
		id := b.condition(c, encRef, dxAt, time.Time{})
		admitted = append(admitted, diagnosis(id, "CM", "Comorbidity diagnosis", i+2))
		discharged = append(discharged, diagnosis(id, "CM", "Comorbidity diagnosis", i+2))
	}
	encounter(dxAt.Add(time.Minute), "in-progress", admitted, time.Time{})

	// 3. Lab orders (HIS) and results (LIS).
	var labs []plannedLab
	plan := func(days []labDay, anchor time.Time, postOp bool) {
		for _, d := range days {
			at := anchor.Add(minutes(r, 5, 40))
			if d.day > 0 {
				at = b.localTime(anchor, d.day, 6*60, 7*60+30) // the morning draw
			}
			for _, p := range d.panels {
				labs = append(labs, plannedLab{at.Add(minutes(r, 0, 3)), p, d.day == 0 && sc.urgent, d.day == 0 && !postOp})
			}
		}
	}
	plan(sc.admitLabs, admit, false)
	if op != nil && op.grade > 0 {
		plan(sc.postLabs, opEnd, true)
	}
	// No order whose result could come after discharge: a lab result takes at most ~3h10m
	// from order (40 min to collect, 150 min to release), an imaging report ~6h.
	labs = slices.DeleteFunc(labs, func(l plannedLab) bool { return l.at.After(discharge.Add(-4 * time.Hour)) })
	b.results(sc, labs, encRef, attending.ref, visit)

	// 4. Imaging orders (HIS) and reports (PACS).
	for _, e := range sc.exams {
		at := admit.Add(minutes(r, 20, 180))
		if e.day > 0 {
			at = b.localTime(admit, e.day, 9*60, 16*60)
		}
		if at.After(discharge.Add(-7 * time.Hour)) {
			continue
		}
		b.imaging(sc, e.exam, at, sc.urgent && e.day == 0, encRef, attending.ref, visit)
	}

	// 5. Operations (HIS surgery/anaesthesia system, after the operation), complications.
	if op != nil {
		b.procedure(*op, opStart, opEnd, encRef, surgeon.ref, principalID)
	}
	if reop != nil {
		end := reopStart.Add(minutes(r, 60, 150))
		b.procedure(*reop, reopStart, end, encRef, dept.doctors[0].ref, principalID)
	}
	if complication != nil {
		id := b.condition(*complication, encRef, complicationAt, complicationAt.Add(-minutes(r, 60, 600)))
		discharged = append(discharged, diagnosis(id, "DD", "Discharge diagnosis", len(discharged)+1))
	}

	// 6. Discharge (HIS ADT): finished, with the discharge diagnoses and disposition.
	encounter(discharge, "finished", discharged, discharge)
	if died {
		b.emitPatient(discharge.Add(time.Minute), discharge)
	}
	// 7. Clinical documents (HIS EMR): rounds, handover, MDT.
	b.stayDocuments(sc, dept, encRef, attending, surgeon, admit, discharge, op, opStart, opEnd)
	return stayOutcome{discharge: discharge, died: died, operated: surgical}
}

func diagnosis(conditionID, use, display string, rank int) obj {
	return o(
		"condition", ref("Condition", conditionID, "", nil),
		"use", cc("", coding("http://terminology.hl7.org/CodeSystem/diagnosis-role", use, display)),
		"rank", rank,
	)
}

// comorbidities draws zero to two secondary diagnoses, never the principal one again.
func (b *builder) comorbidities(principal code) []code {
	var out []code
	for _, c := range comorbidities {
		if c.code != principal.code && b.r.Float64() < 0.18 {
			out = append(out, c)
		}
		if len(out) == 2 {
			break
		}
	}
	return out
}

func (b *builder) condition(c code, enc obj, at, onset time.Time) string {
	g := b.g
	id := b.id()
	var onsetDT any
	if !onset.IsZero() {
		onsetDT = g.dateTime(onset)
	}
	b.emit("Condition", id, HIS, at, o(
		"resourceType", "Condition", "id", id, "meta", g.meta(at),
		"clinicalStatus", cc("", coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active")),
		"verificationStatus", cc("", coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed")),
		"category", []obj{cc("", coding("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis"))},
		"code", cc(c.display, coding(ICD10System, c.code, c.display)),
		"subject", b.patientRef,
		"encounter", enc,
		"onsetDateTime", onsetDT,
		"recordedDate", g.dateTime(at),
	))
	return id
}

func (b *builder) procedure(op operation, start, end time.Time, enc, surgeon obj, reason string) {
	g := b.g
	id := b.id()
	at := end.Add(minutes(b.r, 10, 45))
	var ext []obj
	category := coding(SNOMEDSystem, "277132007", "Therapeutic procedure")
	if op.grade > 0 {
		ext = []obj{o("url", SurgeryGradeURL, "valueInteger", op.grade)}
		category = coding(SNOMEDSystem, "387713003", "Surgical procedure")
	}
	b.emit("Procedure", id, HIS, at, o(
		"resourceType", "Procedure", "id", id, "meta", g.meta(at),
		"extension", ext,
		"status", "completed",
		"category", cc("", category),
		"code", cc(op.display, coding(ICD9CMSystem, op.code, op.display)),
		"subject", b.patientRef,
		"encounter", enc,
		"performedPeriod", o("start", g.dateTime(start), "end", g.dateTime(end)),
		"performer", []obj{o("function", cc("主刀医师"), "actor", surgeon)},
		"reasonReference", []obj{ref("Condition", reason, "", nil)},
	))
}

// serviceRequest emits an order and returns its id.
func (b *builder) serviceRequest(at time.Time, category obj, codeCC obj, urgent bool, enc, requester obj, visit string) string {
	g := b.g
	id := b.id()
	b.orders++
	prio := "routine"
	if urgent {
		prio = "stat"
	}
	b.emit("ServiceRequest", id, HIS, at, o(
		"resourceType", "ServiceRequest", "id", id, "meta", g.meta(at),
		"identifier", []obj{o("use", "official", "system", OrderNumberSystem, "value", fmt.Sprintf("%s-%03d", visit, b.orders))},
		"status", "active",
		"intent", "order",
		"category", []obj{category},
		"priority", prio,
		"code", codeCC,
		"subject", b.patientRef,
		"encounter", enc,
		"authoredOn", g.dateTime(at),
		"requester", requester,
	))
	return id
}

// allocBed gives the patient a free bed of the department's ward, or, when the ward is full,
// the one that frees up first (an extra bed, 加床, in real life).
func (g *Generator) allocBed(dept int, from, to time.Time, r *rand.Rand) int {
	beds := g.bedFree[dept]
	start := r.IntN(len(beds))
	best := start
	for i := range beds {
		j := (start + i) % len(beds)
		if !beds[j].After(from) {
			best = j
			break
		}
		if beds[j].Before(beds[best]) {
			best = j
		}
	}
	beds[best] = to
	return best
}

// workingHours moves an elective admission to office hours: the next 08:00–11:30 if t is
// outside 08:00–16:00.
func (b *builder) workingHours(t time.Time) time.Time {
	lt := t.In(b.g.opt.Zone)
	if h := lt.Hour(); h >= 8 && h < 16 {
		return t
	}
	day := 0
	if lt.Hour() >= 16 {
		day = 1
	}
	return b.localTime(t, day, 8*60, 11*60+30)
}

// localTime is a random time between fromMin and toMin minutes after local midnight, days
// after t's local date.
func (b *builder) localTime(t time.Time, days, fromMin, toMin int) time.Time {
	lt := t.In(b.g.opt.Zone)
	sec := fromMin*60 + b.r.IntN((toMin-fromMin)*60+1)
	return time.Date(lt.Year(), lt.Month(), lt.Day()+days, 0, 0, sec, 0, b.g.opt.Zone)
}

// minutes is a random duration between a and b minutes, in whole seconds.
func minutes(r *rand.Rand, a, b int) time.Duration {
	return time.Duration(a*60+r.IntN((b-a)*60+1)) * time.Second
}

func between(r *rand.Rand, rng [2]int) int { return rng[0] + r.IntN(rng[1]-rng[0]+1) }

func pick(r *rand.Rand, weights []int, total int) int {
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}
