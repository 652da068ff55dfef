package quality

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// Count is the sum of the rows of one indicator and stratum (the store's GROUP BY).
type Count struct {
	Hospital, Department, Setting          string
	Rows, Denominator, Numerator, Excluded int64
}

// Value is one value of a continuous indicator with its stratum.
type Value struct {
	Hospital, Department, Setting string
	Value                         float64
}

// Evidence says whether the indicator ever had rows, and numerator rows, for the hospital(s)
// asked about: without them it is "insufficient data", never 0.
type Evidence struct{ Rows, Numerator bool }

// Period is the half-open interval [From, To) a result covers.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Statuses of a result.
const (
	StatusOK           = "ok"
	StatusInsufficient = "insufficient-data"
)

// Result is one indicator over a period: what the API serves for
// /api/v1/quality/indicators/{id} and each entry of the report.
type Result struct {
	ID         string `json:"id"`
	Title      Text   `json:"title"`
	Period     Period `json:"period"`
	Hospital   string `json:"hospital,omitempty"`
	Department string `json:"department,omitempty"`
	Setting    string `json:"setting,omitempty"`
	Scoring    string `json:"scoring"`
	// InitialPopulation counts every row: the denominator, the exclusions, and for a ratio
	// the numerator rows that are not in the denominator.
	InitialPopulation int64 `json:"initial_population"`
	Numerator         int64 `json:"numerator"`
	Denominator       int64 `json:"denominator"`
	Excluded          int64 `json:"excluded"`
	// Value is in Unit: a percentage, per mille, per 100 discharges, or the median minutes;
	// null when the denominator is 0 or the data is insufficient.
	Value       *float64 `json:"value"`
	Unit        string   `json:"unit"`
	Improvement string   `json:"improvement_notation"`
	Target      *Target  `json:"target"`
	Met         *bool    `json:"met"`
	Status      string   `json:"status"`
	// Missing says what the hospital does not send, when Status is insufficient-data.
	Missing *Text `json:"missing,omitempty"`
	// Note explains an aggregate: a median not added up, hospitals left out.
	Note   string    `json:"note,omitempty"`
	Strata []Stratum `json:"strata"`
	// Hospitals are the per-hospital figures of an aggregate (lujing report).
	Hospitals []Stratum `json:"hospitals,omitempty"`
}

// Stratum is a result's figures for one department and care setting (or one hospital).
type Stratum struct {
	Hospital          string   `json:"hospital,omitempty"`
	Department        string   `json:"department"`
	Setting           string   `json:"setting"`
	InitialPopulation int64    `json:"initial_population"`
	Numerator         int64    `json:"numerator"`
	Denominator       int64    `json:"denominator"`
	Excluded          int64    `json:"excluded"`
	Value             *float64 `json:"value"`
	Met               *bool    `json:"met"`
	Status            string   `json:"status,omitempty"`
}

// Summarize computes an indicator's result from its counts and, for a continuous one, its
// values (any order), over the period.
func Summarize(ind Indicator, p Period, counts []Count, values []Value, ev Evidence) Result {
	r := Result{ID: ind.ID, Title: ind.Title, Period: Period{p.From.UTC(), p.To.UTC()}, Scoring: ind.Scoring, Unit: ind.Unit,
		Improvement: ind.Improvement, Target: ind.Target, Status: StatusOK, Strata: []Stratum{}}
	insufficient := !ev.Rows || ind.NeedsNumerator && !ev.Numerator
	if insufficient {
		r.Status = StatusInsufficient
		missing := ind.Requires
		r.Missing = &missing
	}
	strata := map[[2]string]*Stratum{}
	var vals []float64
	byStratum := map[[2]string][]float64{}
	for _, c := range counts {
		r.InitialPopulation += c.Rows
		r.Numerator += c.Numerator
		r.Denominator += c.Denominator
		r.Excluded += c.Excluded
		k := [2]string{c.Department, c.Setting}
		s := strata[k]
		if s == nil {
			s = &Stratum{Department: c.Department, Setting: c.Setting}
			strata[k] = s
		}
		s.InitialPopulation += c.Rows
		s.Numerator += c.Numerator
		s.Denominator += c.Denominator
		s.Excluded += c.Excluded
	}
	for _, v := range values {
		vals = append(vals, v.Value)
		k := [2]string{v.Department, v.Setting}
		byStratum[k] = append(byStratum[k], v.Value)
	}
	value := func(num, den int64, vs []float64) *float64 {
		if insufficient {
			return nil
		}
		if ind.Scoring == Continuous {
			return Median(vs)
		}
		return rate(num, den, ind.Scale())
	}
	r.Value = value(r.Numerator, r.Denominator, vals)
	r.Met = met(r.Target, r.Value)
	for _, k := range sortedStrata(strata) {
		s := strata[k]
		s.Value = value(s.Numerator, s.Denominator, byStratum[k])
		s.Met = met(r.Target, s.Value)
		r.Strata = append(r.Strata, *s)
	}
	return r
}

