package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lujing-health/lujing/adapters/clinical"
	"github.com/lujing-health/lujing/adapters/httpapi"
	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/livestream"
	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/redisq"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/webhook"
	"github.com/lujing-health/lujing/adapters/worker"
	"github.com/lujing-health/lujing/mapping/bundle"
)

// storeFlags are the settings every command that touches the store takes.
type storeFlags struct {
	dataDir     string
	databaseURL string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", envOr("LUJING_DATA_DIR", "./lujing-data"), "directory of the embedded SQLite store (env LUJING_DATA_DIR)")
	fs.StringVar(&f.databaseURL, "database-url", envOr("LUJING_DATABASE_URL", ""), "PostgreSQL URL; when set it replaces the embedded store (env LUJING_DATABASE_URL)")
}

func (f *storeFlags) open(ctx context.Context) (*sqlstore.Store, string, error) {
	if f.databaseURL != "" {
		st, err := sqlstore.OpenPostgres(ctx, f.databaseURL)
		if err != nil {
			return nil, "", fmt.Errorf("open PostgreSQL: %w", err)
		}
		return st, "PostgreSQL", nil
	}
	st, err := sqlstore.OpenSQLite(ctx, f.dataDir)
	if err != nil {
		return nil, "", fmt.Errorf("open SQLite in %s: %w", f.dataDir, err)
	}
	return st, "SQLite in " + f.dataDir, nil
}

