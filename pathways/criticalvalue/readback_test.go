package criticalvalue

import (
	"strings"
	"testing"
)

func TestReadBack(t *testing.T) {
	k := snapshot{Value: "7.20", Number: "7.20", Unit: "mmol/L"}
	hb := snapshot{Value: "<46", Number: "46", Unit: "g/L"}
	culture := snapshot{Value: "阳性（大肠埃希菌）"}
	ct := snapshot{Value: "右侧气胸，右肺组织压缩约70%，纵隔左移。"}
	cases := []struct {
		s     snapshot
		typed string
		ok    bool
	}{
		{k, "7.2", true}, {k, "7.20", true}, {k, " 7.200 ", true}, {k, "7.2 mmol/L", true}, {k, "7.2mmol/l", true},
		{k, "７．２", true}, {k, "+7.2", true},
		{k, "7.3", false}, {k, "72", false}, {k, "7.2 mg/dL", false}, {k, "seven", false}, {k, "", false}, {k, ".", false},
		{hb, "46", true}, {hb, "<46", true}, {hb, "<46 g/L", true}, {hb, ">46", false}, {hb, "≤46", false},
		{culture, "阳性", true}, {culture, "阳性(大肠埃希菌)", true}, {culture, "阴性", false},
		{ct, "右侧气胸", true}, {ct, "左侧气胸", false}, {ct, "气", false},
	}
	for _, tc := range cases {
		if ok, why := readBackMatches(tc.typed, tc.s); ok != tc.ok {
			t.Errorf("%q against %q: %v (%s), want %v", tc.typed, tc.s.Value, ok, why, tc.ok)
		}
	}
}

// FuzzReadBack: any input is handled, and a number always matches itself with its unit.
func FuzzReadBack(f *testing.F) {
	for _, s := range []string{"7.2", "7.20 mmol/L", "<46", "≥ 5", "７．２", "阳性", "", "-", "1.2.3", "+.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		cmp, n, unit, ok := readBack(typed)
		_, _ = readBackMatches(typed, snapshot{Value: "6.8", Number: "6.8", Unit: "mmol/L"})
		_, _ = readBackMatches(typed, snapshot{Value: typed})
		if !ok {
			return
		}
		num := n.FloatString(6)
		s := snapshot{Value: cmp + num, Number: num, Unit: unit}
		if strings.ContainsAny(unit, "\x00") {
			return
		}
		if ok, why := readBackMatches(typed, s); !ok {
			t.Errorf("%q does not match its own reading %q %s: %s", typed, s.Value, unit, why)
		}
	})
}
