package hl7v2

import (
	"net/url"
	"strings"
)

// mrn picks the medical-record number from PID-3: the repetition typed MR, else the first.
// Its system is Options.MRNSystem, else the assigning authority's.
func (b *builder) mrn(pid Segment, seq int) (system, value string, err error) {
	reps := pid.Field(3).Reps()
	var pick Field
	found := false
	for _, r := range reps {
		if strings.EqualFold(strings.TrimSpace(r.C(5)), "MR") && strings.TrimSpace(r.C(1)) != "" {
			pick, found = r, true
			break
		}
	}
	if !found {
		for _, r := range reps {
			if strings.TrimSpace(r.C(1)) != "" {
				pick, found = r, true
				break
			}
		}
	}
	if !found {
		// v2.3 senders sometimes keep the id in PID-2 (external id) only.
		if v := strings.TrimSpace(pid.Field(2).C(1)); v != "" {
			pick, found = pid.Field(2), true
		}
	}
	if !found {
		return "", "", &Error{Code: CodeRequiredMissing, Segment: "PID", Seq: seq, Field: 3, Msg: "a patient identifier is required"}
	}
	value = strings.TrimSpace(pick.C(1))
	system = b.o.MRNSystem
	if system == "" {
		system = b.authority(pick.Component(4))
	}
	return system, value, nil
}

// authority is the identifier system of a CX assigning authority (HD): urn:oid: for an ISO
// OID, else a URI naming the namespace, else one naming the sender.
func (b *builder) authority(hd Field) string {
	ns, uid, typ := strings.TrimSpace(hd.C(1)), strings.TrimSpace(hd.C(2)), strings.TrimSpace(hd.C(3))
	switch {
	case uid != "" && strings.EqualFold(typ, "ISO") && oidLike(uid):
		return "urn:oid:" + uid
	case ns != "":
		return "urn:lujing:hl7v2:assigning-authority:" + url.PathEscape(ns)
	}
	return "urn:lujing:hl7v2:sender:" + url.PathEscape(b.o.Sender) + ":patient-id"
}

func oidLike(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			return false
		}
	}
	return true
}

var genders = map[string]string{"M": "male", "F": "female", "O": "other", "A": "other", "U": "unknown", "N": "unknown"}

// patient adds the Patient of a PID segment. An ADT (the patient master) updates the stored
// Patient with the MRN; other messages create it only when it is not stored, so that a lab's
// copy of the demographics never overwrites the HIS's.
func (b *builder) addPatient(pid Segment, seq int, update bool) error {
	system, value, err := b.mrn(pid, seq)
	if err != nil {
		return err
	}
	ids := []any{obj{
		"use":    "usual",
		"type":   obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR", "display": "Medical record number"}}},
		"system": system, "value": value,
	}}
	for _, r := range pid.Field(3).Reps() {
		v := strings.TrimSpace(r.C(1))
		typ := strings.ToUpper(codeValue(r.C(5)))
		if v == "" || v == value || typ == "MR" {
			continue
		}
		id := obj{"system": b.authority(r.Component(4)), "value": v}
		if typ != "" {
			id["type"] = obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": typ}}}
		}
		ids = append(ids, id)
	}
	p := obj{"identifier": ids}
	var names []any
	for _, r := range pid.Field(5).Reps() {
		family := strings.TrimSpace(r.Component(1).C(1))
		n := obj{}
		set(n, "family", family)
		var given []any
		for _, g := range []string{r.C(2), r.C(3)} {
			if g = strings.TrimSpace(g); g != "" {
				given = append(given, g)
			}
		}
		set(n, "given", given)
		if len(n) > 0 {
			set(n, "text", personName(family, strings.TrimSpace(r.C(2))))
			names = append(names, n)
		}
	}
	set(p, "name", names)
	set(p, "gender", genders[strings.ToUpper(strings.TrimSpace(pid.Field(8).String()))])
	if t, ok := ParseTime(pid.Field(7).String(), b.o.Zone); ok {
		p["birthDate"] = t.Date()
	}
	if dt := b.dateTime(pid.Field(29)); dt != "" {
		p["deceasedDateTime"] = dt
	} else if strings.EqualFold(strings.TrimSpace(pid.Field(30).String()), "Y") {
		p["deceasedBoolean"] = true
	}
	b.patient = b.conditional("Patient", nameUUID("Patient\x00"+system+"\x00"+value), system, value, update, p)
	b.encounter = nil
	return nil
}

// visitReference is the Encounter of a PV1 for a message that does not state the Encounter
// (a result, an order, a document): a conditional reference by the visit number, which the
// intake resolves when the HIS has sent the visit, and keeps as written when not.
func (b *builder) visitReference(pv1 Segment) {
	visit := strings.TrimSpace(pv1.Field(19).C(1))
	if visit == "" {
		b.encounter = nil
		return
	}
	b.encounter = obj{"reference": "Encounter?identifier=" + url.QueryEscape(b.o.VisitSystem+"|"+visit)}
}

// subject is the reference to the current Patient.
func (b *builder) subject() obj { return obj{"reference": b.patient} }