type serveConfig struct {
	store      storeFlags
	addr       string
	redisURL   string
	demo       bool
	maxBody    int64
	maxEntries int
	workers    int
	logLevel   string
	logFormat  string
	relayEvery time.Duration
	relayAge   time.Duration
	pprofAddr  string
	noWorker   bool
	warmUp     bool
	parkedAge  time.Duration
	configDir  string
	zoneName   string
	zone       *time.Location
	mllp       mllpFlags // HL7 v2 over MLLP (mllp.go)
	web        webFlags
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := newFlags("serve", "lujing serve [flags]", stderr)
	cfg.store.register(fs)
	fs.StringVar(&cfg.addr, "addr", envOr("LUJING_ADDR", ":8080"), "listen address (env LUJING_ADDR)")
	fs.StringVar(&cfg.redisURL, "redis-url", envOr("LUJING_REDIS_URL", ""), "Redis URL for the work queue; empty: in-process queue (env LUJING_REDIS_URL)")
	fs.BoolVar(&cfg.demo, "demo", false, "create demo tokens and load a synthetic ward through the FHIR intake")
	fs.Int64Var(&cfg.maxBody, "max-body", envInt64("LUJING_MAX_BODY", 16<<20), "largest request body in bytes (env LUJING_MAX_BODY)")
	fs.IntVar(&cfg.maxEntries, "max-entries", 10000, "most entries in one Bundle")
	fs.IntVar(&cfg.workers, "workers", 2, "patients' work processed at once by this process (more takes cores and database time from senders)")
	fs.StringVar(&cfg.logLevel, "log-level", envOr("LUJING_LOG_LEVEL", "info"), "debug, info, warn or error")
	fs.StringVar(&cfg.logFormat, "log-format", envOr("LUJING_LOG_FORMAT", "text"), "text or json")
	fs.DurationVar(&cfg.relayEvery, "relay-interval", 10*time.Second, "how often the relay looks for work a queue lost")
	fs.DurationVar(&cfg.relayAge, "relay-age", 30*time.Second, "age after which unprocessed work is published again")
	fs.DurationVar(&cfg.parkedAge, "parked-age", 24*time.Hour, "parked messages older than this are reported (metric lujing_parked_stale_messages, GET /api/v1/messages?status=parked&older_than=)")
	fs.BoolVar(&cfg.warmUp, "warm-up", true, "compile the JSON decoders at start, on a few synthetic patients in memory (about a second of CPU), so that the first critical values do not wait for it")
	fs.BoolVar(&cfg.noWorker, "no-worker", false, "only take data in: leave the queue to other replicas' workers (needs --redis-url)")
	cfg.mllp.register(fs)
	fs.StringVar(&cfg.pprofAddr, "pprof-addr", envOr("LUJING_PPROF_ADDR", ""), "serve Go profiling on this address, e.g. 127.0.0.1:6060 (off by default)")
	fs.StringVar(&cfg.configDir, "config-dir", envOr("LUJING_CONFIG_DIR", ""),
		"directory with critical-values.yaml, follow-up.yaml and pathways/*.yaml; absent files mean the shipped defaults (env LUJING_CONFIG_DIR)")
	fs.StringVar(&cfg.zoneName, "zone", envOr("LUJING_ZONE", "Asia/Shanghai"), "the hospital's time zone: days of stay, dates in queries (env LUJING_ZONE)")
	cfg.web.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	zone, err := time.LoadLocation(cfg.zoneName)
	if err != nil {
		fmt.Fprintf(stderr, "lujing serve: --zone %q: %v\n", cfg.zoneName, err)
		return errUsage
	}
	cfg.zone = zone
	log, err := newLogger(stderr, cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	if cfg.noWorker && cfg.redisURL == "" {
		fmt.Fprintln(stderr, "lujing serve: --no-worker needs a shared queue (--redis-url): with the in-process queue nothing would process the data")
		return errUsage
	}
	return serve(ctx, cfg, stdout, log)
}

func serve(ctx context.Context, cfg serveConfig, stdout io.Writer, log *slog.Logger) error {
	if os.Getenv("GOGC") == "" {
		// Ingest allocates a decoded map per resource; collecting half as often cut the p99 of
		// single PUTs at 1,000/s from 38 to 24 ms here, for some tens of MB more heap.
		debug.SetGCPercent(200)
	}
	st, storeName, err := cfg.store.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	var q queue.Queue
	queueName := "in-process"
	if cfg.redisURL != "" {
		rq, err := redisq.Open(ctx, cfg.redisURL, redisq.Options{Logger: log, Concurrency: cfg.workers})
		if err != nil {
			return fmt.Errorf("open Redis queue: %w", err)
		}
		q, queueName = rq, "Redis"
	} else {
		q = queue.NewMemory(queue.MemoryOptions{Workers: cfg.workers, Logger: log})
	}
	defer q.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lujing_queue_depth", Help: "Deliveries waiting in the work queue.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := q.Depth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))

	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lujing_parked_stale_messages",
		Help: "Parked messages older than --parked-age (at most 1000 counted): what they wait for may never come.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		msgs, err := st.Messages(ctx, store.MessageFilter{Status: store.StatusParked, ReceivedBefore: time.Now().Add(-cfg.parkedAge), Limit: 1000})
		if err != nil {
			return -1
		}
		return float64(len(msgs))
	}))

	mapper, err := newLiveMapper(ctx, st)
	if err != nil {
		return err
	}
	head, err := st.StreamHead(ctx)
	if err != nil {
		return err
	}
	hub := livestream.NewHub(head)
	hooks := webhook.New(st, webhook.Options{Logger: log, Registerer: reg})
	cs, err := loadCores(ctx, st, cfg.configDir, cfg.zone, log)
	if err != nil {
		return fmt.Errorf("clinical configuration: %w", err)
	}
	in := intake.New(st, q, intake.Options{Logger: log, Registerer: reg, Limits: bundle.Limits{MaxEntries: cfg.maxEntries},
		Triage: mapper.triage(cs.cv)})
	runner := clinical.New(st, cs.named(), clinical.Options{Scheduler: q, Notifier: notifiers{hub, hooks}, Logger: log, Registerer: reg})
	w := worker.New(st, mapper, worker.Options{Logger: log, Registerer: reg, Queue: q, After: runner.AfterWork})
	hl7, err := startMLLP(ctx, cfg.mllp, st, in, reg, log)
	if err != nil {
		return err
	}
	qc := &httpapi.Quality{Measures: st, Settings: cs.qc.Config()}
	ui, err := cfg.web.build(st, webQuality{qc}, cfg.zone, log)
	if err != nil {
		return err
	}
	api := httpapi.New(httpapi.Config{Store: st, Queue: q, Intake: in, Registry: reg, Logger: log, MaxBody: cfg.maxBody,
		Version: version, OnConfigChange: mapper.Reload, Cores: st, Hub: hub, Webhooks: hooks, Zone: cfg.zone, Web: ui,
		Clinical: &httpapi.Clinical{Actions: runner, CriticalValues: cs.cv, FollowUp: cs.fu, Pathways: cs.paths.Engine,
			OnPathwayChange: cs.paths.Reload}, Quality: qc})

	if cfg.warmUp {
		// Before listening: traffic arriving during it would wait for the same compiling.
		warmUp(mapper, cs.named(), cfg.zone, log)
	}

	if cfg.pprofAddr != "" {
		// Profiling stays off the public listener: a separate address, loopback by convention.
		go func() {
			if err := http.ListenAndServe(cfg.pprofAddr, pprofMux()); err != nil {
				log.Warn("pprof listener stopped", "err", err)
			}
		}()
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}

	// Work runs on its own context: on shutdown the HTTP server stops first (requests in
	// flight finish and are stored), then the worker finishes what it holds.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(5)
	go func() {
		defer wg.Done()
		hub.Poll(workCtx, 500*time.Millisecond, st.StreamHead) // events other replicas stored
	}()
	go func() {
		defer wg.Done()
		hooks.Run(workCtx)
	}()
	go func() {
		defer wg.Done()
		if cfg.noWorker {
			return
		}
		runner.Sweep(workCtx, 500*time.Millisecond) // coalesced clinical runs, apart from the worker
	}()
	go func() {
		defer wg.Done()
		if cfg.noWorker {
			return
		}
		// Timers of the cores (escalations, deadlines) live in the store; the in-process
		// queue forgot them with the last process.
		if n, err := runner.Reschedule(workCtx); err != nil {
			log.Error("reschedule clinical timers", "err", err)
		} else if n > 0 {
			log.Info("clinical timers rescheduled", "n", n)
		}
		if err := q.Consume(workCtx, w.Handle); err != nil && workCtx.Err() == nil {
			log.Error("queue consumer stopped", "err", err)
		}
	}()
	relay := &worker.Relay{Store: st, Queue: q, Log: log, Interval: cfg.relayEvery, MinAge: cfg.relayAge}
	go func() {
		defer wg.Done()
		_ = relay.Run(workCtx)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	base := "http://" + displayAddr(ln.Addr())
	log.Info("lujing serving", "addr", ln.Addr().String(), "store", storeName, "queue", queueName, "version", version)
	fmt.Fprintf(stdout, "Lujing %s listening on %s (store: %s, queue: %s)\n", version, base, storeName, queueName)
	if hl7 != nil {
		fmt.Fprintf(stdout, "HL7 v2 over MLLP on %s\n", displayAddr(hl7.addr))
	}

	if cfg.demo {
		if err := runDemoUsers(ctx, st, cfg.store.dataDir, base, stdout); err != nil {
			log.Error("demo accounts failed", "err", err)
		}
		if err := runDemo(ctx, st, in, cfg.store.dataDir, base, stdout); err != nil {
			log.Error("demo setup failed", "err", err)
		}
	}

	select {
	case err := <-serveErr:
		hl7.Close()
		stopWork()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api.CloseStreams()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	hl7.Close() // its messages in flight are stored and acknowledged before the intake closes
	in.Close()
	stopWork()
	wg.Wait()
	log.Info("stopped")
	return nil
}

func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func envInt64(name string, def int64) int64 {
	v := envOr(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def
	}
	return n
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
