package criticalvalue

import (
	"testing"
	"time"

	"github.com/lujing-health/lujing/mapping"
)

// TestRouting: inpatients to the ward they were in at the release (transfers followed, a
// later transfer not), outpatients to the ordering department and clinician, emergency
// patients by the configured ED flow; a result naming no encounter is placed by time.
func TestRouting(t *testing.T) {
	gi, icu, ed, clinic := dept("GI-SURG", "胃肠外科"), dept("ICU", "重症医学科"), dept("ED", "急诊科"), dept("ENDO-OPD", "内分泌门诊")
	sr := "ServiceRequest/sr1"
	k := potassium("k1", "7.0", t0)
	k.basedOn = []string{sr}
	noEnc := k
	noEnc.encounter = ""
	cases := []struct {
		name    string
		edit    func(*Config)
		facts   []mapping.Event
		setting string
		dept    string
		ward    string
		who     string // attending
		orderer string
	}{
		{"inpatient", nil, []mapping.Event{admitted(enc, Inpatient, gi, "胃肠外科病区", "朱医生", t0.Add(-48*time.Hour)), ordered(sr, enc, "李医生", t0.Add(-time.Hour)), k.event()},
			Inpatient, "GI-SURG", "胃肠外科病区", "朱医生", "李医生"},
		{"inpatient transferred before the release", nil, []mapping.Event{admitted(enc, Inpatient, gi, "胃肠外科病区", "朱医生", t0.Add(-48*time.Hour)),
			transferred(enc, icu, "ICU病区", t0.Add(-time.Hour)), k.event()}, Inpatient, "ICU", "ICU病区", "朱医生", ""},
		{"inpatient transferred after the release", nil, []mapping.Event{admitted(enc, Inpatient, gi, "胃肠外科病区", "朱医生", t0.Add(-48*time.Hour)),
			k.event(), transferred(enc, icu, "ICU病区", t0.Add(time.Hour))}, Inpatient, "GI-SURG", "胃肠外科病区", "朱医生", ""},
		{"result without encounter", nil, []mapping.Event{admitted(enc, Inpatient, gi, "胃肠外科病区", "朱医生", t0.Add(-48*time.Hour)), noEnc.event()},
			Inpatient, "GI-SURG", "胃肠外科病区", "朱医生", ""},
		{"outpatient: the ordering department", nil, []mapping.Event{admitted(enc, Outpatient, clinic, "", "", t0.Add(-2*time.Hour)), ordered(sr, enc, "王医生", t0.Add(-time.Hour)), k.event()},
			Outpatient, "ENDO-OPD", "", "王医生", "王医生"},
		{"emergency, ed flow", nil, []mapping.Event{admitted(enc, Emergency, ed, "", "", t0.Add(-2*time.Hour)), ordered(sr, enc, "急诊赵医生", t0.Add(-time.Hour)), k.event()},
			Emergency, "ED", "", "急诊赵医生", "急诊赵医生"},
		{"emergency, ed flow to a named department", func(c *Config) { c.EDDepartment = "EICU" }, []mapping.Event{admitted(enc, Emergency, ed, "", "", t0.Add(-2*time.Hour)), k.event()},
			Emergency, "EICU", "", "", ""},
		{"emergency, ordering flow", func(c *Config) { c.EmergencyRoute = "ordering" }, []mapping.Event{admitted(enc, Emergency, ed, "", "", t0.Add(-2*time.Hour)),
			admitted("Encounter/opd", Outpatient, clinic, "", "", t0.Add(-3*time.Hour)), ordered(sr, "Encounter/opd", "王医生", t0.Add(-time.Hour)), k.event()},
			Emergency, "ENDO-OPD", "", "王医生", "王医生"},
		{"no encounter known", nil, []mapping.Event{noEnc.event()}, Outpatient, "", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*Config)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			r := &run{t: t, e: engine(t, edits...)}
			r.apply(input(t0.Add(2*time.Hour), tc.facts...))
			rec, b := r.only()
			if b.Setting != tc.setting || b.Department != tc.dept || rec.Department != tc.dept || b.Ward != tc.ward || b.Attending != tc.who || b.Orderer != tc.orderer {
				t.Errorf("got %s %s %q %q %q, want %s %s %q %q %q", b.Setting, b.Department, b.Ward, b.Attending, b.Orderer,
					tc.setting, tc.dept, tc.ward, tc.who, tc.orderer)
			}
			if tc.name == "result without encounter" && b.Encounter != enc {
				t.Errorf("encounter %q", b.Encounter)
			}
		})
	}
}
