package hl7v2_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/bundle"
	"github.com/lujing-health/lujing/mapping/codemap"
)

// seg writes a segment with the fields at their numbers: seg("PV1", 2, "I", 19, "V1").
func seg(name string, kv ...any) string {
	fields := map[int]string{}
	n := 0
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(int)
		fields[k] = kv[i+1].(string)
		n = max(n, k)
	}
	parts := []string{name}
	start := 1
	if name == "MSH" {
		// MSH-1 is the separator and MSH-2 the encoding characters, written by msh.
		start = 3
		parts = append(parts, `^~\&`)
	}
	for i := start; i <= n; i++ {
		parts = append(parts, fields[i])
	}
	return strings.Join(parts, "|")
}

// msh is a header: type "ORU^R01^ORU_R01", control id, and further fields by number.
func msh(typ, control string, kv ...any) string {
	base := []any{3, "LIS", 4, "HOSP", 5, "LUJING", 6, "HOSP", 7, "20260301083000", 9, typ, 10, control, 11, "P", 12, "2.5.1"}
	return seg("MSH", append(base, kv...)...)
}

func message(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

// Patient 张三, MRN 0001000123, on visit V20260301001 in the GI surgery ward.
var (
	pidZhang = seg("PID", 1, "1", 3, "0001000123^^^HOSP^MR~110101196001010011^^^CHN^NI", 5, "张^三", 7, "19600101", 8, "M")
	pv1GI    = seg("PV1", 1, "1", 2, "I", 3, "GI-WARD^^12^HOSP", 4, "E", 7, "D001^李^四", 10, "GI-SURG^胃肠外科", 19, "V20260301001", 44, "20260301070000")
)

// criticalPotassium is an ORU^R01 with a potassium of 6.8 mmol/L flagged HH.
func criticalPotassium(control string) []byte {
	return message(
		msh("ORU^R01^ORU_R01", control),
		pidZhang,
		pv1GI,
		seg("ORC", 1, "RE", 2, "ORD-1", 3, "LAB-1"),
		seg("OBR", 1, "1", 2, "ORD-1", 3, "LAB-1", 4, "2823-3^Potassium^LN", 7, "20260301080000", 16, "D001^李^四", 22, "20260301082500", 24, "CH", 25, "F"),
		seg("OBX", 1, "1", 2, "NM", 3, "2823-3^Potassium^LN^K^钾^L", 5, "6.8", 6, "mmol/L^^UCUM", 7, "3.5-5.5", 8, "HH", 11, "F", 14, "20260301080000"),
	)
}

func adt(event, control string, extra ...string) []byte {
	segs := []string{msh("ADT^"+event+"^ADT_A01", control, 3, "HIS"), seg("EVN", 1, event, 2, "20260301090000"), pidZhang}
	return message(append(segs, extra...)...)
}

// memStore keeps resolved Bundle entries: what the intake would store, for the mapper to read.
type memStore struct {
	bodies  map[string][]byte
	version map[string]int
	idents  map[string]string // type|system|value → id
}

func newMemStore() *memStore {
	return &memStore{bodies: map[string][]byte{}, version: map[string]int{}, idents: map[string]string{}}
}

func (s *memStore) Get(_ context.Context, typ, id string) ([]byte, bool, error) {
	b, ok := s.bodies[typ+"/"+id]
	return b, ok, nil
}

func (s *memStore) LookupIdentifier(_ context.Context, typ, system, value string) (string, error) {
	return s.idents[typ+"|"+system+"|"+value], nil
}

// stored is one resource the intake would have stored.
type stored struct {
	typ, id string
	version int
	body    []byte
}

// accept resolves the Bundle as the intake does and stores its entries.
func (s *memStore) accept(t *testing.T, raw []byte) []stored {
	t.Helper()
	b, err := bundle.Parse(raw, bundle.Limits{})
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	if err := b.Resolve(context.Background(), s); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if e := b.FirstError(); e != nil {
		t.Fatalf("entry refused: %v", e)
	}
	var out []stored
	for _, e := range b.Entries {
		if e.Exists {
			continue
		}
		ref := e.Type + "/" + e.ID
		if string(s.bodies[ref]) == string(e.Body) {
			continue
		}
		s.bodies[ref] = e.Body
		s.version[ref]++
		for _, id := range e.Resource.Identifiers {
			s.idents[e.Type+"|"+id.System+"|"+id.Value] = e.ID
		}
		out = append(out, stored{e.Type, e.ID, s.version[ref], e.Body})
	}
	return out
}

// mapper is the clinical mapper with the embedded profiles and an empty lab code map.
func mapper(t *testing.T, res mapping.Resources) *mapping.Clinical {
	t.Helper()
	profiles, err := profile.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	var maps []*codemap.Map
	for _, p := range profiles {
		for _, id := range p.CodeMaps {
			if !slices.ContainsFunc(maps, func(m *codemap.Map) bool { return m.ID == id }) {
				maps = append(maps, &codemap.Map{ID: id})
			}
		}
	}
	m, err := mapping.New(res, mapping.Options{Profiles: profiles, CodeMaps: maps})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// events parses, maps to FHIR, stores and maps to clinical events one message from source.
func events(t *testing.T, st *memStore, source string, raw []byte) []mapping.Event {
	t.Helper()
	m, err := hl7v2.Parse(raw, hl7v2.ParseOptions{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	res, err := hl7v2.ToFHIR(m, hl7v2.Options{Sender: source})
	if err != nil {
		t.Fatalf("to FHIR: %v", err)
	}
	checkBundle(t, m.TypeString(), res.Bundle)
	cm := mapper(t, st)
	var out []mapping.Event
	for _, r := range st.accept(t, res.Bundle) {
		got, err := cm.Map(context.Background(), mapping.Input{Type: r.typ, ID: r.id, Version: r.version, Body: r.body, Source: source})
		if err != nil {
			t.Fatalf("map %s/%s: %v", r.typ, r.id, err)
		}
		out = append(out, got.Events...)
	}
	return out
}

func kinds(evs []mapping.Event) string {
	var k []string
	for _, e := range evs {
		k = append(k, e.Kind)
	}
	return strings.Join(k, ",")
}

func only(t *testing.T, evs []mapping.Event, kind string, data any) mapping.Event {
	t.Helper()
	var found []mapping.Event
	for _, e := range evs {
		if e.Kind == kind {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s event, got %s", kind, kinds(evs))
	}
	if err := json.Unmarshal(found[0].Data, data); err != nil {
		t.Fatal(err)
	}
	return found[0]
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return fmt.Sprint(string(b))
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
