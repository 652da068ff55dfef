package clinicalpath_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/mapping/yamldoc"
	"github.com/lujing-health/lujing/pathways/clinicalpath"
)

func TestLibrary(t *testing.T) {
	files, err := filepath.Glob("library/*.yaml")
	if err != nil || len(files) != 3 {
		t.Fatalf("library files %v (%v)", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if errs := clinicalpath.Check(f, data); len(errs) > 0 {
			t.Errorf("%s: %v", f, errors.Join(errs...))
		}
		if !strings.Contains(string(data), "local codes") && !strings.Contains(string(data), "own codes") {
			t.Errorf("%s does not say where a hospital puts its local codes", f)
		}
	}
	want := map[string]string{"colon-cancer-radical-resection": "C18", "stemi": "I21.0", "acute-simple-appendicitis": "K35"}
	for _, d := range clinicalpath.Library() {
		if d.Title.Zh == "" || d.Title.En == "" || d.Version == "" {
			t.Errorf("%s: title %+v version %q", d.ID, d.Title, d.Version)
		}
		if p, ok := want[d.ID]; !ok || d.Entry.Diagnoses[0].Prefixes[0] != p {
			t.Errorf("unexpected pathway %s %+v", d.ID, d.Entry.Diagnoses)
		}
		delete(want, d.ID)
	}
	if len(want) > 0 {
		t.Errorf("missing from the library: %v", want)
	}
}

// A minimal valid definition that the bad cases below break one thing of.
const good = `id: p1
version: "1"
title: {zh: 测试路径, en: Test pathway}
entry:
  diagnoses:
    - {system: http://hl7.org/fhir/sid/icd-10, prefixes: [K35]}
standard_stay: {min: 1, max: 7}
stages:
  - id: s1
    title: {zh: 第1天, en: Day 1}
    anchor: admission
    from: "0"
    to: 2d
    items:
      - id: i1
        title: {zh: 血常规, en: Blood count}
        kind: test
        due: 24h
        evidence:
          - {resource: Observation, system: http://loinc.org, codes: [718-7]}
  - id: s2
    title: {zh: 第3天, en: Day 3}
    anchor: admission
    from: 2d
    to: 3d
    items:
      - id: i2
        title: {zh: 查房, en: Round}
        kind: round
        due: 3d
        evidence:
          - {resource: DocumentReference, documents: [round-attending]}
`

func TestCheckErrors(t *testing.T) {
	if errs := clinicalpath.Check("good.yaml", []byte(good)); len(errs) > 0 {
		t.Fatalf("the good case has errors: %v", errs)
	}
	for _, tc := range []struct {
		name, old, new string
		want           string // "line: field: problem" as yamldoc.Error writes it after the file
	}{
		{"unknown item kind", "kind: test", "kind: lab", "17: stages[0].items[0].kind: unknown item kind \"lab\""},
		{"overlapping stages", "from: 2d\n    to: 3d", "from: 1d\n    to: 3d", "24: stages[1].from: the window overlaps stage \"s1\""},
		{"window backwards", "from: 2d\n    to: 3d", "from: 2d\n    to: 1d", "25: stages[1].to: the window ends (1d) at or before it starts (2d)"},
		{"code list without system", "{resource: Observation, system: http://loinc.org, codes: [718-7]}", "{resource: Observation, codes: [718-7]}", "20: stages[0].items[0].evidence[0].system: the code list names no code system"},
		{"unknown anchor", "anchor: admission\n    from: 2d", "anchor: transfer\n    from: 2d", "23: stages[1].anchor: unknown anchor \"transfer\""},
		{"deadline outside its stage", "due: 24h", "due: 3d", "18: stages[0].items[0].due: the deadline 3d is outside its stage's window 0…2d from the admission"},
		{"unknown document kind", "documents: [round-attending]", "documents: [ward-round]", "32: stages[1].items[0].evidence[0].documents[0]: unknown document kind \"ward-round\""},
		{"surgeon author outside surgery", "documents: [round-attending]}", "documents: [round-attending], author: surgeon}", "32: stages[1].items[0].evidence[0].author: author surgeon needs a stage anchored at the surgery"},
		{"bad offset", "due: 24h", "due: 24 hours", "18: stages[0].items[0].due: \"24 hours\" is not an offset"},
		{"unknown field", "kind: test", "kind: test\n        color: red", "18: stages[0].items[0].color: unknown field"},
		{"missing english title", "title: {zh: 血常规, en: Blood count}", "title: {zh: 血常规}", "16: stages[0].items[0].title.en: required"},
		{"required item without deadline", "        due: 24h\n", "", "15: stages[0].items[0].due: a required item needs a deadline"},
		{"no evidence", "        evidence:\n          - {resource: Observation, system: http://loinc.org, codes: [718-7]}\n", "", "15: stages[0].items[0].evidence: required"},
		{"anchors out of order", "anchor: admission\n    from: 2d\n    to: 3d", "anchor: discharge\n    from: -1d\n    to: \"0\"\n  - id: s3\n    title: {zh: 术后, en: Post-op}\n    anchor: surgery\n    from: \"0\"\n    to: 1d", ""},
		{"stay backwards", "{min: 1, max: 7}", "{min: 9, max: 7}", "7: standard_stay: min 9 and max 7 days are not a stay"},
		{"unversioned", "version: \"1\"\n", "", "1: version: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(good, tc.old, tc.new, 1)
			if src == good {
				t.Fatalf("the case changes nothing")
			}
			d, errs := clinicalpath.Parse("p1.yaml", []byte(src))
			if len(errs) == 0 || d != nil {
				t.Fatalf("no error for:\n%s", src)
			}
			var ye *yamldoc.Error
			if !errors.As(errs[0], &ye) || ye.File != "p1.yaml" || ye.Line == 0 {
				t.Fatalf("error %v does not name file and line", errs[0])
			}
			all := errors.Join(errs...).Error()
			if tc.want == "" { // a case whose stages themselves are fine: its error is the order
				tc.want = "stages[2].anchor: a surgery stage is listed after a later one"
			} else {
				tc.want = "p1.yaml:" + tc.want
			}
			if !strings.Contains(all, tc.want) {
				t.Fatalf("errors\n%s\ndo not contain\n%s", all, tc.want)
			}
		})
	}
}

// FuzzParse: no input makes Parse panic, and whatever it accepts an engine takes and can
// export as a PlanDefinition.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	files, _ := filepath.Glob("library/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("id: x\nversion: 1\nstages: [{anchor: surgery, from: -3d, to: 0, items: [{due: 0}]}]"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, errs := clinicalpath.Parse("fuzz.yaml", data)
		if (d == nil) == (len(errs) == 0) {
			t.Fatalf("definition %v with errors %v", d, errs)
		}
		if d == nil {
			return
		}
		if _, err := clinicalpath.New([]*clinicalpath.Definition{d}, clinicalpath.Config{}); err != nil {
			t.Fatalf("engine refuses a parsed definition: %v", err)
		}
		if len(clinicalpath.PlanDefinition(d)) == 0 {
			t.Fatal("no PlanDefinition")
		}
	})
}
