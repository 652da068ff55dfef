package criticalvalue

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping/yamldoc"
)

func TestDefaultConfig(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.DedupWindow != 24*time.Hour || c.NotifyWithin != 15*time.Minute || c.HandleWithin != 24*time.Hour ||
		c.UnreachableAfter != 10*time.Minute || !c.AutoClose || c.CountPreliminary || c.EmergencyRoute != "ed" {
		t.Errorf("defaults: %+v", c)
	}
	var offsets []time.Duration
	for _, s := range c.Steps {
		offsets = append(offsets, s.After)
	}
	if want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute}; !equal(offsets, want) {
		t.Errorf("steps %v, want %v", offsets, want)
	}
	// The list: every item has a rule.
	ids := map[string]bool{}
	for _, r := range c.Rules {
		ids[r.ID] = true
	}
	for _, id := range []string{"potassium", "sodium", "calcium", "glucose", "hemoglobin", "platelets", "wbc", "inr", "aptt",
		"troponin-i", "blood-gas-ph", "blood-gas-po2", "blood-culture"} {
		if !ids[id] {
			t.Errorf("no default rule %s", id)
		}
	}
	if len(c.ImagingCodes) == 0 || !c.ImagingFlag {
		t.Error("no imaging findings")
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestConfigErrors: each problem is named by file, line and field.
func TestConfigErrors(t *testing.T) {
	head := "id: cv\nversion: \"1\"\n"
	rule := func(body string) string {
		return head + "rules:\n  - id: k\n    codes: [{system: http://loinc.org, code: 2823-3}]\n" + body
	}
	cases := []struct{ name, yaml, want string }{
		{"no id", "version: \"1\"\n", "x.yaml:1: id: required"},
		{"unknown setting", head + "dedup_windw: 1h\n", "x.yaml:3: dedup_windw: unknown field"},
		{"bad duration", head + "dedup_window: soon\n", `x.yaml:3: dedup_window: "soon" is not a duration`},
		{"bad zone", head + "zone: Mars/Olympus\n", "x.yaml:3: zone:"},
		{"bad route", head + "routing: {emergency: nowhere}\n", "x.yaml:3: routing.emergency:"},
		{"step without target", head + "escalation:\n  steps:\n    - {after: 5m}\n", "x.yaml:5: escalation.steps[0].targets: a step needs at least one target"},
		{"unknown target", head + "escalation:\n  steps:\n    - {after: 5m, targets: [janitor]}\n", `x.yaml:5: escalation.steps[0].targets[0]: "janitor" is not a target`},
		{"steps out of order", head + "escalation:\n  steps:\n    - {after: 10m, targets: [ward]}\n    - {after: 5m, targets: [on-call]}\n", "x.yaml:6: escalation.steps[1].after:"},
		{"other anchor", head + "escalation: {anchor: received}\n", "escalation.anchor:"},
		{"low above high", rule("    unit: mmol/L\n    low: 7\n    high: 3\n"), "x.yaml:7: rules[0].low: 7 is above high 3"},
		{"no limits", rule("    unit: mmol/L\n"), "rules[0]: a rule needs low, high or both"},
		{"unknown unit", rule("    unit: furlongs\n    high: 1\n"), `x.yaml:6: rules[0].unit: unknown unit "furlongs"`},
		{"unknown conversion unit", rule("    unit: mmol/L\n    high: 6\n    conversions: [{from: grains, factor: 2}]\n"), `rules[0].conversions[0].from: unknown unit "grains"`},
		{"conversion without factor", rule("    unit: mmol/L\n    high: 6\n    conversions: [{from: mg/dL}]\n"), "x.yaml:8: rules[0].conversions[0]: give factor or divide_by"},
		{"needless conversion", rule("    unit: mmol/L\n    high: 6\n    conversions: [{from: umol/L, factor: 0.001}]\n"), "no conversion is needed"},
		{"bad age", rule("    unit: mmol/L\n    high: 6\n    age: {from: old}\n"), "rules[0].age.from:"},
		{"bad sex", rule("    unit: mmol/L\n    high: 6\n    sex: x\n"), `rules[0].sex: "x" is not male or female`},
		{"positive with limits", rule("    unit: mmol/L\n    high: 6\n    positive: {texts: [pos]}\n"), "rules[0].positive: a qualitative rule has no unit"},
		{"code without system", head + "rules:\n  - id: k\n    codes: [{code: 2823-3}]\n    unit: mmol/L\n    high: 6\n", "x.yaml:5: rules[0].codes[0].system: required"},
		{"same rule id", rule("    unit: mmol/L\n    high: 6\n  - id: k\n    codes: [{system: s, code: c}]\n    unit: mmol/L\n    high: 6\n"), `rules[1].id: "k" is used again`},
		{"imaging code", head + "imaging: {codes: [{system: s}]}\n", "imaging.codes[0].code: required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := Check("x.yaml", []byte(tc.yaml))
			var all []string
			for _, err := range errs {
				var ye *yamldoc.Error
				if !errors.As(err, &ye) {
					t.Errorf("%v is not a *yamldoc.Error", err)
				}
				all = append(all, err.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("errors:\n%s\nwant one containing %q", strings.Join(all, "\n"), tc.want)
			}
			if _, err := Parse("x.yaml", []byte(tc.yaml)); err == nil {
				t.Error("Parse accepted it")
			}
		})
	}
}

func TestParseAgeAndDuration(t *testing.T) {
	for s, want := range map[string]Age{"28d": {D: 28}, "2w": {D: 14}, "1y6m": {Y: 1, M: 6}, "18y": {Y: 18}} {
		got, err := parseAge(s)
		if err != nil || got != want {
			t.Errorf("parseAge(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "d", "12", "3x", "y1"} {
		if _, err := parseAge(s); err == nil {
			t.Errorf("parseAge(%q) accepted", s)
		}
	}
	for s, want := range map[string]time.Duration{"15m": 15 * time.Minute, "1d": 24 * time.Hour, "1d12h": 36 * time.Hour, "90s": 90 * time.Second} {
		got, err := parseDuration(s)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
}

// FuzzParse: no configuration file makes Parse panic, and one it accepts is usable.
func FuzzParse(f *testing.F) {
	f.Add(defaultYAML)
	f.Add([]byte("id: cv\nversion: \"1\"\nrules:\n  - id: k\n    codes: [{system: s, code: c}]\n    unit: mmol/L\n    low: 1\n    age: {from: 1y, to: 18y}\n"))
	f.Add([]byte("id: cv\nversion: \"1\"\nescalation:\n  steps:\n    - {after: 1d2h, targets: [ward]}\n"))
	f.Add([]byte("- not a mapping"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if _, err := New(c); err != nil {
			t.Fatalf("parsed config refused by New: %v", err)
		}
	})
}
