package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// ProbeConfig measures what a nurse station sees: the time from the sender's 2xx for a
// critical result to the critical-value event on the live stream. It posts one critical
// potassium (a new inpatient, admitted, with an HH result, in one transaction) every Interval,
// and listens on GET /api/v1/events with StreamToken.
type ProbeConfig struct {
	BaseURL     string
	Token       string // an integration token (LIS) that posts the results
	StreamToken string // a clinician token (hospital-wide) that reads the stream
	Interval    time.Duration
	Event       string        // the stream event awaited; default critical-value.notified
	Wait        time.Duration // how long after the 2xx an event may take before it counts as missing; default 10 s
	Client      *http.Client
	// Samples, when set, gets one CSV line per critical value posted, in posting order:
	// the 2xx time (RFC 3339, UTC) and the milliseconds to its stream event ("" if missing),
	// so that a tail can be placed in time (a start-up, a checkpoint).
	Samples io.Writer
	// Send, when set, sends the n-th critical value in place of the FHIR post (over MLLP, say):
	// it returns once the sender's acknowledgement came, with the reference of the result the
	// stream event will name.
	Send func(ctx context.Context, n int) (ref string, err error)
}

// ProbeReport is the latency from 2xx to stream event.
type ProbeReport struct {
	Sent     int
	Received int
	Missing  int // no event within Wait
	Failed   int // the post was not answered 2xx
	Latency  Latency
}

func (r ProbeReport) String() string {
	l := r.Latency
	return fmt.Sprintf("critical values: %d posted, %d on the stream, %d missing, %d failed\n2xx → stream event p50 %s  p95 %s  p99 %s  max %s",
		r.Sent, r.Received, r.Missing, r.Failed, ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max))
}

// Probe runs until ctx ends, then waits up to Wait for the last events.
func Probe(ctx context.Context, cfg ProbeConfig, seed int64) (ProbeReport, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.Event == "" {
		cfg.Event = "critical-value.notified"
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	var mu sync.Mutex
	acked := map[string]time.Time{} // "Observation/id" → when the 2xx came
	seen := map[string]time.Time{}  // → when the event came
	var rep ProbeReport

	// The stream reader: connected before the first post, so no event can come before it.
	sctx, stopStream := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStream()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, cfg.BaseURL+"/api/v1/events?events="+cfg.Event, nil)
	if err != nil {
		return rep, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.StreamToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return rep, fmt.Errorf("open stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return rep, fmt.Errorf("open stream: HTTP %d", resp.StatusCode)
	}
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			at := time.Now()
			var rec struct {
				Result string `json:"result"`
			}
			if json.Unmarshal([]byte(data), &rec) != nil || rec.Result == "" {
				continue
			}
			mu.Lock()
			if _, dup := seen[rec.Result]; !dup {
				seen[rec.Result] = at
			}
			mu.Unlock()
		}
	}()

	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			goto drain
		case <-tick.C:
		}
		rep.Sent++
		// A post in flight when the run ends is finished, not cut off (and counted failed).
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		send := cfg.Send
		if send == nil {
			send = func(ctx context.Context, n int) (string, error) {
				return cfg.post(ctx, fmt.Sprintf("probe-%d-%d", seed, n))
			}
		}
		ref, err := send(pctx, n)
		cancel()
		if err != nil {
			rep.Failed++
			continue
		}
		mu.Lock()
		acked[ref] = time.Now()
		mu.Unlock()
	}
drain:
	deadline := time.Now().Add(cfg.Wait)
	for time.Now().Before(deadline) {
		mu.Lock()
		done := true
		for ref := range acked {
			if _, ok := seen[ref]; !ok {
				done = false
				break
			}
		}
		mu.Unlock()
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopStream()
	<-streamDone
	var lat []time.Duration
	refs := slices.SortedFunc(maps.Keys(acked), func(a, b string) int { return acked[a].Compare(acked[b]) })
	if cfg.Samples != nil {
		fmt.Fprintln(cfg.Samples, "acknowledged_at,latency_ms")
	}
	for _, ref := range refs {
		a := acked[ref]
		s, ok := seen[ref]
		if !ok || s.Sub(a) > cfg.Wait {
			rep.Missing++
			if cfg.Samples != nil {
				fmt.Fprintf(cfg.Samples, "%s,\n", a.UTC().Format(sampleTime))
			}
			continue
		}
		rep.Received++
		// The event may even be read before the 2xx is (both race on the client): count 0.
		d := max(s.Sub(a), 0)
		lat = append(lat, d)
		if cfg.Samples != nil {
			fmt.Fprintf(cfg.Samples, "%s,%.1f\n", a.UTC().Format(sampleTime), float64(d)/float64(time.Millisecond))
		}
	}
	rep.Latency = summarize(lat)
	return rep, nil
}

// post sends a new inpatient's critical potassium as a FHIR transaction.
func (cfg ProbeConfig) post(ctx context.Context, id string) (string, error) {
	preq, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.BaseURL+"/fhir", bytes.NewReader(probeBundle(id, time.Now())))
	if err != nil {
		return "", err
	}
	preq.Header.Set("Authorization", "Bearer "+cfg.Token)
	preq.Header.Set("Content-Type", "application/fhir+json")
	presp, err := cfg.Client.Do(preq)
	if err != nil {
		return "", err
	}
	presp.Body.Close()
	if presp.StatusCode/100 != 2 {
		return "", fmt.Errorf("HTTP %d", presp.StatusCode)
	}
	return "Observation/" + id + "-k", nil
}

// probeBundle is a new inpatient with a critical potassium (7.2 mmol/L, HH).
func probeBundle(id string, now time.Time) []byte {
	t := now.UTC().Format(time.RFC3339)
	admit := now.Add(-6 * time.Hour).UTC().Format(time.RFC3339)
	return []byte(`{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"Patient/` + id + `","resource":{"resourceType":"Patient","id":"` + id + `","identifier":[{"system":"urn:oid:2.16.840.1.113883.4.487.2.1.4","value":"` + id + `"}],"gender":"female","birthDate":"1960-05-01"},"request":{"method":"PUT","url":"Patient/` + id + `"}},
{"fullUrl":"Encounter/` + id + `-e","resource":{"resourceType":"Encounter","id":"` + id + `-e","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"Patient/` + id + `"},"serviceType":{"coding":[{"system":"http://lujing.example/fhir/CodeSystem/department","code":"CARDIO","display":"心内科"}]},"period":{"start":"` + admit + `"}},"request":{"method":"PUT","url":"Encounter/` + id + `-e"}},
{"fullUrl":"Observation/` + id + `-k","resource":{"resourceType":"Observation","id":"` + id + `-k","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"2823-3","display":"Potassium"}]},"subject":{"reference":"Patient/` + id + `"},"encounter":{"reference":"Encounter/` + id + `-e"},"effectiveDateTime":"` + t + `","issued":"` + t + `","valueQuantity":{"value":7.2,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"HH"}]}]},"request":{"method":"PUT","url":"Observation/` + id + `-k"}}
]}`)
}

// sampleTime is RFC 3339 with milliseconds always written, so the samples sort as text.
const sampleTime = "2006-01-02T15:04:05.000Z07:00"
