package quality

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping/fhirschema"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
	"github.com/lujing-health/lujing/pathways/followup"
)

var march = Period{From: cst("2026-03-01 00:00"), To: cst("2026-04-01 00:00")}

func lookup(t *testing.T, id string) Indicator {
	t.Helper()
	ind, ok := Lookup(nil, id)
	if !ok {
		t.Fatalf("no %s", id)
	}
	return ind
}

// TestCatalogue: every id the issue names is there once, with titles, a unit, a scoring and
// a source; every id a core writes is in it.
func TestCatalogue(t *testing.T) {
	ids := IDs()
	issue := []string{"pathway-enrollment", "pathway-completion", "pathway-withdrawal", "pathway-variance", "cv-notification-rate",
		"cv-notification-timeliness", "cv-median-ack-minutes", "cv-same-day-handling", "fu-grade4-rate", "fu-cancer-rate", "fu-timeliness",
		"fu-lost", "readmission-31d", "return-to-theatre", "return-to-theatre-48h", "return-to-theatre-31d", "postop-acquired",
		"grade4-mdt", "stemi-reperfusion", "stroke-reperfusion", "adverse-events-per-100", "coding-accuracy"}
	if strings.Join(ids, ",") != strings.Join(issue, ",") {
		t.Fatalf("ids %v\nwant %v", ids, issue)
	}
	written := []string{clinicalpath.IndicatorCompletion, clinicalpath.IndicatorWithdrawal, clinicalpath.IndicatorVariance,
		criticalvalue.IndicatorNotificationRate, criticalvalue.IndicatorNotificationTimeliness, criticalvalue.IndicatorMedianAckMinutes,
		criticalvalue.IndicatorSameDayHandling, followup.IndicatorGrade4Rate, followup.IndicatorCancerRate, followup.IndicatorTimeliness,
		followup.IndicatorLost, IndicatorEnrollment, IndicatorReadmission, IndicatorReturn, IndicatorReturn48h, IndicatorReturn31d,
		IndicatorPostOp, IndicatorGrade4MDT, IndicatorSTEMI, IndicatorStroke, IndicatorAdverseEvents, IndicatorCodingAccuracy}
	for _, id := range written {
		if _, ok := Lookup(nil, id); !ok {
			t.Errorf("a core writes %s, which is not in the catalogue", id)
		}
	}
	for _, ind := range Catalogue(nil) {
		if ind.Title.Zh == "" || ind.Title.En == "" || ind.Numerator.En == "" || ind.Denominator.Zh == "" || ind.Unit == "" ||
			ind.Scoring == "" || ind.Source == "" || ind.Requires.En == "" || ind.Time == "" || len(ind.Stratifiers) != 2 {
			t.Errorf("%s incomplete: %+v", ind.ID, ind)
		}
	}
	if lookup(t, "return-to-theatre").Target.String() != "<= 1.8" || lookup(t, "stemi-reperfusion").Target.String() != ">= 80" {
		t.Error("plan targets")
	}
}

