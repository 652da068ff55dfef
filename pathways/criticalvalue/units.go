package criticalvalue

import (
	"maps"
	"slices"
	"strings"
)

// unit is a known unit: its dimension and its factor to the dimension's base unit. Units of
// one dimension convert by the table; across dimensions (mg/dL of glucose to mmol/L) only by a
// rule's own conversion, since the factor is the analyte's molar mass.
type unit struct {
	dim    string
	factor float64 // × factor = base unit
}

// units by normalised name (see normUnit). Bases: mmol/L, g/L, 10*9/L, kPa, s, %, and 1 for
// the dimensionless (INR, pH, ratios), which a value may also carry with no unit at all.
var units = map[string]unit{
	"mol/l": {"molar", 1000}, "mmol/l": {"molar", 1}, "umol/l": {"molar", 1e-3}, "nmol/l": {"molar", 1e-6},
	"pmol/l": {"molar", 1e-9},

	"g/l": {"mass", 1}, "g/dl": {"mass", 10}, "mg/dl": {"mass", 1e-2}, "mg/l": {"mass", 1e-3},
	"mg/ml": {"mass", 1}, "ug/ml": {"mass", 1e-3}, "ug/dl": {"mass", 1e-5}, "ug/l": {"mass", 1e-6},
	"ng/ml": {"mass", 1e-6}, "ng/dl": {"mass", 1e-8}, "ng/l": {"mass", 1e-9}, "pg/ml": {"mass", 1e-9},

	// Cell counts: 10^9/L is 10^3/µL is /nL.
	"10*9/l": {"count", 1}, "10*3/ul": {"count", 1}, "10*3/mm3": {"count", 1}, "/nl": {"count", 1},
	"10*12/l": {"count", 1e3}, "10*6/ul": {"count", 1e3}, "10*6/mm3": {"count", 1e3}, "/pl": {"count", 1e3},
	"10*6/l": {"count", 1e-3}, "/ul": {"count", 1e-3}, "/mm3": {"count", 1e-3},

	"kpa": {"pressure", 1}, "mm[hg]": {"pressure", 0.133322}, "mmhg": {"pressure", 0.133322},

	"s": {"time", 1}, "sec": {"time", 1}, "min": {"time", 60},

	"%": {"percent", 1},

	// Equivalents convert to moles by the ion's charge: only a rule's own conversion can.
	"meq/l": {"equivalent", 1}, "mmol(eq)/l": {"equivalent", 1},

	"1": {"one", 1}, "{inr}": {"one", 1}, "inr": {"one", 1}, "[ph]": {"one", 1}, "ph": {"one", 1},
	"{ratio}": {"one", 1}, "ratio": {"one", 1},
}

// normUnit makes the spellings labs send comparable: case, spaces, ^ and × for powers of ten,
// µ/μ for micro.
func normUnit(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = unitSpelling.Replace(s)
	return strings.TrimPrefix(s, "x") // "x10^9/L"
}

var unitSpelling = strings.NewReplacer(" ", "", "^", "*", "×", "", "µ", "u", "μ", "u")

func lookupUnit(s string) (unit, bool) {
	u, ok := units[normUnit(s)]
	return u, ok
}

func knownUnits() string {
	return strings.Join(slices.Sorted(maps.Keys(units)), " ")
}

// convert expresses value v, in unit from ("" when the value has none), in the rule's unit.
// ok is false with the reason when it cannot.
func (r *Rule) convert(v float64, from string) (float64, string) {
	to, _ := lookupUnit(r.Unit)
	if strings.TrimSpace(from) == "" {
		if to.dim == "one" {
			return v, ""
		}
		return 0, "no unit: the rule's limits are in " + r.Unit
	}
	fu, ok := lookupUnit(from)
	if !ok {
		return 0, "unknown unit " + from + ": cannot compare with limits in " + r.Unit
	}
	if fu.dim == to.dim {
		return v * fu.factor / to.factor, ""
	}
	for _, c := range r.Conversions {
		cu, _ := lookupUnit(c.From)
		if cu.dim == fu.dim {
			return v * fu.factor / cu.factor * c.Factor, ""
		}
	}
	return 0, "unit " + from + " does not convert to " + r.Unit
}
