package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lujing-health/lujing/adapters/loadgen"
)

// cmdBench drives a running server with generated hospital traffic and prints throughput and
// latency percentiles.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if isMLLPBench(args) { // HL7 v2 over MLLP (mllp.go)
		return cmdBenchMLLP(ctx, args, stdout, stderr)
	}
	var cfg loadgen.Config
	fs := newFlags("bench", "lujing bench [flags]", stderr)
	fs.StringVar(&cfg.BaseURL, "url", "http://127.0.0.1:8080", "base URL of the running server")
	fs.StringVar(&cfg.Token, "token", envOr("LUJING_TOKEN", ""), "bearer token of an integration or admin token (env LUJING_TOKEN)")
	fs.IntVar(&cfg.BundleSize, "bundle-size", 100, "resources per request; 1 sends single resources with PUT /fhir/{type}/{id}")
	fs.StringVar(&cfg.BundleType, "bundle-type", "transaction", "transaction or batch")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "requests in flight at most")
	fs.Float64Var(&cfg.Rate, "rate", 0, "resources per second (open loop); 0 sends as fast as the server answers")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&cfg.Count, "count", 0, "stop after this many requests (0: no limit)")
	fs.Int64Var(&cfg.Seed, "seed", time.Now().UnixNano(), "seed of the synthetic hospital (a new seed sends new resources)")
	var probe loadgen.ProbeConfig
	fs.StringVar(&probe.StreamToken, "probe-token", envOr("LUJING_PROBE_TOKEN", ""),
		"a hospital-wide clinician token: also post a critical potassium every --probe-interval and measure 2xx → critical-value event on the live stream (env LUJING_PROBE_TOKEN)")
	fs.DurationVar(&probe.Interval, "probe-interval", 250*time.Millisecond, "how often the probe posts a critical value")
	samples := fs.String("probe-samples", "", "write each probe's 2xx time and latency to this CSV file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.Token == "" {
		fmt.Fprintln(stderr, "lujing bench: --token or LUJING_TOKEN is required (an integration token)")
		return errUsage
	}
	fmt.Fprintf(stdout, "bench: %s, bundles of %d (%s), %d in flight, rate %s, for %s\n",
		cfg.BaseURL, cfg.BundleSize, cfg.BundleType, cfg.Concurrency, rateText(cfg.Rate), cfg.Duration)
	var probeRep loadgen.ProbeReport
	var probeErr error
	probeDone := make(chan struct{})
	probeCtx, stopProbe := context.WithCancel(ctx)
	defer stopProbe()
	if probe.StreamToken != "" {
		probe.BaseURL, probe.Token = cfg.BaseURL, cfg.Token
		if *samples != "" {
			f, err := os.Create(*samples)
			if err != nil {
				return err
			}
			defer f.Close()
			probe.Samples = f
		}
		go func() {
			defer close(probeDone)
			probeRep, probeErr = loadgen.Probe(probeCtx, probe, cfg.Seed)
		}()
	} else {
		close(probeDone)
	}
	rep, err := loadgen.Run(ctx, cfg)
	stopProbe()
	<-probeDone
	fmt.Fprintln(stdout, rep.String())
	if probe.StreamToken != "" {
		if probeErr != nil {
			fmt.Fprintln(stdout, "probe:", probeErr)
		} else {
			fmt.Fprintln(stdout, probeRep.String())
		}
	}
	if err != nil {
		return err
	}
	if rep.Resources == 0 {
		return fmt.Errorf("no resource was acknowledged")
	}
	return nil
}

func rateText(r float64) string {
	if r <= 0 {
		return "unpaced"
	}
	return fmt.Sprintf("%.0f resources/s", r)
}
