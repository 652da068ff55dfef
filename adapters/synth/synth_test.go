package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	return m
}

// take returns the first n resources of g's Stream.
func take(g *Generator, n int) []Resource {
	var out []Resource
	for r := range g.Stream() {
		out = append(out, r)
		if len(out) == n {
			break
		}
	}
	return out
}

// refs returns every Reference.reference in v.
func refs(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["reference"].(string); ok {
				out = append(out, s)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

func parseTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad dateTime %q: %v", s, err)
	}
	return v
}

func TestSameSeedSameBytes(t *testing.T) {
	a, b := take(New(42, Options{}), 5000), take(New(42, Options{}), 5000)
	for i := range a {
		if a[i].Ref() != b[i].Ref() || !a[i].Time.Equal(b[i].Time) || !bytes.Equal(a[i].JSON, b[i].JSON) {
			t.Fatalf("resource %d differs between two runs with the same seed:\n%s\n%s", i, a[i].JSON, b[i].JSON)
		}
	}
	c := take(New(43, Options{}), 5000)
	nf := len(New(42, Options{}).Facility())
	if bytes.Equal(a[nf].JSON, c[nf].JSON) {
		t.Fatal("seeds 42 and 43 gave the same first patient resource")
	}
	for i := range nf { // the facility depends on the hospital only
		if !bytes.Equal(a[i].JSON, c[i].JSON) {
			t.Fatalf("facility resource %d differs between seeds", i)
		}
	}
}

func TestResourcesAreValid(t *testing.T) {
	g := New(1, Options{})
	for _, r := range take(g, 8000) {
		m := decode(t, r.JSON)
		if m["resourceType"] != r.Type || m["id"] != r.ID {
			t.Fatalf("%s: resourceType/id in JSON are %v/%v", r.Ref(), m["resourceType"], m["id"])
		}
		if !fhirID.MatchString(r.ID) {
			t.Fatalf("%s: not a valid FHIR id", r.Ref())
		}
		if r.Source != HIS && r.Source != LIS && r.Source != PACS {
			t.Fatalf("%s: source %q", r.Ref(), r.Source)
		}
		if lu := parseTime(t, str(m, "meta", "lastUpdated")); !lu.Equal(r.Time) {
			t.Fatalf("%s: meta.lastUpdated %v, Time %v", r.Ref(), lu, r.Time)
		}
		if c, ok := m["contained"].([]any); ok {
			for _, x := range c {
				cm := x.(map[string]any)
				if cm["resourceType"] == nil || cm["id"] == nil || cm["meta"] != nil {
					t.Fatalf("%s: contained resource without type/id or with meta: %v", r.Ref(), cm)
				}
			}
		}
	}
}

// Every reference points to a resource sent before it (or to a contained one), so a receiver
// that processes the stream in order never waits for a dependency.
func TestReferencesResolveToEarlierResources(t *testing.T) {
	g := New(7, Options{})
	seen := map[string]bool{}
	for _, r := range take(g, 10000) {
		m := decode(t, r.JSON)
		contained := map[string]bool{}
		if c, ok := m["contained"].([]any); ok {
			for _, x := range c {
				contained["#"+x.(map[string]any)["id"].(string)] = true
			}
		}
		for _, ref := range refs(m) {
			if strings.HasPrefix(ref, "#") {
				if !contained[ref] {
					t.Fatalf("%s: reference %s to no contained resource", r.Ref(), ref)
				}
				continue
			}
			if !seen[ref] && ref != r.Ref() {
				t.Fatalf("%s: reference %s to nothing sent before", r.Ref(), ref)
			}
		}
		seen[r.Ref()] = true
	}
}

func TestStreamIsInTimeOrder(t *testing.T) {
	g := New(3, Options{AdmissionsPerDay: 80})
	var last time.Time
	for i, r := range take(g, 10000) {
		if r.Time.Before(last) {
			t.Fatalf("resource %d (%s) at %v comes after one at %v", i, r.Ref(), r.Time, last)
		}
		last = r.Time
	}
	if span := last.Sub(g.Options().Start); span < 24*time.Hour {
		t.Fatalf("10000 resources span only %v: patients are not interleaved over days", span)
	}
}

