package criticalvalue

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/pathways"
)

func quantity(number, unit string) *mapping.Value {
	return &mapping.Value{Type: "quantity", Number: json.Number(number), Unit: unit}
}

func result(code string, v *mapping.Value, edit ...func(*mapping.ResultData)) mapping.Event {
	issued := t0
	d := mapping.ResultData{Code: mapping.Concept{System: loinc, Code: code}, Status: "final", Value: v, Issued: &issued}
	for _, f := range edit {
		f(&d)
	}
	return event(mapping.KindResult, "Observation/o#result", enc, t0, 1, d)
}

// TestDetection: flags, rules with unit conversion, age bands and sex, qualitative results,
// status gates; and what a rule that cannot judge says.
func TestDetection(t *testing.T) {
	newborn := pathways.Patient{Ref: patient, BirthDate: t0.AddDate(0, 0, -10), Gender: "male"}
	adult := pathways.Patient{Ref: patient, BirthDate: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), Gender: "female"}
	unknown := pathways.Patient{Ref: patient}
	hh := func(d *mapping.ResultData) {
		d.Interpretation = []mapping.Code{{System: InterpretationSystem, Code: "HH"}}
	}
	flagged := func(d *mapping.ResultData) { d.Critical = true }
	status := func(s string) func(*mapping.ResultData) { return func(d *mapping.ResultData) { d.Status = s } }
	local := func(d *mapping.ResultData) {
		d.Code = mapping.Concept{System: "http://lis.example/local", Code: "K", Codings: []mapping.Code{{System: "http://lis.example/local", Code: "K"}}}
	}
	cases := []struct {
		name     string
		patient  pathways.Patient
		fact     mapping.Event
		rule     string // "" for not critical
		skip     string // a skip reason expected, "" for none
		critical string // the value shown
	}{
		{"potassium high", adult, result("2823-3", quantity("6.3", "mmol/L")), "rule:potassium", "", "6.3"},
		{"potassium at the limit is not critical", adult, result("2823-3", quantity("6.2", "mmol/L")), "", "", ""},
		{"potassium in mEq/L", adult, result("2823-3", quantity("2.5", "mEq/L")), "rule:potassium", "", "2.5"},
		{"potassium without unit: skipped", adult, result("2823-3", quantity("6.8", "")), "", "no unit", ""},
		{"potassium without unit but HH: flagged", adult, result("2823-3", quantity("6.8", ""), hh), "interpretation:HH", "no unit", "6.8"},
		{"potassium in a unit that does not convert", adult, result("2823-3", quantity("6.8", "g/L")), "", "does not convert", ""},
		{"potassium in an unknown unit", adult, result("2823-3", quantity("6.8", "bananas")), "", "unknown unit", ""},
		{"source flag", adult, result("2823-3", quantity("4.0", "mmol/L"), flagged), "source-flag", "", "4.0"},
		{"local code as received", adult, result("2823-3", quantity("7.0", "mmol/L"), local), "", "", ""},
		{"glucose in mg/dL", adult, result("2345-7", quantity("400", "mg/dL")), "rule:glucose", "", "400"},
		{"glucose 39 mg/dL", adult, result("2345-7", quantity("39", "mg/dL")), "rule:glucose", "", "39"},
		{"glucose 45 mg/dL is not", adult, result("2345-7", quantity("45", "mg/dL")), "", "", ""},
		{"haemoglobin in g/dL", adult, result("718-7", quantity("4.5", "g/dL")), "rule:hemoglobin", "", "4.5"},
		{"haemoglobin below with comparator", adult, result("718-7", &mapping.Value{Type: "quantity", Number: "46", Comparator: "<", Unit: "g/L"}), "rule:hemoglobin", "", "<46"},
		{"haemoglobin > comparator cannot be low", adult, result("718-7", &mapping.Value{Type: "quantity", Number: "40", Comparator: ">", Unit: "g/L"}), "", "", ""},
		{"haemoglobin 90 in an adult", adult, result("718-7", quantity("90", "g/L")), "", "", ""},
		{"haemoglobin 90 in a newborn", newborn, result("718-7", quantity("90", "g/L")), "rule:hemoglobin-neonate", "", "90"},
		{"haemoglobin with no birth date", unknown, result("718-7", quantity("90", "g/L")), "", "birth date not known", ""},
		{"calcium 14 mg/dL is 3.49 mmol/L", adult, result("17861-6", quantity("14", "mg/dL")), "", "", ""},
		{"calcium 15 mg/dL is 3.74 mmol/L", adult, result("17861-6", quantity("15", "mg/dL")), "rule:calcium", "", "15"},
		{"platelets in 10*3/uL", adult, result("777-3", &mapping.Value{Type: "quantity", Number: "25", Unit: "10^3/uL", UnitCode: "10*3/uL"}), "rule:platelets", "", "25"},
		{"WBC in 10^9/L", adult, result("6690-2", quantity("35", "10^9/L")), "rule:wbc", "", "35"},
		{"troponin I in ng/L", adult, result("89579-7", quantity("600", "ng/L")), "rule:troponin-i", "", "600"},
		{"troponin I 400 ng/L is not", adult, result("89579-7", quantity("400", "ng/L")), "", "", ""},
		{"INR with no unit", adult, result("6301-6", &mapping.Value{Type: "quantity", Number: "5.5"}), "rule:inr", "", "5.5"},
		{"APTT in seconds", adult, result("3173-2", quantity("120", "s")), "rule:aptt", "", "120"},
		{"pH", adult, result("2744-1", quantity("7.1", "[pH]")), "rule:blood-gas-ph", "", "7.1"},
		{"pO2 in kPa", adult, result("2703-7", quantity("5.0", "kPa")), "rule:blood-gas-po2", "", "5.0"},
		{"pO2 8 kPa is not", adult, result("2703-7", quantity("8", "kPa")), "", "", ""},
		{"sodium text value", adult, result("2951-2", &mapping.Value{Type: "string", Text: "溶血"}), "", "the value is a string", ""},
		{"blood culture positive text", adult, result("600-7", &mapping.Value{Type: "string", Text: "阳性（大肠埃希菌）"}), "rule:blood-culture", "", "阳性（大肠埃希菌）"},
		{"blood culture negative text", adult, result("600-7", &mapping.Value{Type: "string", Text: "阴性"}), "", "", ""},
		{"blood culture not detected", adult, result("600-7", &mapping.Value{Type: "string", Text: "未检出"}), "", "", ""},
		{"blood culture coded positive", adult, result("600-7", &mapping.Value{Type: "codeable_concept", Code: &mapping.Concept{System: "http://snomed.info/sct", Code: "10828004", Display: "Positive"}}), "rule:blood-culture", "", "Positive"},
		{"blood culture boolean", adult, result("600-7", &mapping.Value{Type: "boolean", Boolean: new(true)}), "rule:blood-culture", "", "true"},
		{"preliminary does not count", adult, result("2823-3", quantity("7.0", "mmol/L"), status("preliminary")), "", "", ""},
		{"amended counts", adult, result("2823-3", quantity("7.0", "mmol/L"), status("amended")), "rule:potassium", "", "7.0"},
		{"cancelled status does not count", adult, result("2823-3", quantity("7.0", "mmol/L"), hh, status("cancelled")), "", "", ""},
	}
	e := engine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cands, skips := e.detect(pathways.Input{Patient: tc.patient, Facts: []mapping.Event{tc.fact}, Now: t0})
			rule, value := "", ""
			if len(cands) > 1 {
				t.Fatalf("%d candidates", len(cands))
			}
			if len(cands) == 1 {
				rule, value = cands[0].rule, cands[0].value
			}
			if rule != tc.rule || value != tc.critical {
				t.Errorf("rule %q value %q, want %q %q", rule, value, tc.rule, tc.critical)
			}
			// The intake's triage must never miss what the core detects, for any patient.
			if rule != "" && !e.Suspect([]mapping.Event{tc.fact}) {
				t.Error("detected, but Suspect says no: it would wait in the ordinary lane")
			}
			var reasons []string
			for _, s := range skips {
				reasons = append(reasons, s.Rule+": "+s.Reason)
			}
			all := strings.Join(reasons, "; ")
			if tc.skip == "" && all != "" || !strings.Contains(all, tc.skip) {
				t.Errorf("skips %q, want %q", all, tc.skip)
			}
		})
	}
}