func sortedStrata(m map[[2]string]*Stratum) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	return keys
}

// rate is num/den × scale, rounded to 4 decimals; nil for an empty denominator.
func rate(num, den int64, scale float64) *float64 {
	if den == 0 {
		return nil
	}
	v := math.Round(float64(num)/float64(den)*scale*1e4) / 1e4
	return &v
}

func met(t *Target, v *float64) *bool {
	if t == nil || v == nil {
		return nil
	}
	ok := t.Met(*v)
	return &ok
}

// Median is the median of xs (any order), nil for none: the middle value, or the mean of the
// two middle ones.
func Median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	m = math.Round(m*1e4) / 1e4
	return &m
}

// scaleOf is the scale of a unit (what a proportion is multiplied by).
func scaleOf(unit string) float64 {
	ind := Indicator{Unit: unit}
	return ind.Scale()
}

// Source is one hospital's report, for Aggregate.
type Source struct {
	Name    string
	Results []Result
}

// Aggregate adds up several hospitals' reports of one period into one table: numerators,
// denominators, exclusions and strata are summed and the value computed again from the sums
// — rates are never averaged. A hospital whose result is insufficient data is left out of
// the sums (and named in the note); a median cannot be added up from medians, so an
// aggregated continuous indicator has no value and keeps each hospital's median under
// Hospitals.
func Aggregate(sources []Source) []Result {
	var order []string
	byID := map[string][]struct {
		name string
		r    Result
	}{}
	for _, src := range sources {
		for _, r := range src.Results {
			if _, ok := byID[r.ID]; !ok {
				order = append(order, r.ID)
			}
			byID[r.ID] = append(byID[r.ID], struct {
				name string
				r    Result
			}{src.Name, r})
		}
	}
	var out []Result
	for _, id := range order {
		list := byID[id]
		first := list[0].r
		agg := Result{ID: id, Title: first.Title, Period: first.Period, Scoring: first.Scoring, Unit: first.Unit, Improvement: first.Improvement,
			Target: first.Target, Status: StatusInsufficient, Strata: []Stratum{}, Hospitals: []Stratum{}}
		strata := map[[2]string]*Stratum{}
		var left []string
		for _, x := range list {
			h := Stratum{Hospital: x.name, InitialPopulation: x.r.InitialPopulation, Numerator: x.r.Numerator, Denominator: x.r.Denominator,
				Excluded: x.r.Excluded, Value: x.r.Value, Met: x.r.Met, Status: x.r.Status}
			agg.Hospitals = append(agg.Hospitals, h)
			if x.r.Status != StatusOK {
				left = append(left, x.name)
				if agg.Missing == nil {
					agg.Missing = x.r.Missing
				}
				continue
			}
			agg.Status = StatusOK
			agg.InitialPopulation += x.r.InitialPopulation
			agg.Numerator += x.r.Numerator
			agg.Denominator += x.r.Denominator
			agg.Excluded += x.r.Excluded
			for _, s := range x.r.Strata {
				k := [2]string{s.Department, s.Setting}
				t := strata[k]
				if t == nil {
					t = &Stratum{Department: s.Department, Setting: s.Setting}
					strata[k] = t
				}
				t.InitialPopulation += s.InitialPopulation
				t.Numerator += s.Numerator
				t.Denominator += s.Denominator
				t.Excluded += s.Excluded
			}
		}
		var notes []string
		if agg.Status == StatusOK {
			agg.Missing = nil
			if len(left) > 0 {
				notes = append(notes, "insufficient data from "+strings.Join(left, ", ")+": left out of the sums")
			}
		}
		if agg.Scoring == Continuous {
			notes = append(notes, "a median is not added up across hospitals: see each hospital's")
		} else if agg.Status == StatusOK {
			agg.Value = rate(agg.Numerator, agg.Denominator, scaleOf(agg.Unit))
			agg.Met = met(agg.Target, agg.Value)
		}
		for _, k := range sortedStrata(strata) {
			s := strata[k]
			if agg.Scoring != Continuous {
				s.Value = rate(s.Numerator, s.Denominator, scaleOf(agg.Unit))
				s.Met = met(agg.Target, s.Value)
			}
			agg.Strata = append(agg.Strata, *s)
		}
		agg.Note = strings.Join(notes, "; ")
		out = append(out, agg)
	}
	return out
}
