package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lujing-health/lujing/pathways/clinicalpath"
	"github.com/lujing-health/lujing/pathways/criticalvalue"
	"github.com/lujing-health/lujing/pathways/followup"

	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/mapping/bundle"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/grading"
	"github.com/lujing-health/lujing/mapping/resource"
)

// cmdCheck validates files before they are sent or loaded: FHIR resources and Bundles (.json),
// bulk exports (.ndjson). Each problem is printed as FILE[:LINE]: EXPRESSION: WHAT.
func cmdCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "lujing check FILE…", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "lujing check: name at least one file")
		return errUsage
	}
	bad := 0
	for _, name := range fs.Args() {
		problems, summary, err := checkFile(name)
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", name, err)
			bad++
			continue
		}
		for _, p := range problems {
			fmt.Fprintln(stdout, p)
		}
		if len(problems) > 0 {
			bad++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (%s)\n", name, summary)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d files have problems", bad, fs.NArg())
	}
	return nil
}

func checkFile(name string) (problems []string, summary string, err error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, "", err
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".ndjson":
		return checkNDJSON(name, data)
	case ".json":
		return checkJSON(name, data)
	case ".yaml", ".yml":
		return checkYAML(name, data)
	}
	return nil, "", errors.New("unknown kind of file (want .json, .ndjson or .yaml)")
}

// checkYAML tells a configuration file's kind by its top-level keys and runs that kind's check,
// whose errors name file, line and field.
func checkYAML(name string, data []byte) ([]string, string, error) {
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return []string{fmt.Sprintf("%s: not YAML: %v", name, err)}, "", nil
	}
	var kind string
	var errs []error
	switch {
	case top["groups"] != nil:
		kind, errs = "code map", codemap.Check(name, data)
	case top["operations"] != nil:
		kind, errs = "surgery grading catalogue", grading.Check(name, data)
	case top["mrn_system"] != nil || top["code_maps"] != nil || top["critical"] != nil:
		kind, errs = "source profile", profile.Check(name, data)
	case top["stages"] != nil || top["entry"] != nil:
		kind, errs = "pathway definition", clinicalpath.Check(name, data)
	case top["rules"] != nil || top["escalation"] != nil:
		kind, errs = "critical-value rules", criticalvalue.Check(name, data)
	case top["templates"] != nil:
		kind, errs = "follow-up templates", followup.Check(name, data)
	default:
		return nil, "", errors.New("unknown kind of YAML file (a code map has groups, a grading catalogue operations, a source profile mrn_system, " +
			"a pathway definition stages, critical-value rules rules, follow-up templates templates)")
	}
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out, kind, nil
}

func checkJSON(name string, data []byte) ([]string, string, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
	}
	_ = json.Unmarshal(data, &head)
	if head.ResourceType == "Bundle" && (head.Type == "batch" || head.Type == "transaction") {
		b, err := bundle.Parse(data, bundle.Limits{})
		if err != nil {
			return describe(name, 0, err), "", nil
		}
		var out []string
		for _, e := range b.Entries {
			if e.Err != nil {
				out = append(out, describe(name, 0, e.Err)...)
			}
		}
		return out, fmt.Sprintf("%s Bundle, %d entries", b.Type, len(b.Entries)), nil
	}
	r, err := resource.Parse(data)
	if err != nil {
		return describe(name, 0, err), "", nil
	}
	return nil, r.Type, nil
}

func checkNDJSON(name string, data []byte) ([]string, string, error) {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	n := 0
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		n++
		if _, err := resource.Parse(text); err != nil {
			out = append(out, describe(name, line, err)...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("read: %w", err)
	}
	return out, fmt.Sprintf("%d resources", n), nil
}

func describe(name string, line int, err error) []string {
	where := name
	if line > 0 {
		where = fmt.Sprintf("%s:%d", name, line)
	}
	var re *resource.Error
	if !errors.As(err, &re) {
		return []string{fmt.Sprintf("%s: %v", where, err)}
	}
	out := make([]string, 0, len(re.Issues))
	for _, is := range re.Issues {
		expr := is.Expression
		if expr == "" {
			expr = "(resource)"
		}
		out = append(out, fmt.Sprintf("%s: %s: %s", where, expr, is.Diagnostics))
	}
	return out
}
