package quality

import (
	"strings"
	"testing"
)

func TestDefaultConfig(t *testing.T) {
	c := Default()
	if c.Name() != "quality-default@2026.1" || c.ReadmissionDays != 31 || c.ReturnHours != 48 || c.ReturnDays != 31 || len(c.PostOp) != 7 ||
		c.STEMI.WithinHours != 12 || c.Stroke.ArrivalWithinHours != 24 || !c.MDTExcludeEmergency || !c.AdverseIncludePotential || len(c.AuditCodes) != 1 {
		t.Fatalf("%+v", c)
	}
	if ind, _ := Lookup(c, "adverse-events-per-100"); ind.Target.String() != ">= 2.5" {
		t.Errorf("target %v", ind.Target)
	}
}

// TestTargetsOverride: a settings file changes and removes targets.
func TestTargetsOverride(t *testing.T) {
	src := strings.Replace(string(defaultYAML), `  pathway-enrollment: {target: ">= 50"}`, `  pathway-enrollment: {target: ">= 60"}
  cv-notification-timeliness: {target: "≥ 95%"}`, 1)
	src = strings.Replace(src, `  return-to-theatre: {target: "<= 1.8"}`, `  return-to-theatre: {target: none}`, 1)
	c, err := Parse("quality.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if ind, _ := Lookup(c, "pathway-enrollment"); ind.Target.String() != ">= 60" {
		t.Errorf("enrollment %v", ind.Target)
	}
	if ind, _ := Lookup(c, "cv-notification-timeliness"); ind.Target.String() != ">= 95" {
		t.Errorf("timeliness %v", ind.Target)
	}
	if ind, _ := Lookup(c, "return-to-theatre"); ind.Target != nil {
		t.Errorf("return to theatre %v", ind.Target)
	}
	if ind, _ := Lookup(c, "return-to-theatre-48h"); ind.Target != nil {
		t.Errorf("48h %v", ind.Target)
	}
}

// TestCheck: every problem names the file, the line and the field.
func TestCheck(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown indicator", "indicators:\n  nope: {target: \">= 1\"}\n", "q.yaml:5: indicators.nope: no indicator \"nope\""},
		{"bad target", "indicators:\n  grade4-mdt: {target: \"about 100\"}\n", "q.yaml:5: indicators.grade4-mdt.target: \"about 100\": want"},
		{"unknown field", "readmision: {days: 31}\n", "q.yaml:4: readmision: unknown field"},
		{"negative days", "readmission: {days: 0}\n", "q.yaml:4: readmission.days: 0 is less than 1"},
		{"bad prefix", "postop_complications: [{prefix: pe}]\n", "q.yaml:4: postop_complications[0].prefix: \"pe\" is not an ICD-10"},
		{"stemi without window", "stemi: {diagnoses: [I21.0], procedures: [\"00.66\"]}\n", "q.yaml:4: stemi.arrival_within_hours: required"},
		{"code without system", "coding_audit: {codes: [{code: x}]}\n", "q.yaml:4: coding_audit.codes[0].system: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "id: q\nversion: \"1\"\npostop_complications: [{prefix: I26}]\n" + tc.yaml
			if !strings.Contains(tc.yaml, "coding_audit") {
				src += "coding_audit: {codes: [{system: s, code: c}]}\n"
			}
			if strings.HasPrefix(tc.yaml, "postop_complications") {
				src = "id: q\nversion: \"1\"\ncoding_audit: {codes: [{system: s, code: c}]}\n" + tc.yaml
			}
			errs := Check("q.yaml", []byte(src))
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("errors %q, want one containing %q", all, tc.want)
			}
		})
	}
	if errs := Check("default.yaml", defaultYAML); len(errs) != 0 {
		t.Errorf("default: %v", errs)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(defaultYAML)
	f.Add([]byte("id: q\nversion: \"1\"\nindicators: {grade4-mdt: {target: \"<= 3\"}}\n"))
	f.Add([]byte("stemi: {diagnoses: [I21], arrival_within_hours: -1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err == nil && (c.ReadmissionDays < 1 || c.Zone == nil) {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{">= 80", "<= 1.8", "none", "≥ 95%", ">=", "= 3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err == nil && tg != nil && tg.Comparator != ">=" && tg.Comparator != "<=" {
			t.Fatalf("%q → %+v", s, tg)
		}
	})
}
