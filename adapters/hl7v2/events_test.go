package hl7v2_test

import (
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping"
)

// TestCriticalPotassium: an ORU^R01 whose OBX-8 is HH maps to a result event with
// interpretation HH, marked critical by the LIS profile, with its value, unit, range and
// release time (OBR-22), in the visit the HIS admitted the patient to.
func TestCriticalPotassium(t *testing.T) {
	st := newMemStore()
	events(t, st, "his", adt("A01", "ADT-1", pv1GI))
	evs := events(t, st, "lis", criticalPotassium("LIS-1"))
	var obs []mapping.Event
	for _, e := range evs {
		if e.Kind == mapping.KindResult && e.Resource[:len("Observation/")] == "Observation/" {
			obs = append(obs, e)
		}
	}
	if len(obs) != 1 {
		t.Fatalf("want one Observation result, got %s", kinds(evs))
	}
	var d mapping.ResultData
	if err := jsonUnmarshal(obs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Interpretation) != 1 || d.Interpretation[0].Code != "HH" || d.Interpretation[0].System != "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation" {
		t.Errorf("interpretation: %s", jsonOf(d.Interpretation))
	}
	if !d.Critical {
		t.Error("not critical")
	}
	if d.Code.System != "http://loinc.org" || d.Code.Code != "2823-3" {
		t.Errorf("code: %s", jsonOf(d.Code))
	}
	if d.Value == nil || d.Value.Number != "6.8" || d.Value.Unit != "mmol/L" || d.Value.UnitSystem != "http://unitsofmeasure.org" {
		t.Errorf("value: %s", jsonOf(d.Value))
	}
	if len(d.ReferenceRange) != 1 || d.ReferenceRange[0].Low != "3.5" || d.ReferenceRange[0].High != "5.5" {
		t.Errorf("range: %s", jsonOf(d.ReferenceRange))
	}
	if d.Status != "final" {
		t.Errorf("status %q", d.Status)
	}
	shanghai := time.FixedZone("", 8*3600)
	if want := time.Date(2026, 3, 1, 8, 25, 0, 0, shanghai); !obs[0].At.Equal(want) {
		t.Errorf("at %v, want the release time %v", obs[0].At, want)
	}
	if obs[0].Encounter == "" {
		t.Error("the result is not in the visit the HIS admitted to")
	}
	// The local coding (CWE-4…6) is kept beside LOINC, for rules written in local codes.
	if len(d.Code.Codings) != 2 || d.Code.Codings[1].Code != "K" {
		t.Errorf("codings: %s", jsonOf(d.Code.Codings))
	}
	var report mapping.ResultData
	for _, e := range evs {
		if e.Kind == mapping.KindResult && e.Resource[:len("DiagnosticReport/")] == "DiagnosticReport/" {
			_ = jsonUnmarshal(e.Data, &report)
		}
	}
	if len(report.Members) != 1 {
		t.Errorf("report members: %v (events %s)", report.Members, kinds(evs))
	}
}

