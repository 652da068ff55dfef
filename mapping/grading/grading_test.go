package grading_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lujing-health/lujing/mapping/grading"
)

func TestGrade(t *testing.T) {
	c, err := grading.Example()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		system, code string
		grade        int
		ok           bool
	}{
		{grading.ICD9CM, "45.73", 4, true},
		{grading.ICD9CM, "00.66", 4, true},
		{grading.ICD9CM, "47.09", 2, true},
		{grading.ICD9CM, "45.7", 0, false}, // exact codes only
		{"http://snomed.info/sct", "45.73", 0, false},
	}
	for _, tt := range tests {
		g, ok := c.Grade(tt.system, tt.code)
		if g != tt.grade || ok != tt.ok {
			t.Errorf("Grade(%s, %s) = %d, %v", tt.system, tt.code, g, ok)
		}
	}
	var none *grading.Catalogue
	if _, ok := none.Grade(grading.ICD9CM, "45.73"); ok {
		t.Error("a nil catalogue grades")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"good", "id: g\nversion: \"1\"\noperations:\n  - {code: \"45.73\", grade: 4}\n", nil},
		{"problems", `id: g
version: "1"
operations:
  - {code: "45.73", grade: 4}
  - {code: "45.73", grade: 3}
  - {code: "47.09", grade: 5}
  - {grade: 2}
  - {code: "99.10", grade: two}
`, []string{"c.yaml:8: operations[4].grade: expected a whole number, got \"two\""}},
		{"semantics", `id: g
version: "1"
operations:
  - {code: "45.73", grade: 4}
  - {code: "45.73", grade: 3}
  - {code: "47.09", grade: 5}
  - {grade: 2}
`, []string{
			`c.yaml:5: operations[1].code: "45.73" is listed again, first as operations[0]`,
			`c.yaml:6: operations[2].grade: 5 is not a surgery grade: 1, 2, 3 or 4`,
			`c.yaml:7: operations[3].code: required`,
		}},
		{"empty", "id: g\n", []string{"c.yaml:1: version: required", "c.yaml:1: operations: at least one operation is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range grading.Check("c.yaml", []byte(tt.yaml)) {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
