package codemap

import (
	"encoding/json"
	"fmt"
)

// BaseURL is the canonical base of the ConceptMaps Lujing serves; a map's url is BaseURL/<id>.
const BaseURL = "http://lujing.example/fhir/ConceptMap"

// The R4 ConceptMap elements a Map fills, in the JSON form of the spec.
type conceptMap struct {
	ResourceType string    `json:"resourceType"`
	ID           string    `json:"id"`
	URL          string    `json:"url"`
	Version      string    `json:"version"`
	Name         string    `json:"name"`
	Title        string    `json:"title,omitempty"`
	Status       string    `json:"status"`
	Group        []cmGroup `json:"group"`
}

type cmGroup struct {
	Source  string      `json:"source"`
	Target  string      `json:"target"`
	Element []cmElement `json:"element"`
}

type cmElement struct {
	Code    string     `json:"code"`
	Display string     `json:"display,omitempty"`
	Target  []cmTarget `json:"target"`
}

type cmTarget struct {
	Code        string `json:"code,omitempty"`
	Display     string `json:"display,omitempty"`
	Equivalence string `json:"equivalence"`
	Comment     string `json:"comment,omitempty"`
}

// ConceptMap returns the map as an R4 ConceptMap resource in JSON.
func (m *Map) ConceptMap() ([]byte, error) {
	cm := conceptMap{ResourceType: "ConceptMap", ID: m.ID, URL: BaseURL + "/" + m.ID, Version: m.Version,
		Name: computableName(m.ID), Title: m.Title, Status: m.Status}
	for _, g := range m.Groups {
		cg := cmGroup{Source: g.Source, Target: g.Target}
		for _, e := range g.Elements {
			ce := cmElement{Code: e.Code, Display: e.Display}
			for _, t := range e.Targets {
				ce.Target = append(ce.Target, cmTarget{Code: t.Code, Display: t.Display, Equivalence: string(t.Equivalence), Comment: t.Comment})
			}
			cg.Element = append(cg.Element, ce)
		}
		cm.Group = append(cm.Group, cg)
	}
	b, err := json.MarshalIndent(cm, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("codemap: encode %s as ConceptMap: %w", m.ID, err)
	}
	return b, nil
}

// computableName makes the ConceptMap.name a machine can use (the R4 invariant cmd-0 asks
// for [A-Z]([A-Za-z0-9_]){0,254}) from the id: "lis-local-loinc" → "LisLocalLoinc".
func computableName(id string) string {
	var b []byte
	upper := true
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c == '-' || c == '.':
			upper = true
			continue
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		upper = false
		b = append(b, c)
	}
	if len(b) == 0 || b[0] < 'A' || b[0] > 'Z' {
		b = append([]byte("Map"), b...)
	}
	return string(b)
}
