package mllp_test

import (
	"strings"
	"testing"

	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/adapters/profile"
)

// TestConfig: a good file gives the allow-list with the profile's defaults; a bad one is
// refused with file, line and field for every problem.
func TestConfig(t *testing.T) {
	profiles, err := profile.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	good := `application: LUJING
idle_timeout: 2m
peers:
  - name: lab
    addresses: [10.1.2.3, 10.1.3.0/24]
    applications: [LIS]
    source: lis
    charset: GB18030
    code_systems: {L: http://lujing.example/fhir/CodeSystem/lis-local}
  - name: his
    addresses: ["::1"]
    source: his
    mrn_system: urn:oid:1.2.3
`
	c, err := mllp.ParseConfig("mllp.yaml", []byte(good), profiles)
	if err != nil {
		t.Fatal(err)
	}
	o, peers, err := c.Options(profiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Allow) != 2 || len(o.Allow[0].Networks) != 2 || o.IdleTimeout.Minutes() != 2 {
		t.Fatalf("options: %+v", o)
	}
	lab, his := peers["lab"], peers["his"]
	if lab.Mapping.MRNSystem != profiles["lis"].MRNSystem || lab.Charset != "GB18030" || lab.Mapping.CodeSystems["L"] == "" {
		t.Errorf("lab: %+v", lab)
	}
	if his.Mapping.MRNSystem != "urn:oid:1.2.3" || his.Mapping.DepartmentSystem != profiles["his"].Department.ServiceTypeSystem {
		t.Errorf("his: %+v", his.Mapping)
	}
	bad := `idle_timeout: soon
peers:
  - name: lab|1
    addresses: [10.1.2.300]
    source: nosuch
    charset: KLINGON
  - addresses: []
    source: lis
    colour: blue
`
	_, err = mllp.ParseConfig("mllp.yaml", []byte(bad), profiles)
	if err == nil || !strings.Contains(err.Error(), "mllp.yaml:") || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("unknown field: %v", err)
	}
	bad = strings.Replace(bad, "    colour: blue\n", "", 1)
	_, err = mllp.ParseConfig("mllp.yaml", []byte(bad), profiles)
	for _, want := range []string{"mllp.yaml:1: idle_timeout", "mllp.yaml:3: peers[0].name", "peers[0].addresses[0]",
		"peers[0].source: no source profile", "peers[0].charset", "peers[1].name: required", "peers[1].addresses: required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}