// TestSummarize: rates in the unit, strata, targets met, an empty period, insufficient data.
func TestSummarize(t *testing.T) {
	rtt := lookup(t, "return-to-theatre")
	r := Summarize(rtt, march, []Count{
		{Hospital: "h", Department: "GI", Setting: "inpatient", Rows: 1000, Denominator: 1000, Numerator: 2},
		{Hospital: "h", Department: "ORTHO", Setting: "inpatient", Rows: 500, Denominator: 500, Numerator: 0},
	}, nil, Evidence{Rows: true})
	if r.Numerator != 2 || r.Denominator != 1500 || *r.Value != 1.3333 || r.Unit != UnitPermille || !*r.Met || r.Status != StatusOK || len(r.Strata) != 2 ||
		*r.Strata[0].Value != 2 || *r.Strata[0].Met || *r.Strata[1].Value != 0 || !*r.Strata[1].Met {
		b, _ := json.Marshal(r)
		t.Fatalf("%s", b)
	}
	// An empty period: denominator 0, value null, met null — not a division error.
	r = Summarize(rtt, march, nil, nil, Evidence{Rows: true})
	if r.Denominator != 0 || r.Value != nil || r.Met != nil || r.Status != StatusOK || r.Strata == nil {
		t.Fatalf("empty %+v", r)
	}
	// Adverse events with discharges but no report ever received: insufficient data.
	ae := lookup(t, "adverse-events-per-100")
	r = Summarize(ae, march, []Count{{Rows: 400, Denominator: 400}}, nil, Evidence{Rows: true})
	if r.Status != StatusInsufficient || r.Value != nil || r.Met != nil || r.Missing == nil || !strings.Contains(r.Missing.En, "AdverseEvent") || r.Denominator != 400 {
		t.Fatalf("no reports ever %+v", r)
	}
	r = Summarize(ae, march, []Count{{Rows: 400, Denominator: 400}, {Rows: 10, Numerator: 10}}, nil, Evidence{Rows: true, Numerator: true})
	if *r.Value != 2.5 || !*r.Met || r.InitialPopulation != 410 {
		t.Fatalf("per 100 %+v", r)
	}
	// A median: odd and even counts, by stratum.
	med := lookup(t, "cv-median-ack-minutes")
	r = Summarize(med, march, []Count{{Department: "GI", Setting: "inpatient", Rows: 3, Denominator: 3}, {Department: "ED", Setting: "emergency", Rows: 2, Denominator: 2}},
		[]Value{{Department: "GI", Setting: "inpatient", Value: 30}, {Department: "GI", Setting: "inpatient", Value: 5}, {Department: "GI", Setting: "inpatient", Value: 12},
			{Department: "ED", Setting: "emergency", Value: 3}, {Department: "ED", Setting: "emergency", Value: 4}}, Evidence{Rows: true})
	if *r.Value != 5 || *r.Strata[0].Value != 3.5 || *r.Strata[1].Value != 12 || r.Met != nil {
		t.Fatalf("median %v %v %v", *r.Value, *r.Strata[0].Value, *r.Strata[1].Value)
	}
}

// TestAggregate: two hospitals' reports add numerators and denominators; rates are computed
// again, never averaged; a median stays per hospital; an insufficient hospital is left out.
func TestAggregate(t *testing.T) {
	stemi := lookup(t, "stemi-reperfusion")
	med := lookup(t, "cv-median-ack-minutes")
	ae := lookup(t, "adverse-events-per-100")
	a := Source{Name: "A", Results: []Result{
		Summarize(stemi, march, []Count{{Department: "CARDIO", Setting: "inpatient", Rows: 10, Denominator: 10, Numerator: 9}}, nil, Evidence{Rows: true}),
		Summarize(med, march, []Count{{Rows: 1, Denominator: 1}}, []Value{{Value: 10}}, Evidence{Rows: true}),
		Summarize(ae, march, []Count{{Rows: 100, Denominator: 100}}, nil, Evidence{Rows: true}),
	}}
	b := Source{Name: "B", Results: []Result{
		Summarize(stemi, march, []Count{{Department: "CARDIO", Setting: "inpatient", Rows: 90, Denominator: 90, Numerator: 45}}, nil, Evidence{Rows: true}),
		Summarize(med, march, []Count{{Rows: 1, Denominator: 1}}, []Value{{Value: 20}}, Evidence{Rows: true}),
		Summarize(ae, march, []Count{{Rows: 200, Denominator: 200}, {Rows: 6, Numerator: 6}}, nil, Evidence{Rows: true, Numerator: true}),
	}}
	out := Aggregate([]Source{a, b})
	// 54/100 = 54%, not the mean of 90% and 50% (70%).
	if out[0].Numerator != 54 || out[0].Denominator != 100 || *out[0].Value != 54 || *out[0].Met || len(out[0].Hospitals) != 2 ||
		*out[0].Hospitals[0].Value != 90 || len(out[0].Strata) != 1 || *out[0].Strata[0].Value != 54 {
		b, _ := json.Marshal(out[0])
		t.Fatalf("stemi %s", b)
	}
	if out[1].Value != nil || !strings.Contains(out[1].Note, "median") || *out[1].Hospitals[1].Value != 20 {
		t.Fatalf("median %+v", out[1])
	}
	if out[2].Denominator != 200 || *out[2].Value != 3 || !strings.Contains(out[2].Note, "A") || out[2].Status != StatusOK {
		t.Fatalf("adverse events %+v", out[2])
	}
}

