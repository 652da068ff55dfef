package quality

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// MeasureBase is the base of the Measure canonical URLs.
const MeasureBase = "http://lujing.example/fhir/Measure/"

// Code systems of the FHIR views.
const (
	scoringSystem     = "http://terminology.hl7.org/CodeSystem/measure-scoring"
	improvementSystem = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
	populationSystem  = "http://terminology.hl7.org/CodeSystem/measure-population"
	ucum              = "http://unitsofmeasure.org"
	// AggregateMethodURL is the CQF measures extension naming how a continuous-variable
	// measure's observations are aggregated (here: median).
	AggregateMethodURL  = "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-aggregateMethod"
	dataAbsentReasonURL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
	stratifierSystem    = "http://lujing.example/fhir/CodeSystem/qc-stratifier"
)

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type extension struct {
	URL       string `json:"url"`
	ValueCode string `json:"valueCode,omitempty"`
}

type expression struct {
	Language   string `json:"language"`
	Expression string `json:"expression"`
}

type measurePopulation struct {
	Extension   []extension `json:"extension,omitempty"`
	Code        concept     `json:"code"`
	Description string      `json:"description,omitempty"`
	Criteria    expression  `json:"criteria"`
}

type measureStratifierComponent struct {
	Code     concept    `json:"code"`
	Criteria expression `json:"criteria"`
}

type measureStratifier struct {
	Code      concept                      `json:"code"`
	Component []measureStratifierComponent `json:"component"`
}

type measureGroup struct {
	Population []measurePopulation `json:"population"`
	Stratifier []measureStratifier `json:"stratifier"`
}

// Measure is the FHIR R4 Measure of an indicator.
type Measure struct {
	ResourceType        string         `json:"resourceType"`
	ID                  string         `json:"id"`
	URL                 string         `json:"url"`
	Version             string         `json:"version"`
	Name                string         `json:"name"`
	Title               string         `json:"title"`
	Status              string         `json:"status"`
	Experimental        bool           `json:"experimental"`
	Publisher           string         `json:"publisher"`
	Description         string         `json:"description"`
	Scoring             concept        `json:"scoring"`
	RationaleTarget     string         `json:"guidance,omitempty"`
	ImprovementNotation concept        `json:"improvementNotation"`
	Group               []measureGroup `json:"group"`
}

func pop(code, desc, expr string) measurePopulation {
	return measurePopulation{Code: concept{Coding: []coding{{System: populationSystem, Code: code}}}, Description: desc,
		Criteria: expression{Language: "text/cql", Expression: `"` + expr + `"`}}
}

// MeasureOf returns the Measure of ind; version is the settings' (targets live there).
func MeasureOf(ind Indicator, version string) Measure {
	m := Measure{ResourceType: "Measure", ID: ind.ID, URL: MeasureBase + ind.ID, Version: version, Name: pascal(ind.ID),
		Title: ind.Title.Zh + " / " + ind.Title.En, Status: "active", Publisher: "Lujing",
		Description: fmt.Sprintf("%s\n\nNumerator 分子: %s / %s\nDenominator 分母: %s / %s\nExclusions 排除: %s / %s\nTime dimension: %s; unit: %s",
			ind.Title.En, ind.Numerator.Zh, ind.Numerator.En, ind.Denominator.Zh, ind.Denominator.En, ind.Exclusions.Zh, ind.Exclusions.En, ind.Time, ind.Unit),
		Scoring:             concept{Coding: []coding{{System: scoringSystem, Code: ind.Scoring}}},
		ImprovementNotation: concept{Coding: []coding{{System: improvementSystem, Code: ind.Improvement}}}}
	if ind.Target != nil {
		m.RationaleTarget = fmt.Sprintf("Target 目标: %s %s", ind.Target, ind.Unit)
	}
	g := measureGroup{}
	if ind.Scoring == Continuous {
		obs := pop("measure-observation", ind.Numerator.En, "Measure Observation")
		obs.Extension = []extension{{URL: AggregateMethodURL, ValueCode: "median"}}
		g.Population = []measurePopulation{
			pop("initial-population", ind.Denominator.En+" and those excluded", "Initial Population"),
			pop("measure-population", ind.Denominator.En, "Measure Population"),
			pop("measure-population-exclusion", ind.Exclusions.En, "Measure Population Exclusion"),
			obs,
		}
	} else {
		g.Population = []measurePopulation{
			pop("initial-population", ind.Denominator.En+" and those excluded", "Initial Population"),
			pop("denominator", ind.Denominator.En, "Denominator"),
			pop("denominator-exclusion", ind.Exclusions.En, "Denominator Exclusion"),
			pop("numerator", ind.Numerator.En, "Numerator"),
		}
	}
	g.Stratifier = []measureStratifier{{Code: concept{Text: "department and care setting"}, Component: []measureStratifierComponent{
		{Code: concept{Coding: []coding{{System: stratifierSystem, Code: "department"}}}, Criteria: expression{Language: "text/cql", Expression: `"Department"`}},
		{Code: concept{Coding: []coding{{System: stratifierSystem, Code: "setting"}}}, Criteria: expression{Language: "text/cql", Expression: `"Care Setting"`}},
	}}}
	m.Group = []measureGroup{g}
	return m
}

