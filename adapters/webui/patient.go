package webui

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/lujing-health/lujing/adapters/store"
)

// patientInfo is how a page shows a patient: never the full identifiers by default.
type patientInfo struct {
	Ref  string // "Patient/x", for links and audit only, never shown
	Name string // masked (周*) unless the viewer asked for full names
	MRN  string // the last 4 characters of the medical record number: …1234
	Bed  string
	Ward string
}

// maskName keeps the first character (the family name, in Chinese order) and hides the rest.
func maskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	switch len(r) {
	case 0:
		return "—"
	case 1:
		return string(r) + "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

// maskMRN shows the last 4 characters of a record number.
func maskMRN(mrn string) string {
	r := []rune(strings.TrimSpace(mrn))
	if len(r) == 0 {
		return "—"
	}
	if len(r) <= 4 {
		return "…" + string(r)
	}
	return "…" + string(r[len(r)-4:])
}

type fhirCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type fhirPatient struct {
	Name []struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
	Identifier []struct {
		Type struct {
			Coding []fhirCoding `json:"coding"`
		} `json:"type"`
		Value string `json:"value"`
	} `json:"identifier"`
}

type fhirEncounter struct {
	Location []struct {
		Location struct {
			Display string `json:"display"`
		} `json:"location"`
		Status       string `json:"status"`
		PhysicalType struct {
			Coding []fhirCoding `json:"coding"`
		} `json:"physicalType"`
	} `json:"location"`
}

// patients reads and caches the patients a page shows.
type patients struct {
	st    Store
	full  bool
	cache map[string]patientInfo
}

func newPatients(st Store, full bool) *patients {
	return &patients{st: st, full: full, cache: map[string]patientInfo{}}
}

// get returns how to show the patient of a record, with the bed of its encounter. A patient
// whose resource is missing shows as "—" (the record still lists).
func (ps *patients) get(ctx context.Context, patientRef, encounterRef string) (patientInfo, error) {
	key := patientRef + "|" + encounterRef
	if p, ok := ps.cache[key]; ok {
		return p, nil
	}
	p := patientInfo{Ref: patientRef, Name: "—", MRN: "—"}
	if typ, id, ok := strings.Cut(patientRef, "/"); ok && typ == "Patient" {
		res, err := ps.st.Resource(ctx, "Patient", id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return p, err
		case !res.Deleted:
			var fp fhirPatient
			if json.Unmarshal(res.Body, &fp) == nil {
				name, mrn := patientName(fp), patientMRN(fp)
				if ps.full {
					p.Name = name
				} else {
					p.Name = maskName(name)
				}
				p.MRN = maskMRN(mrn)
			}
		}
	}
	if typ, id, ok := strings.Cut(encounterRef, "/"); ok && typ == "Encounter" {
		res, err := ps.st.Resource(ctx, "Encounter", id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return p, err
		case !res.Deleted:
			var fe fhirEncounter
			if json.Unmarshal(res.Body, &fe) == nil {
				for _, l := range fe.Location {
					for _, c := range l.PhysicalType.Coding {
						switch c.Code {
						case "bd":
							p.Bed = l.Location.Display
						case "wa":
							p.Ward = l.Location.Display
						}
					}
				}
			}
		}
	}
	if p.Bed == "" {
		p.Bed = "—"
	}
	ps.cache[key] = p
	return p, nil
}

func patientName(fp fhirPatient) string {
	for _, n := range fp.Name {
		if n.Text != "" {
			return n.Text
		}
		if n.Family != "" || len(n.Given) > 0 {
			return n.Family + strings.Join(n.Given, "")
		}
	}
	return ""
}

func patientMRN(fp fhirPatient) string {
	for _, id := range fp.Identifier {
		for _, c := range id.Type.Coding {
			if c.Code == "MR" {
				return id.Value
			}
		}
	}
	return ""
}