// stays collects, per Encounter, the facts the chronology checks need.
type stay struct {
	versions  []map[string]any
	times     []time.Time
	events    []Resource // resources referring to the encounter
	scenario  string
	principal string
}

func TestChronology(t *testing.T) {
	g := New(11, Options{})
	for range 200 {
		s := g.Patient()
		if !slices.IsSortedFunc(s.Events, func(a, b Resource) int { return a.Time.Compare(b.Time) }) {
			t.Fatalf("patient %s: events not in time order", s.PatientID)
		}
		if s.Events[0].Type != "Patient" || !s.Events[0].Time.Equal(s.Admitted) {
			t.Fatalf("patient %s: story does not start with the Patient at admission", s.PatientID)
		}
		if !s.Discharged.After(s.Admitted) {
			t.Fatalf("patient %s: discharged %v before admitted %v", s.PatientID, s.Discharged, s.Admitted)
		}
		orders := map[string]time.Time{}
		stays := map[string]*stay{}
		for _, r := range s.Events {
			m := decode(t, r.JSON)
			switch r.Type {
			case "Encounter":
				st := stays[r.Ref()]
				if st == nil {
					st = &stay{}
					stays[r.Ref()] = st
				}
				st.versions = append(st.versions, m)
				st.times = append(st.times, r.Time)
			case "ServiceRequest":
				orders[r.Ref()] = parseTime(t, str(m, "authoredOn"))
			}
			if enc := str(m, "encounter", "reference"); enc != "" {
				stays[enc].events = append(stays[enc].events, r)
			}
			checkResult(t, r, m, orders)
		}
		for ref, st := range stays {
			first, last := st.versions[0], st.versions[len(st.versions)-1]
			if first["status"] != "in-progress" || last["status"] != "finished" {
				t.Fatalf("%s: statuses %v … %v", ref, first["status"], last["status"])
			}
			start := parseTime(t, str(last, "period", "start"))
			end := parseTime(t, str(last, "period", "end"))
			if !end.After(start) || !st.times[0].Equal(start) || !st.times[len(st.times)-1].Equal(end) {
				t.Fatalf("%s: period %v–%v, versions sent at %v", ref, start, end, st.times)
			}
			if str(last, "hospitalization", "dischargeDisposition", "coding") == "" && last["hospitalization"].(map[string]any)["dischargeDisposition"] == nil {
				t.Fatalf("%s: finished without dischargeDisposition", ref)
			}
			for _, e := range st.events {
				if e.Time.Before(start) || e.Time.After(end) {
					t.Fatalf("%s: %s sent at %v, outside the stay %v–%v", ref, e.Ref(), e.Time, start, end)
				}
			}
		}
	}
}

// A cheaper check over more patients: nothing is sent before admission or after discharge
// (the Patient of one who died comes a minute after).
func TestNothingOutsideTheStay(t *testing.T) {
	g := New(12, Options{})
	for range 1000 {
		s := g.Patient()
		for _, r := range s.Events {
			if r.Time.Before(s.Admitted) || r.Time.After(s.Discharged.Add(time.Minute)) {
				t.Fatalf("patient %s (%s, %v–%v): %s sent at %v", s.PatientID, s.Scenario, s.Admitted, s.Discharged, r.Ref(), r.Time)
			}
		}
	}
}

// checkResult checks a lab or imaging result against its order and itself.
func checkResult(t *testing.T, r Resource, m map[string]any, orders map[string]time.Time) {
	t.Helper()
	check := func(m map[string]any) {
		based, ok := m["basedOn"].([]any)
		if !ok {
			return
		}
		order, ok := orders[based[0].(map[string]any)["reference"].(string)]
		if !ok {
			t.Fatalf("%s: based on an order not sent before it", r.Ref())
		}
		eff := parseTime(t, str(m, "effectiveDateTime"))
		issued := parseTime(t, str(m, "issued"))
		if eff.Before(order) || issued.Before(eff) || issued.After(r.Time) {
			t.Fatalf("%s: ordered %v, effective %v, issued %v, sent %v", r.Ref(), order, eff, issued, r.Time)
		}
	}
	if r.Type == "Observation" || r.Type == "DiagnosticReport" {
		check(m)
	}
	if c, ok := m["contained"].([]any); ok {
		for _, x := range c {
			check(x.(map[string]any))
		}
	}
}

