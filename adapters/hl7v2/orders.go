package hl7v2

import (
	"strconv"
	"strings"
)

// orders maps ORM^O01 and OML^O21: per PID its Patient; per ORC (with the OBR that follows
// it, or an OBR alone) a ServiceRequest.
func (b *builder) orders() error {
	var orc Segment
	orcSeq := 0
	n := 0
	for i, s := range b.m.Segments {
		seq := i + 1
		switch s.Name {
		case "PID":
			if err := b.addPatient(s, seq, false); err != nil {
				return err
			}
		case "PV1":
			b.visitReference(s)
		case "ORC":
			// An ORC with no OBR after it orders something else (a diet, a drug): not mapped.
			orc, orcSeq = s, seq
		case "OBR":
			if b.patient == "" {
				return &Error{Code: CodeSegmentSequence, Segment: "OBR", Seq: seq, Msg: "an order before any PID segment"}
			}
			n++
			if err := b.serviceRequest(orc, orcSeq, s, seq); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		return &Error{Code: CodeUnsupportedType, Segment: "OBR", Msg: "no OBR: only orders of tests and exams are mapped"}
	}
	return nil
}

// orderStatuses maps ORC-1 order control (table 0119) to ServiceRequest.status; "SC" (status
// changed) and unknown codes defer to ORC-5.
var orderStatuses = map[string]string{
	"NW": "active", "OK": "active", "RL": "active", "XO": "active", "XR": "active", "RE": "active", "SN": "active",
	"CA": "revoked", "OC": "revoked", "CR": "revoked", "DC": "revoked", "OD": "revoked", "DR": "revoked",
	"HD": "on-hold", "OH": "on-hold",
}

// orderStates maps ORC-5 order status (table 0038).
var orderStates = map[string]string{
	"A": "active", "IP": "active", "SC": "active", "CM": "completed", "CA": "revoked", "DC": "revoked",
	"ER": "entered-in-error", "HD": "on-hold", "RP": "revoked",
}

// priorities maps a TQ/TQ1 priority (table 0485) to ServiceRequest.priority.
var priorities = map[string]string{"S": "stat", "A": "asap", "R": "routine", "P": "routine", "T": "urgent", "C": "routine"}

// serviceRequest adds the ServiceRequest of an ORC and its OBR (either may be empty).
func (b *builder) serviceRequest(orc Segment, orcSeq int, obr Segment, obrSeq int) error {
	if b.patient == "" {
		return &Error{Code: CodeSegmentSequence, Segment: "ORC", Seq: orcSeq, Msg: "an order before any PID segment"}
	}
	var code obj
	if obr.Name != "" {
		code = b.concept(obr.Field(4), "")
	}
	if code == nil {
		seq, seg := obrSeq, "OBR"
		if obr.Name == "" {
			seq, seg = orcSeq, "ORC"
		}
		return &Error{Code: CodeRequiredMissing, Segment: seg, Seq: seq, Field: 4, Msg: "what is ordered (OBR-4) is required"}
	}
	control := strings.ToUpper(strings.TrimSpace(orc.Field(1).String()))
	status := orderStatuses[control]
	if status == "" {
		status = orderStates[strings.ToUpper(strings.TrimSpace(orc.Field(5).String()))]
	}
	if status == "" {
		status = "active"
	}
	sr := obj{
		"status":  status,
		"intent":  "order",
		"code":    code,
		"subject": b.subject(),
	}
	placer, filler := orc.Field(2), orc.Field(3)
	if strings.TrimSpace(placer.C(1)) == "" {
		placer = obr.Field(2)
	}
	if strings.TrimSpace(filler.C(1)) == "" {
		filler = obr.Field(3)
	}
	set(sr, "identifier", b.orderIdentifiers(placer, filler))
	if b.encounter != nil {
		sr["encounter"] = b.encounter
	}
	authored := b.dateTime(orc.Field(9))
	if authored == "" {
		authored = b.dateTime(obr.Field(6))
	}
	set(sr, "authoredOn", authored)
	requester := b.person(orc.Field(12))
	if requester == nil {
		requester = b.person(obr.Field(16))
	}
	if requester != nil {
		sr["requester"] = requester
	}
	// Priority: TQ1-9 of the order, else ORC-7's or OBR-27's TQ priority (component 6), else OBR-5.
	prio := ""
	for _, s := range b.m.Segments {
		if s.Name == "TQ1" {
			prio = strings.ToUpper(strings.TrimSpace(s.Field(9).C(1)))
			break
		}
	}
	for _, c := range []string{orc.Field(7).C(6), obr.Field(27).C(6), obr.Field(5).C(1)} {
		if prio == "" {
			prio = strings.ToUpper(strings.TrimSpace(c))
		}
	}
	set(sr, "priority", priorities[prio])
	var key string
	switch {
	case strings.TrimSpace(placer.C(1)) != "":
		key = "placer:" + strings.TrimSpace(placer.C(1))
	case strings.TrimSpace(filler.C(1)) != "":
		key = "filler:" + strings.TrimSpace(filler.C(1))
	default:
		key = "message:" + b.m.ControlID() + ":" + strconv.Itoa(max(orcSeq, obrSeq))
	}
	b.put("ServiceRequest", b.id("order", key), sr)
	return nil
}
