package followup_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/pathways/followup"
)

func defaultYAML(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDefault(t *testing.T) {
	c := followup.Default()
	if c.Name() != "follow-up-default@2026.1" || c.MergeWithinDays != 14 || c.MaxAttempts != 3 || c.ReadmissionDays != 31 ||
		c.ReturnToTheatreDays != 31 || c.ReturnToTheatreHours != 48 || c.Zone.String() != "Asia/Shanghai" || len(c.Templates) != 2 {
		t.Errorf("default config: %+v", c)
	}
	if errs := followup.Check("default.yaml", defaultYAML(t)); len(errs) > 0 {
		t.Error(errs)
	}
}

func TestCheck(t *testing.T) {
	const head = "id: f\nversion: \"1\"\n"
	const templates = `templates:
  - {id: a, reason: grade4-surgery, contacts: [{days: 7, window_days: 3}]}
  - {id: b, reason: malignant-tumour, contacts: [{months: 3, every_months: 3, until_months: 24, window_days: 14}]}
`
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"good", head + templates, nil},
		{"empty", "id: f\n", []string{
			"f.yaml:1: version: required",
			"f.yaml:1: templates: a template for each of grade4-surgery and malignant-tumour is required",
		}},
		{"type error", head + "max_attempts: three\n" + templates, []string{`f.yaml:3: max_attempts: expected a whole number, got "three"`}},
		{"unknown field", head + "merge_days: 3\n" + templates, []string{"f.yaml:3: merge_days: unknown field"}},
		{"numbers", head + "max_attempts: 0\nmerge_within_days: -1\nzone: Mars/Olympus\n" + templates, []string{
			`f.yaml:5: zone: "Mars/Olympus" is not a time zone: unknown time zone Mars/Olympus`,
			"f.yaml:4: merge_within_days: -1 is less than 0",
			"f.yaml:3: max_attempts: 0 is less than 1",
		}},
		{"templates", head + `planned_admission: [{code: EL}]
templates:
  - id: a
    reason: grade4-surgery
    method: fax
    contacts:
      - {days: 7, months: 1}
      - {days: 30, every_months: 3}
      - {months: 3, every_months: 3, until_months: 2}
      - {months: 3, until_months: 9, window_days: -1}
  - {id: b, reason: grade4-surgery, contacts: []}
  - {reason: cancer, contacts: [{days: 1, method: letter}]}
`, []string{
			"f.yaml:3: planned_admission[0].system: required",
			"f.yaml:7: templates[0].method: \"fax\" is not phone, clinic, online",
			"f.yaml:9: templates[0].contacts[0]: give either days or months after discharge",
			"f.yaml:10: templates[0].contacts[1].every_months: a series repeats by months: give months, not days",
			"f.yaml:11: templates[0].contacts[2].until_months: 2 is before the first contact, month 3",
			"f.yaml:12: templates[0].contacts[3].until_months: only a series (every_months) has an end",
			"f.yaml:12: templates[0].contacts[3].window_days: -1 is negative",
			`f.yaml:13: templates[1].reason: "grade4-surgery" has a template already, templates[0]`,
			"f.yaml:13: templates[1].contacts: at least one contact is required",
			"f.yaml:14: templates[2].id: required",
			`f.yaml:14: templates[2].reason: "cancer" is not grade4-surgery or malignant-tumour`,
			`f.yaml:14: templates[2].contacts[0].method: "letter" is not phone, clinic, online`,
			`f.yaml:5: templates: no template for "malignant-tumour"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range followup.Check("f.yaml", []byte(tt.yaml)) {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			_, err := followup.Parse("f.yaml", []byte(tt.yaml))
			if (err == nil) != (tt.want == nil) {
				t.Errorf("Parse error %v", err)
			}
		})
	}
}

// FuzzParse: any input is either a configuration or errors, never a panic, and a configuration
// that parses plans contacts without panicking.
func FuzzParse(f *testing.F) {
	f.Add(defaultYAML(f))
	f.Add([]byte("id: f\nversion: \"1\"\ntemplates:\n  - {id: a, reason: grade4-surgery, contacts: [{days: 7}]}\n  - {id: b, reason: malignant-tumour, contacts: [{months: 3, every_months: 3, until_months: 24}]}\n"))
	f.Add([]byte("id: [\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := followup.Parse("f.yaml", data)
		errs := followup.Check("f.yaml", data)
		if (err == nil) != (len(errs) == 0) {
			t.Fatalf("Parse and Check disagree: %v / %v", err, errs)
		}
		if err != nil {
			return
		}
		if c.MaxAttempts < 1 || c.Zone == nil || len(c.Templates) != 2 {
			t.Fatalf("parsed config out of range: %+v", c)
		}
		// Plan with it; a huge series is the hospital's choice, so keep the fuzzed ones small.
		for _, tp := range c.Templates {
			for _, s := range tp.Contacts {
				if s.Days > 50000 || s.Months > 1200 || s.UntilMonths > 1200 || s.WindowDays > 50000 || (s.EveryMonths > 0 && s.UntilMonths/max(s.EveryMonths, 1) > 200) {
					return
				}
			}
		}
		facts := append(grade4Stay(), diagnosed("c1", "Encounter/e1", admitAt, "C18.2"))
		if _, err := followup.New(c).Apply(nil, input(before, facts...)); err != nil {
			t.Fatal(err)
		}
	})
}