// labResults returns every lab Observation in rs, top-level or contained.
func labResults(t testing.TB, rs []Resource) []map[string]any {
	var out []map[string]any
	for _, r := range rs {
		if r.Type != "Observation" && r.Type != "DiagnosticReport" {
			continue
		}
		m := decode(t, r.JSON)
		if r.Type == "Observation" {
			out = append(out, m)
		}
		if c, ok := m["contained"].([]any); ok {
			for _, x := range c {
				out = append(out, x.(map[string]any))
			}
		}
	}
	return out
}

func interp(m map[string]any) string {
	return m["interpretation"].([]any)[0].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
}

// The domain's default critical limits (domain.md §2), which a server's local rules apply.
var criticalLimits = map[string][2]float64{
	"2823-3": {2.8, 6.2}, "2951-2": {120, 160}, "2345-7": {2.2, 22.2},
	"718-7": {50, 1e9}, "777-3": {30, 1e9}, "6301-6": {-1, 5},
}

func TestCriticalShareAndLimits(t *testing.T) {
	for _, tc := range []struct {
		share    float64
		min, max float64
	}{{0, 0.035, 0.065}, {0.2, 0.17, 0.23}, {-1, 0, 0}} {
		t.Run(fmt.Sprint(tc.share), func(t *testing.T) {
			g := New(5, Options{CriticalShare: tc.share})
			var events []Resource
			for range 300 {
				events = append(events, g.Patient().Events...)
			}
			obs := labResults(t, events)
			critical := 0
			for _, m := range obs {
				code := interp(m)
				loinc := m["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
				v, _ := m["valueQuantity"].(map[string]any)["value"].(float64)
				lim, rule := criticalLimits[loinc]
				beyond := rule && (v < lim[0] || v > lim[1])
				isCritical := code == "HH" || code == "LL"
				if isCritical {
					critical++
				}
				if isCritical != beyond {
					t.Fatalf("%s = %v flagged %s, but the default rule says critical=%v", loinc, v, code, beyond)
				}
			}
			got := float64(critical) / float64(len(obs))
			t.Logf("%d of %d lab results critical (%.3f)", critical, len(obs), got)
			if got < tc.min || got > tc.max {
				t.Fatalf("critical share %.3f, want %.2f–%.2f", got, tc.min, tc.max)
			}
		})
	}
}

func TestScenarios(t *testing.T) {
	g := New(9, Options{})
	count := map[string]int{}
	grades := map[string]map[int]bool{}
	imagingCritical, imaging := 0, 0
	for range 600 {
		s := g.Patient()
		count[s.Scenario]++
		var principal, firstStay string
		var days float64
		for _, r := range s.Events {
			m := decode(t, r.JSON)
			switch {
			case r.Type == "Encounter" && (firstStay == "" || firstStay == r.ID):
				firstStay = r.ID
				if m["status"] == "finished" {
					days = parseTime(t, str(m, "period", "end")).Sub(s.Admitted).Hours() / 24
				}
			case r.Type == "Condition" && principal == "":
				principal = m["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
			case r.Type == "Procedure":
				code := m["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
				grade := 0
				if ext, ok := m["extension"].([]any); ok {
					e := ext[0].(map[string]any)
					if e["url"] != SurgeryGradeURL {
						t.Fatalf("extension url %v", e["url"])
					}
					grade = int(e["valueInteger"].(float64))
				}
				if grades[code] == nil {
					grades[code] = map[int]bool{}
				}
				grades[code][grade] = true
			case r.Source == PACS:
				imaging++
				if strings.Contains(string(r.JSON), `"code":"AA"`) {
					imagingCritical++
				}
			}
		}
		prefix := map[string]string{ColonCancer: "C18", STEMI: "I21", Appendicitis: "K35"}[s.Scenario]
		if prefix != "" && !strings.HasPrefix(principal, prefix) {
			t.Fatalf("%s patient with principal diagnosis %s", s.Scenario, principal)
		}
		// Standard stays (plus deliberate overstays, a pathway variance).
		limit := map[string]float64{ColonCancer: 29, STEMI: 21, Appendicitis: 12}[s.Scenario]
		if limit > 0 && days > limit {
			t.Fatalf("%s stay of %.1f days", s.Scenario, days)
		}
	}
	t.Logf("scenarios: %v", count)
	t.Logf("procedure grades: %v", grades)
	for _, k := range []string{ColonCancer, STEMI, Appendicitis} {
		if count[k] < 600/10 {
			t.Errorf("only %d %s patients in 600", count[k], k)
		}
	}
	want := map[string][]int{"45.73": {4}, "17.33": {4}, "47.01": {2, 3}, "00.66": {4}, "99.10": {0}}
	for code, gs := range want {
		for _, gr := range gs {
			if !grades[code][gr] {
				t.Errorf("no %s procedure with grade %d", code, gr)
			}
		}
	}
	if imagingCritical == 0 || imagingCritical > imaging/8 {
		t.Errorf("%d of %d imaging reports critical", imagingCritical, imaging)
	}
}

func TestOptions(t *testing.T) {
	g := New(2, Options{
		Hospital:         Hospital{System: "urn:oid:1.2.3", Value: "H42", Name: "测试医院"},
		MRNSystem:        "urn:oid:1.2.3.4",
		NationalIDSystem: "urn:oid:1.2.156.10011.1.3",
		Departments:      []Department{{Code: "MED", Name: "综合内科"}},
		Mix:              map[string]int{Appendicitis: 1, STEMI: 1},
	})
	var orgs int
	for _, r := range g.Facility() {
		if r.Type == "Organization" {
			orgs++
			if !strings.Contains(string(r.JSON), `"system":"urn:oid:1.2.3","value":"H42"`) {
				t.Fatalf("organization: %s", r.JSON)
			}
		}
	}
	if orgs != 1 || len(g.Facility()) != 1+1+40+4 {
		t.Fatalf("facility has %d resources", len(g.Facility()))
	}
	for range 50 {
		s := g.Patient()
		if s.Scenario != Appendicitis && s.Scenario != STEMI {
			t.Fatalf("scenario %s outside the mix", s.Scenario)
		}
		for _, r := range s.Events {
			m := decode(t, r.JSON)
			switch r.Type {
			case "Patient":
				ids := m["identifier"].([]any)
				if len(ids) != 2 || ids[0].(map[string]any)["system"] != "urn:oid:1.2.3.4" {
					t.Fatalf("patient identifiers %v", ids)
				}
				if nid := ids[1].(map[string]any)["value"].(string); len(nid) != 18 || nationalID(mustDate(t, m["birthDate"].(string)), 0, true)[:14] != nid[:14] {
					t.Fatalf("national id %s for birth date %s", nid, m["birthDate"])
				}
			case "Encounter":
				if str(m, "serviceProvider", "display") != "测试医院" ||
					!strings.Contains(string(r.JSON), `"code":"MED","display":"综合内科"`) {
					t.Fatalf("encounter not in the only department: %s", r.JSON)
				}
			}
		}
	}
	if got := New(2, Options{}).Patient(); strings.Contains(string(got.Events[0].JSON), "居民身份证号") {
		t.Fatal("national id sent by default")
	}
}

func mustDate(t *testing.T, s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNationalIDCheckDigit(t *testing.T) {
	// The published example 11010519491231002X has this check digit; ours uses the same rule.
	id := nationalID(time.Date(1949, 12, 31, 0, 0, 0, 0, time.UTC), 0, true)
	if !strings.HasPrefix(id, "99999919491231") || len(id) != 18 {
		t.Fatalf("id %s", id)
	}
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int("11010519491231002X"[i]-'0') * w
	}
	if "10X98765432"[sum%11] != 'X' {
		t.Fatal("check digit rule does not reproduce the published example")
	}
}

func TestTraffic(t *testing.T) {
	var flat []Resource
	n := 0
	for chunk := range New(4, Options{AdmissionsPerDay: 200}).Traffic(50) {
		if len(chunk) != 50 {
			t.Fatalf("chunk of %d, want 50", len(chunk))
		}
		in := map[string]bool{}
		for _, r := range chunk {
			if in[r.Ref()] {
				t.Fatalf("%s twice in one chunk", r.Ref())
			}
			in[r.Ref()] = true
		}
		flat = append(flat, chunk...)
		if n++; n == 100 {
			break
		}
	}
	// The same resources as the stream, versions of a resource in stream order, and nothing
	// moved by more than a chunk.
	want := take(New(4, Options{AdmissionsPerDay: 200}), len(flat)+200)
	pos := map[string]int{} // position in the stream of each version, by its bytes
	for i, r := range want {
		pos[string(r.JSON)] = i
	}
	last := map[string]int{}
	for i, r := range flat {
		p, ok := pos[string(r.JSON)]
		if !ok {
			t.Fatalf("traffic resource %d (%s) is not in the stream", i, r.Ref())
		}
		if p < i-50 || p > i+50 {
			t.Fatalf("traffic resource %d (%s) is at %d in the stream", i, r.Ref(), p)
		}
		if prev, seen := last[r.Ref()]; seen && prev > p {
			t.Fatalf("versions of %s out of order", r.Ref())
		}
		last[r.Ref()] = p
		delete(pos, string(r.JSON))
	}
}

func TestBundles(t *testing.T) {
	g := New(6, Options{})
	rs := take(g, 300)
	for _, typ := range []string{"transaction", "batch"} {
		body := Transaction(rs)
		if typ == "batch" {
			body = Batch(rs)
		}
		m := decode(t, body)
		entries := m["entry"].([]any)
		if m["resourceType"] != "Bundle" || m["type"] != typ || len(entries) != len(rs) {
			t.Fatalf("%s bundle: %v %v %d entries", typ, m["resourceType"], m["type"], len(entries))
		}
		for i, e := range entries {
			e := e.(map[string]any)
			req := e["request"].(map[string]any)
			res := e["resource"].(map[string]any)
			if req["method"] != "PUT" || req["url"] != rs[i].Ref() || e["fullUrl"] != "urn:uuid:"+rs[i].ID || res["id"] != rs[i].ID {
				t.Fatalf("%s entry %d: %v", typ, i, e)
			}
		}
	}

	// POST style: one story, references rewritten.
	s := g.Patient()
	body, err := TransactionPOST(s.Events)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, body)
	full := map[string]bool{}
	encounters := 0
	for _, e := range m["entry"].([]any) {
		e := e.(map[string]any)
		full[e["fullUrl"].(string)] = true
		res := e["resource"].(map[string]any)
		if _, has := res["id"]; has {
			t.Fatalf("POST entry with an id: %v", res)
		}
		if e["request"].(map[string]any)["method"] != "POST" || e["request"].(map[string]any)["url"] != res["resourceType"] {
			t.Fatalf("entry request %v", e["request"])
		}
		if res["resourceType"] == "Encounter" {
			encounters++
			if res["status"] != "finished" {
				t.Fatalf("POST bundle keeps encounter version with status %v", res["status"])
			}
		}
	}
	for _, e := range m["entry"].([]any) {
		for _, ref := range refs(e.(map[string]any)["resource"]) {
			switch {
			case strings.HasPrefix(ref, "#"), strings.Contains(ref, "?identifier="):
			case strings.HasPrefix(ref, "urn:uuid:"):
				if !full[ref] {
					t.Fatalf("reference %s to no entry", ref)
				}
			default:
				t.Fatalf("reference %s left literal", ref)
			}
		}
	}
	if encounters < 1 {
		t.Fatal("no encounter in the story bundle")
	}
	if !bytes.Contains(body, []byte(`"value":3.50`)) && !bytes.Contains(body, []byte(`"value":3.90`)) {
		t.Fatal("POST bundle lost the precision of reference range decimals")
	}
}

func BenchmarkStream(b *testing.B) {
	g := New(1, Options{})
	next := g.Stream()
	n, bytes := 0, 0
	b.ResetTimer()
	for r := range next {
		bytes += len(r.JSON)
		if n++; n == b.N {
			break
		}
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/resource")
}
