package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckQualitySettings: lujing check tells QC settings by their keys and names the file,
// line and field of a problem.
func TestCheckQualitySettings(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("../../pathways/quality/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ok := filepath.Join(dir, "quality.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(ok, good, 0o644)
	os.WriteFile(bad, bytes.Replace(good, []byte(`grade4-mdt: {target: ">= 100"}`), []byte(`grade4-mdt: {target: "all of them"}`), 1), 0o644)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"check", ok}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "ok (QC settings)") {
		t.Fatalf("good: %d %s %s", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", bad}, &out, &errOut); code != 1 || !strings.Contains(out.String(), "bad.yaml:18: indicators.grade4-mdt.target:") {
		t.Fatalf("bad: %d %s", code, out.String())
	}
}