// TestPreliminaryCounts: with count_preliminary a preliminary result counts.
func TestPreliminaryCounts(t *testing.T) {
	e := engine(t, func(c *Config) { c.CountPreliminary = true })
	f := result("2823-3", quantity("7.0", "mmol/L"), func(d *mapping.ResultData) { d.Status = "preliminary" })
	if cands, _ := e.detect(pathways.Input{Facts: []mapping.Event{f}}); len(cands) != 1 {
		t.Errorf("%d candidates", len(cands))
	}
}

// TestSkippedAccessor: the skips are in the state for the adapter.
func TestSkippedAccessor(t *testing.T) {
	r := &run{t: t, e: engine(t)}
	r.apply(input(t0, append(ward(), lab{key: "Observation/k", encounter: enc, code: "2823-3", value: "6.9", released: t0, interp: "HH"}.event())...))
	skips, err := Skipped(r.state)
	if err != nil || len(skips) != 1 || skips[0].Rule != "potassium" || !strings.Contains(skips[0].Reason, "no unit") || skips[0].Result != "Observation/k#result" {
		t.Errorf("skips %+v %v", skips, err)
	}
	if len(r.out.Records) != 1 {
		t.Errorf("the flag did not detect it: %d records", len(r.out.Records))
	}
}

// TestReportsComponentsImaging: contained results, report flags, components, imaging reports.
func TestReportsComponentsImaging(t *testing.T) {
	e := engine(t)
	issued := t0
	report := func(members []string, critical bool) mapping.Event {
		return event(mapping.KindResult, "DiagnosticReport/r#result", enc, t0, 1, mapping.ResultData{
			Code: mapping.Concept{System: loinc, Code: "24326-1"}, Status: "final", Issued: &issued, Members: members, Critical: critical})
	}
	contained := event(mapping.KindResult, "DiagnosticReport/r#result/r1", enc, t0, 1, mapping.ResultData{
		Code: mapping.Concept{System: loinc, Code: "2823-3"}, Status: "final", Issued: &issued, Report: "DiagnosticReport/r",
		Value: quantity("7.2", "mmol/L")})
	gas := result("24336-0", nil, func(d *mapping.ResultData) {
		d.Components = []mapping.Component{
			{Code: mapping.Concept{System: loinc, Code: "2744-1"}, Value: quantity("6.95", "[pH]")},
			{Code: mapping.Concept{System: loinc, Code: "2703-7"}, Value: quantity("90", "mm[Hg]")},
		}
	})
	imaging := func(d mapping.ImagingData) mapping.Event {
		d.Code, d.Issued = mapping.Concept{System: loinc, Code: "36643-5"}, &issued
		if d.Status == "" {
			d.Status = "final"
		}
		return event(mapping.KindImaging, "DiagnosticReport/x#imaging", enc, t0, 1, d)
	}
	cases := []struct {
		name  string
		facts []mapping.Event
		want  []string // key rule
	}{
		{"contained critical: the member, not the report", []mapping.Event{report([]string{"DiagnosticReport/r#result/r1"}, true), contained},
			[]string{"DiagnosticReport/r#result/r1 rule:potassium"}},
		{"report flag alone", []mapping.Event{report([]string{"Observation/o1"}, true)}, []string{"DiagnosticReport/r#result source-flag"}},
		{"component", []mapping.Event{gas}, []string{"Observation/o#result/component/2744-1 rule:blood-gas-ph"}},
		{"imaging flag", []mapping.Event{imaging(mapping.ImagingData{Critical: true, Conclusion: "右侧气胸"})}, []string{"DiagnosticReport/x#imaging source-flag"}},
		{"imaging AA", []mapping.Event{imaging(mapping.ImagingData{ConclusionCodes: []mapping.Code{{System: InterpretationSystem, Code: "AA"}}})}, []string{"DiagnosticReport/x#imaging interpretation:AA"}},
		{"imaging finding code", []mapping.Event{imaging(mapping.ImagingData{ConclusionCodes: []mapping.Code{{System: "http://snomed.info/sct", Code: "36118008"}}})},
			[]string{"DiagnosticReport/x#imaging imaging-code:http://snomed.info/sct|36118008"}},
		{"imaging normal", []mapping.Event{imaging(mapping.ImagingData{Conclusion: "未见异常"})}, nil},
		{"imaging preliminary", []mapping.Event{imaging(mapping.ImagingData{Critical: true, Status: "preliminary"})}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cands, _ := e.detect(pathways.Input{Facts: tc.facts})
			var got []string
			for _, c := range cands {
				got = append(got, c.key+" "+c.rule)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if len(cands) > 0 && !e.Suspect(tc.facts) {
				t.Error("detected, but Suspect says no")
			}
		})
	}
	// The imaging flag can be turned off; the finding list still counts.
	off := engine(t, func(c *Config) { c.ImagingFlag = false })
	if cands, _ := off.detect(pathways.Input{Facts: []mapping.Event{imaging(mapping.ImagingData{Critical: true})}}); len(cands) != 0 {
		t.Error("flag counted with imaging.flag false")
	}
}

