package hl7v2

import (
	"strings"
)

// adtEvents are the ADT trigger events mapped, with the Encounter status each states ("" for
// events about the person only).
var adtEvents = map[string]string{
	"A01": "in-progress", // admit
	"A02": "in-progress", // transfer
	"A03": "finished",    // discharge
	"A04": "in-progress", // register an outpatient or emergency visit
	"A05": "planned",     // pre-admit
	"A06": "in-progress", // outpatient becomes inpatient
	"A07": "in-progress", // inpatient becomes outpatient
	"A08": "",            // update: the status follows PV1-45 (discharged or not)
	"A11": "cancelled",   // cancel admit
	"A13": "in-progress", // cancel discharge
	"A28": "-",           // add person
	"A31": "-",           // update person
}

// classes maps PV1-2 patient class (table 0004) to the v3 ActCode Encounter.class.
var classes = map[string][2]string{
	"I": {"IMP", "inpatient encounter"},
	"O": {"AMB", "ambulatory"},
	"E": {"EMER", "emergency"},
	"P": {"PRENC", "pre-admission"},
	"R": {"AMB", "ambulatory"},
	"B": {"IMP", "inpatient encounter"},
}

// adt maps an ADT message: the Patient, and the Encounter of PV1 as the event leaves it.
func (b *builder) adt(event string) error {
	status, ok := adtEvents[event]
	if !ok {
		return b.unsupportedEvent()
	}
	var pid, pv1 Segment
	var pidSeq, pv1Seq int
	for i, s := range b.m.Segments {
		switch {
		case s.Name == "PID" && pidSeq == 0:
			pid, pidSeq = s, i+1
		case s.Name == "PV1" && pv1Seq == 0:
			pv1, pv1Seq = s, i+1
		}
	}
	if pidSeq == 0 {
		return &Error{Code: CodeRequiredMissing, Segment: "PID", Msg: "an ADT message needs a PID segment"}
	}
	if err := b.addPatient(pid, pidSeq, true); err != nil {
		return err
	}
	if status == "-" {
		return nil
	}
	if pv1Seq == 0 {
		return &Error{Code: CodeRequiredMissing, Segment: "PV1", Msg: "an ADT " + event + " needs a PV1 segment"}
	}
	return b.visit(event, status, pv1, pv1Seq)
}