// TestFHIRValid: every Measure, a MeasureReport of each scoring (with strata, a median and
// insufficient data) and the Bundle validate against the R4 schema.
func TestFHIRValid(t *testing.T) {
	for _, ind := range Catalogue(nil) {
		b, _ := json.Marshal(MeasureOf(ind, "2026.1"))
		if err := fhirschema.Validate(b); err != nil {
			t.Errorf("Measure %s: %v", ind.ID, err)
		}
	}
	m, _ := json.Marshal(MeasureOf(lookup(t, "cv-median-ack-minutes"), "1"))
	if !bytes.Contains(m, []byte(AggregateMethodURL)) || !bytes.Contains(m, []byte(`"continuous-variable"`)) {
		t.Errorf("median measure %s", m)
	}
	results := []Result{
		Summarize(lookup(t, "return-to-theatre"), march, []Count{{Department: "GI", Setting: "inpatient", Rows: 10, Denominator: 10, Numerator: 1}}, nil, Evidence{Rows: true}),
		Summarize(lookup(t, "cv-median-ack-minutes"), march, []Count{{Department: "GI", Setting: "inpatient", Rows: 2, Denominator: 1, Excluded: 1}},
			[]Value{{Department: "GI", Setting: "inpatient", Value: 7}}, Evidence{Rows: true}),
		Summarize(lookup(t, "coding-accuracy"), march, nil, nil, Evidence{}),
	}
	now := time.Date(2026, 4, 2, 1, 0, 0, 0, time.UTC)
	for _, r := range results {
		b, _ := json.Marshal(ReportOf(r, "2026.1", now))
		if err := fhirschema.Validate(b); err != nil {
			t.Errorf("MeasureReport %s: %v\n%s", r.ID, err, b)
		}
	}
	mr, _ := json.Marshal(ReportOf(results[1], "2026.1", now))
	for _, want := range []string{`"measure-observation"`, AggregateMethodURL, `"value":7`, `"code":"min"`, `"period":{"start":"2026-02-28T16:00:00Z","end":"2026-03-31T15:59:59Z"}`} {
		if !bytes.Contains(mr, []byte(want)) {
			t.Errorf("median report lacks %s: %s", want, mr)
		}
	}
	bundle, err := Bundle(results, "2026.1", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := fhirschema.Validate(bundle); err != nil {
		t.Errorf("Bundle: %v", err)
	}
}

// TestCSV: a byte-order mark, CRLF, Chinese headers with lang zh, the last day of the period,
// empty cells for null.
func TestCSV(t *testing.T) {
	r := Summarize(lookup(t, "stemi-reperfusion"), march, []Count{{Department: "CARDIO", Setting: "inpatient", Rows: 4, Denominator: 3, Numerator: 2, Excluded: 1}}, nil, Evidence{Rows: true})
	empty := Summarize(lookup(t, "coding-accuracy"), march, nil, nil, Evidence{})
	var buf bytes.Buffer
	if err := WriteCSV(&buf, []Result{r, empty}, true, shanghai); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if !strings.HasPrefix(s, "\uFEFF指标编码,指标名称,医院,科室") || !strings.Contains(s, "\r\n") {
		t.Fatalf("header %q", s[:60])
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines: %q", len(lines), s)
	}
	if lines[1] != "stemi-reperfusion,STEMI患者发病12小时内再灌注率,,,,2026-03-01,2026-03-31,2,3,1,66.6667,%,>= 80,否,ok," {
		t.Errorf("row %q", lines[1])
	}
	if !strings.HasPrefix(lines[3], "coding-accuracy,主要诊断编码正确率,,,,2026-03-01,2026-03-31,0,0,0,,%,>= 90,,insufficient-data,编码员核查结论") {
		t.Errorf("insufficient row %q", lines[3])
	}
	buf.Reset()
	WriteCSV(&buf, []Result{r}, false, shanghai)
	if !strings.HasPrefix(buf.String(), "\uFEFFindicator,title,hospital") || !strings.Contains(buf.String(), "STEMI reperfusion within 12 h of onset") {
		t.Errorf("english %q", buf.String())
	}
}
