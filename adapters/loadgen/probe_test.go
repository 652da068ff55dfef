package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// probeServer takes the probe's Bundles and tells the stream about each Observation after
// delay, except every skip-th one (a lost event); it checks the tokens each side uses.
type probeServer struct {
	t     *testing.T
	delay time.Duration
	skip  int

	mu     sync.Mutex
	posted int
	events chan string
}

func (s *probeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/fhir":
		if r.Header.Get("Authorization") != "Bearer lis" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b struct {
			Entry []struct {
				Resource struct {
					ResourceType, ID string
				}
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			s.t.Errorf("probe sent no Bundle: %v", err)
		}
		w.WriteHeader(http.StatusOK)
		s.mu.Lock()
		s.posted++
		n := s.posted
		s.mu.Unlock()
		for _, e := range b.Entry {
			if e.Resource.ResourceType != "Observation" || (s.skip > 0 && n%s.skip == 0) {
				continue
			}
			ref := "Observation/" + e.Resource.ID
			time.AfterFunc(s.delay, func() { s.events <- ref })
		}
	case r.URL.Path == "/api/v1/events":
		if r.Header.Get("Authorization") != "Bearer nurse" || r.URL.Query().Get("events") != "critical-value.notified" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case ref := <-s.events:
				fmt.Fprintf(w, "event: critical-value.notified\ndata: {\"result\":%q}\n\n", ref)
				w.(http.Flusher).Flush()
			}
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestProbe: the latency from 2xx to the stream event is measured (not less than the server's
// delay), a lost event is counted missing, and each sample is written in posting order.
func TestProbe(t *testing.T) {
	ps := &probeServer{t: t, delay: 30 * time.Millisecond, skip: 4, events: make(chan string, 100)}
	srv := httptest.NewServer(ps)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	var samples bytes.Buffer
	rep, err := Probe(ctx, ProbeConfig{BaseURL: srv.URL, Token: "lis", StreamToken: "nurse", Interval: 50 * time.Millisecond,
		Wait: 300 * time.Millisecond, Samples: &samples}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent < 8 || rep.Failed != 0 {
		t.Fatalf("sent %d, failed %d", rep.Sent, rep.Failed)
	}
	if want := rep.Sent / 4; rep.Missing != want || rep.Received != rep.Sent-want {
		t.Errorf("received %d, missing %d of %d; want %d missing", rep.Received, rep.Missing, rep.Sent, want)
	}
	if rep.Latency.P50 < ps.delay || rep.Latency.Max > 250*time.Millisecond {
		t.Errorf("latency p50 %v max %v; the server delays %v", rep.Latency.P50, rep.Latency.Max, ps.delay)
	}
	lines := strings.Split(strings.TrimSpace(samples.String()), "\n")
	if lines[0] != "acknowledged_at,latency_ms" || len(lines) != rep.Sent+1 {
		t.Fatalf("samples: %d lines, header %q", len(lines), lines[0])
	}
	empty, prev := 0, ""
	for _, l := range lines[1:] {
		at, ms, _ := strings.Cut(l, ",")
		if at < prev {
			t.Errorf("samples out of order: %s after %s", at, prev)
		}
		prev = at
		if ms == "" {
			empty++
		}
	}
	if empty != rep.Missing {
		t.Errorf("%d samples without latency, %d missing", empty, rep.Missing)
	}
	if !strings.Contains(rep.String(), "missing") {
		t.Errorf("report %q", rep.String())
	}
}