// visit adds the Encounter of a PV1 segment, found by its visit number (PV1-19).
func (b *builder) visit(event, status string, pv1 Segment, seq int) error {
	visit := strings.TrimSpace(pv1.Field(19).C(1))
	if visit == "" {
		// Without a visit number no later message can name this stay: the Patient is mapped,
		// the visit is not.
		b.warn(&Error{Code: CodeRequiredMissing, Segment: "PV1", Seq: seq, Field: 19, Msg: "no visit number: the visit is not mapped"})
		return nil
	}
	evn, _ := b.m.Segment("EVN")
	msh := b.m.MSH()
	admit := b.dateTime(pv1.Field(44))
	discharge := b.dateTime(pv1.Field(45))
	// When the event happened: EVN-6 (occurred), else EVN-2 (recorded), else the message time.
	eventTime := ""
	if t, ok := b.firstTime(evn.Field(6), evn.Field(2), msh.Field(7)); ok {
		eventTime = t.DateTime()
	}
	switch event {
	case "A01", "A04", "A05", "A06", "A07":
		if admit == "" {
			admit = eventTime
		}
	case "A03":
		if discharge == "" {
			discharge = eventTime
		}
	case "A13":
		discharge = ""
	}
	if status == "" { // A08
		status = "in-progress"
		if discharge != "" {
			status = "finished"
		}
	}
	if status != "finished" && status != "cancelled" {
		discharge = ""
	}
	classCode := strings.ToUpper(strings.TrimSpace(pv1.Field(2).String()))
	class, ok := classes[classCode]
	if !ok {
		class = classes["I"]
		if event == "A04" {
			class = classes["O"]
		}
	}
	e := obj{
		"identifier": []any{obj{"use": "official", "system": b.o.VisitSystem, "value": visit}},
		"status":     status,
		"class":      obj{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class[0], "display": class[1]},
		"subject":    b.subject(),
	}
	if dept := codeValue(pv1.Field(10).C(1)); dept != "" {
		c := obj{"system": b.o.DepartmentSystem, "code": dept}
		st := obj{"coding": []any{c}}
		if name := strings.TrimSpace(pv1.Field(10).C(2)); name != "" {
			c["display"] = name
			st["text"] = name
		}
		e["serviceType"] = st
	}
	period := obj{}
	set(period, "start", admit)
	set(period, "end", discharge)
	set(e, "period", period)
	if att := b.person(pv1.Field(7)); att != nil {
		e["participant"] = []any{obj{
			"type":       []any{obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND", "display": "attender"}}}},
			"individual": att,
		}}
	}
	hosp := obj{}
	set(hosp, "admitSource", b.tableConcept(pv1.Field(14), "0023"))
	if discharge != "" {
		set(hosp, "dischargeDisposition", b.disposition(pv1.Field(36)))
	}
	set(e, "hospitalization", hosp)
	if pr := b.priority(pv1.Field(4)); pr != nil {
		e["priority"] = pr
	}

	// Where the patient is: PV1-3 now; for a transfer, PV1-6 before it, until the event.
	locStatus := "active"
	if status == "finished" || status == "cancelled" {
		locStatus = "completed"
	}
	var locations []any
	if event == "A02" {
		prior := obj{}
		set(prior, "start", admit)
		set(prior, "end", eventTime)
		locations = append(locations, b.place(pv1.Field(6), "completed", prior)...)
		locations = append(locations, b.place(pv1.Field(3), locStatus, obj{"start": eventTime})...)
	} else {
		locations = append(locations, b.place(pv1.Field(3), locStatus, period)...)
	}
	set(e, "location", locations)
	b.put("Encounter", nameUUID("Encounter\x00"+b.o.VisitSystem+"\x00"+visit), e)
	// The Encounter is PUT under an id made from the visit number alone: an ADT for the same
	// visit from any sender updates the same Encounter, and results refer to it by that number.
	return nil
}

// priority reads PV1-4 admission type (table 0007): E emergency, U urgent, else routine.
func (b *builder) priority(f Field) obj {
	code := ""
	switch strings.ToUpper(strings.TrimSpace(f.String())) {
	case "E", "A":
		code = "EM"
	case "U":
		code = "UR"
	case "R", "C", "L":
		code = "R"
	default:
		return nil
	}
	display := map[string]string{"EM": "emergency", "UR": "urgent", "R": "routine"}[code]
	return obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/v3-ActPriority", "code": code, "display": display}}}
}

// dispositions maps PV1-36 (table 0112) to the FHIR discharge-disposition codes the profiles
// read (exp is a death).
var dispositions = map[string][2]string{
	"01": {"home", "Home"}, "02": {"other-hcf", "Other healthcare facility"}, "03": {"snf", "Skilled nursing facility"},
	"06": {"home", "Home"}, "07": {"aadvice", "Left against advice"}, "20": {"exp", "Expired"},
	"40": {"exp", "Expired"}, "41": {"exp", "Expired"}, "42": {"exp", "Expired"},
}

// disposition reads PV1-36: the FHIR code first (mapping reads the first coding), then the
// code as sent.
func (b *builder) disposition(f Field) obj {
	cc := b.tableConcept(f, "0112")
	if cc == nil {
		return nil
	}
	if d, ok := dispositions[strings.TrimSpace(f.C(1))]; ok {
		codings, _ := cc["coding"].([]any)
		cc["coding"] = append([]any{obj{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": d[0], "display": d[1]}}, codings...)
	}
	return cc
}

// place reads a PL (PV1-3, PV1-6) as Encounter.location entries: the ward (point of care,
// PL-1) and the bed (PL-3) in it, both from the same time.
func (b *builder) place(f Field, status string, period obj) []any {
	ward := strings.TrimSpace(f.C(1))
	room := strings.TrimSpace(f.C(2))
	bed := strings.TrimSpace(f.C(3))
	var out []any
	entry := func(value, display, code, name string) obj {
		e := obj{
			"location":     obj{"identifier": obj{"system": b.o.LocationSystem, "value": value}, "display": display},
			"status":       status,
			"physicalType": obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": code, "display": name}}},
		}
		p := obj{}
		for k, v := range period {
			set(p, k, v)
		}
		set(e, "period", p)
		return e
	}
	if ward != "" {
		display := ward
		if desc := strings.TrimSpace(f.C(9)); desc != "" {
			display = desc
		}
		out = append(out, entry(ward, display, "wa", "Ward"))
	}
	if bed != "" {
		value := bed
		if room != "" {
			value = room + "-" + value
		}
		if ward != "" {
			value = ward + "-" + value
		}
		out = append(out, entry(value, bed, "bd", "Bed"))
	}
	return out
}