// TestADTStay: A01 admits to the department and ward of PV1, A02 transfers, A03 discharges
// (death by PV1-36 20), A11 withdraws the admission.
func TestADTStay(t *testing.T) {
	st := newMemStore()
	evs := events(t, st, "his", adt("A01", "ADT-1", pv1GI))
	var adm mapping.AdmittedData
	ev := only(t, evs, mapping.KindAdmitted, &adm)
	if adm.Department == nil || adm.Department.Code != "GI-SURG" || adm.Department.Display != "胃肠外科" {
		t.Errorf("department: %s", jsonOf(adm.Department))
	}
	if adm.Ward == nil || adm.Ward.Identifier == nil || adm.Ward.Identifier.Code != "GI-WARD" {
		t.Errorf("ward: %s", jsonOf(adm.Ward))
	}
	if adm.Bed == nil || adm.Bed.Display != "12" {
		t.Errorf("bed: %s", jsonOf(adm.Bed))
	}
	if adm.CareSetting != "inpatient" || adm.MRN != "0001000123" || adm.Status != "in-progress" {
		t.Errorf("admitted: %s", jsonOf(adm))
	}
	if adm.Priority == nil || adm.Priority.Code != "EM" || adm.Attending == nil || adm.Attending.Display != "李四" {
		t.Errorf("priority/attending: %s", jsonOf(adm))
	}
	if want := time.Date(2026, 3, 1, 7, 0, 0, 0, time.FixedZone("", 8*3600)); !ev.At.Equal(want) {
		t.Errorf("admitted at %v", ev.At)
	}

	pv1ICU := seg("PV1", 1, "1", 2, "I", 3, "ICU^^3^HOSP", 6, "GI-WARD^^12^HOSP", 10, "ICU^重症医学科", 19, "V20260301001", 44, "20260301070000")
	evs = events(t, st, "his", adt("A02", "ADT-2", pv1ICU))
	var tr mapping.TransferredData
	only(t, evs, mapping.KindTransferred, &tr)
	if tr.From.Ward == nil || tr.From.Ward.Identifier.Code != "GI-WARD" || tr.To.Ward == nil || tr.To.Ward.Identifier.Code != "ICU" ||
		tr.To.Department == nil || tr.To.Department.Code != "ICU" {
		t.Errorf("transfer: %s", jsonOf(tr))
	}

	pv1Died := seg("PV1", 1, "1", 2, "I", 3, "ICU^^3^HOSP", 10, "ICU^重症医学科", 19, "V20260301001", 36, "20", 44, "20260301070000", 45, "20260305120000")
	evs = events(t, st, "his", adt("A03", "ADT-3", pv1Died))
	var dis mapping.DischargedData
	ev = only(t, evs, mapping.KindDischarged, &dis)
	if !dis.Died || ev.At.Day() != 5 {
		t.Errorf("discharge: %s at %v", jsonOf(dis), ev.At)
	}

	evs = events(t, st, "his", adt("A11", "ADT-4", pv1GI))
	for _, e := range evs {
		if e.Resource[:len("Encounter/")] == "Encounter/" && e.Kind != mapping.KindCancelled {
			t.Errorf("A11 states %s, want only cancelled", e.Kind)
		}
	}
	var c mapping.CancelledData
	only(t, filter(evs, func(e mapping.Event) bool { return e.Key[len(e.Resource):] == "#admitted" }), mapping.KindCancelled, &c)
	if c.Cancels != mapping.KindAdmitted || c.Reason != "cancelled" {
		t.Errorf("cancel: %s", jsonOf(c))
	}
}

func filter(evs []mapping.Event, keep func(mapping.Event) bool) []mapping.Event {
	var out []mapping.Event
	for _, e := range evs {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// TestOrderAndDocument: an ORM^O01 is an ordered event with its priority and order number; an
// MDM^T02 a documented event whose type is the TXA-2 code.
func TestOrderAndDocument(t *testing.T) {
	st := newMemStore()
	events(t, st, "his", adt("A01", "ADT-1", pv1GI))
	orm := message(
		msh("ORM^O01^ORM_O01", "ORM-1", 3, "HIS"),
		pidZhang, pv1GI,
		seg("ORC", 1, "NW", 2, "ORD-9", 9, "20260301081500", 12, "D001^李^四"),
		seg("TQ1", 1, "1", 9, "S"),
		seg("OBR", 1, "1", 2, "ORD-9", 4, "2823-3^Potassium^LN"),
	)
	var o mapping.OrderedData
	only(t, events(t, st, "his", orm), mapping.KindOrdered, &o)
	if o.Priority != "stat" || o.Status != "active" || o.Code.Code != "2823-3" || len(o.Identifier) != 1 || o.Identifier[0].Code != "ORD-9" {
		t.Errorf("order: %s", jsonOf(o))
	}
	mdm := message(
		msh("MDM^T02^MDM_T02", "MDM-1", 3, "EMR"),
		seg("EVN", 1, "T02", 2, "20260302100000"),
		pidZhang, pv1GI,
		seg("TXA", 1, "1", 2, "PN^Progress note^HL70270", 4, "20260302095500", 5, "D001^李^四", 12, "DOC-77", 17, "AU"),
		seg("OBX", 1, "1", 2, "TX", 3, "PN^Progress note", 5, "主治医师查房：患者一般情况可。", 11, "F"),
	)
	var d mapping.DocumentedData
	only(t, events(t, st, "his", mdm), mapping.KindDocumented, &d)
	if d.Type.Code != "PN" || d.DocStatus != "final" || d.Status != "current" || len(d.Authors) != 1 {
		t.Errorf("document: %s", jsonOf(d))
	}
}