// pascal makes a computable name: "cv-notification-rate" → "CvNotificationRate".
func pascal(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		if r == '-' {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

type quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	System string  `json:"system"`
	Code   string  `json:"code"`
}

type reportPopulation struct {
	Code  concept `json:"code"`
	Count int64   `json:"count"`
}

type stratumComponent struct {
	Code  concept `json:"code"`
	Value concept `json:"value"`
}

type stratum struct {
	Component    []stratumComponent `json:"component"`
	Population   []reportPopulation `json:"population"`
	MeasureScore *quantity          `json:"measureScore,omitempty"`
}

type reportStratifier struct {
	Code    []concept `json:"code"`
	Stratum []stratum `json:"stratum,omitempty"`
}

type reportGroup struct {
	Extension    []extension        `json:"extension,omitempty"`
	Population   []reportPopulation `json:"population"`
	MeasureScore *quantity          `json:"measureScore,omitempty"`
	Stratifier   []reportStratifier `json:"stratifier"`
}

type period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// MeasureReport is a FHIR R4 summary MeasureReport.
type MeasureReport struct {
	ResourceType        string        `json:"resourceType"`
	ID                  string        `json:"id,omitempty"`
	Status              string        `json:"status"`
	Type                string        `json:"type"`
	Measure             string        `json:"measure"`
	Date                string        `json:"date"`
	Period              period        `json:"period"`
	ImprovementNotation concept       `json:"improvementNotation"`
	Group               []reportGroup `json:"group"`
}

// ucumOf is the UCUM code of a unit.
func ucumOf(unit string) (string, string) {
	switch unit {
	case UnitPercent:
		return "%", "%"
	case UnitPermille:
		return "‰", "[ppth]"
	case UnitPer100:
		return "per 100 discharges", "/100{discharges}"
	case UnitMinutes:
		return "min", "min"
	}
	return unit, "1"
}

func score(v *float64, unit string) *quantity {
	if v == nil {
		return nil
	}
	u, code := ucumOf(unit)
	return &quantity{Value: *v, Unit: u, System: ucum, Code: code}
}

func populations(scoring string, initial, den, excl, num int64) []reportPopulation {
	p := func(code string, n int64) reportPopulation {
		return reportPopulation{Code: concept{Coding: []coding{{System: populationSystem, Code: code}}}, Count: n}
	}
	if scoring == Continuous {
		return []reportPopulation{p("initial-population", initial), p("measure-population", den+excl), p("measure-population-exclusion", excl), p("measure-observation", den)}
	}
	// FHIR counts the denominator before its exclusions: score = numerator / (denominator − exclusions).
	return []reportPopulation{p("initial-population", initial), p("denominator", den+excl), p("denominator-exclusion", excl), p("numerator", num)}
}

// ReportOf is the summary MeasureReport of a result; version is the Measure's.
func ReportOf(r Result, version string, now time.Time) MeasureReport {
	end := r.Period.To.Add(-time.Second)
	mr := MeasureReport{ResourceType: "MeasureReport", ID: r.ID + "-" + r.Period.From.UTC().Format("20060102") + "-" + end.UTC().Format("20060102"),
		Status: "complete", Type: "summary", Measure: MeasureBase + r.ID + "|" + version, Date: now.UTC().Format(time.RFC3339),
		Period:              period{Start: r.Period.From.UTC().Format(time.RFC3339), End: end.UTC().Format(time.RFC3339)},
		ImprovementNotation: concept{Coding: []coding{{System: improvementSystem, Code: r.Improvement}}}}
	g := reportGroup{Population: populations(r.Scoring, r.InitialPopulation, r.Denominator, r.Excluded, r.Numerator), MeasureScore: score(r.Value, r.Unit)}
	if r.Scoring == Continuous {
		g.Extension = append(g.Extension, extension{URL: AggregateMethodURL, ValueCode: "median"})
	}
	if r.Status == StatusInsufficient {
		g.Extension = append(g.Extension, extension{URL: dataAbsentReasonURL, ValueCode: "unknown"})
	}
	st := reportStratifier{Code: []concept{{Text: "department and care setting"}}}
	for _, s := range r.Strata {
		st.Stratum = append(st.Stratum, stratum{
			Component: []stratumComponent{
				{Code: concept{Coding: []coding{{System: stratifierSystem, Code: "department"}}}, Value: concept{Text: cmpOr(s.Department, "(unknown)")}},
				{Code: concept{Coding: []coding{{System: stratifierSystem, Code: "setting"}}}, Value: concept{Text: cmpOr(s.Setting, "(unknown)")}},
			},
			Population:   populations(r.Scoring, s.InitialPopulation, s.Denominator, s.Excluded, s.Numerator),
			MeasureScore: score(s.Value, r.Unit),
		})
	}
	g.Stratifier = []reportStratifier{st}
	mr.Group = []reportGroup{g}
	return mr
}

// Bundle is a collection Bundle of MeasureReports: the whole report in FHIR.
func Bundle(results []Result, version string, now time.Time) ([]byte, error) {
	type entry struct {
		FullURL  string        `json:"fullUrl"`
		Resource MeasureReport `json:"resource"`
	}
	b := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Timestamp    string  `json:"timestamp"`
		Entry        []entry `json:"entry"`
	}{ResourceType: "Bundle", Type: "collection", Timestamp: now.UTC().Format(time.RFC3339), Entry: []entry{}}
	for _, r := range results {
		mr := ReportOf(r, version, now)
		b.Entry = append(b.Entry, entry{FullURL: "urn:uuid:" + uuidOf(mr.ID), Resource: mr})
	}
	return json.Marshal(b)
}

// uuidOf is a name-based identifier for a fullUrl (the reports are not stored).
func uuidOf(s string) string {
	h := recordID("", s)[3:] // 16 hex digits
	h = h + h
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