// TestUnitConversion: the table and a rule's own factors.
func TestUnitConversion(t *testing.T) {
	glucose := Rule{Unit: "mmol/L", Conversions: []Conversion{{From: "mg/dL", Factor: 1 / 18.016}}}
	hb := Rule{Unit: "g/L"}
	trop := Rule{Unit: "ng/mL"}
	plt := Rule{Unit: "10*9/L"}
	po2 := Rule{Unit: "mm[Hg]"}
	cases := []struct {
		r    Rule
		v    float64
		from string
		want float64
		err  string
	}{
		{glucose, 180.16, "mg/dL", 10, ""},
		{glucose, 1801.6, "mg/L", 10, ""}, // mg/L → mg/dL by the table, then the rule's factor
		{glucose, 10, "mmol/l", 10, ""},
		{glucose, 10, "g/L/h", 0, "unknown unit"},
		{glucose, 10, "", 0, "no unit"},
		{hb, 4.5, "g/dL", 45, ""},
		{trop, 600, "ng/L", 0.6, ""},
		{plt, 25, "10^3/µL", 25, ""},
		{plt, 25, "x10^9/L", 25, ""},
		{po2, 6, "kPa", 45.0037, ""},
		{hb, 1, "mmol/L", 0, "does not convert"},
	}
	for _, tc := range cases {
		got, reason := tc.r.convert(tc.v, tc.from)
		if tc.err != "" {
			if !strings.Contains(reason, tc.err) {
				t.Errorf("%v %s → %s: reason %q, want %q", tc.v, tc.from, tc.r.Unit, reason, tc.err)
			}
			continue
		}
		if reason != "" || got < tc.want*0.9999 || got > tc.want*1.0001 {
			t.Errorf("%v %s → %s = %v (%s), want %v", tc.v, tc.from, tc.r.Unit, got, reason, tc.want)
		}
	}
}
