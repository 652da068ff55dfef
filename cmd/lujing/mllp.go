package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/loadgen"
	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/adapters/sqlstore"
)

// mllpFlags are serve's HL7 v2 listener settings.
type mllpFlags struct {
	addr     string
	config   string
	tlsCert  string
	tlsKey   string
	clientCA string
}

func (f *mllpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "mllp", envOr("LUJING_MLLP_ADDR", ""), "listen for HL7 v2 over MLLP on this address, e.g. :2575 (env LUJING_MLLP_ADDR; off when empty)")
	fs.StringVar(&f.config, "mllp-config", envOr("LUJING_MLLP_CONFIG", ""), "MLLP peers (allow-list) and limits, YAML; default: loopback only, as the generic source (env LUJING_MLLP_CONFIG)")
	fs.StringVar(&f.tlsCert, "mllp-tls-cert", envOr("LUJING_MLLP_TLS_CERT", ""), "PEM certificate: serve MLLP over TLS (env LUJING_MLLP_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "mllp-tls-key", envOr("LUJING_MLLP_TLS_KEY", ""), "PEM private key of --mllp-tls-cert (env LUJING_MLLP_TLS_KEY)")
	fs.StringVar(&f.clientCA, "mllp-tls-client-ca", envOr("LUJING_MLLP_TLS_CLIENT_CA", ""), "PEM CA certificates: require MLLP clients to present a certificate they signed (env LUJING_MLLP_TLS_CLIENT_CA)")
}

// mllpListener is the running HL7 v2 listener.
type mllpListener struct {
	addr    net.Addr
	handler *mllp.Handler
	stop    context.CancelFunc
	done    chan struct{}
}

// startMLLP starts the listener when --mllp is set; nil when not.
func startMLLP(ctx context.Context, f mllpFlags, st *sqlstore.Store, in *intake.Service, reg prometheus.Registerer, log *slog.Logger) (*mllpListener, error) {
	if f.addr == "" {
		return nil, nil
	}
	profiles, err := profile.Defaults()
	if err != nil {
		return nil, fmt.Errorf("mllp: source profiles: %w", err)
	}
	cfg := mllp.DefaultConfig()
	if f.config != "" {
		data, err := os.ReadFile(f.config)
		if err != nil {
			return nil, fmt.Errorf("mllp: %w", err)
		}
		if cfg, err = mllp.ParseConfig(f.config, data, profiles); err != nil {
			return nil, fmt.Errorf("mllp config:\n%w", err)
		}
	}
	opts, peers, err := cfg.Options(profiles)
	if err != nil {
		return nil, fmt.Errorf("mllp config: %w", err)
	}
	opts.Logger = log
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("mllp: listen on %s: %w", f.addr, err)
	}
	if f.tlsCert != "" || f.tlsKey != "" {
		tc, err := mllpTLS(f)
		if err != nil {
			ln.Close()
			return nil, err
		}
		ln = tls.NewListener(ln, tc)
	}
	h := mllp.NewHandler(in, st, mllp.HandlerOptions{Logger: log, Application: cfg.Application, Registerer: reg})
	// Messages acknowledged before the last stop and not applied go first, in order.
	resumed, err := h.Resume(ctx, peers)
	if err != nil {
		ln.Close()
		h.Close()
		return nil, fmt.Errorf("mllp: %w", err)
	}
	if resumed > 0 {
		log.Info("hl7 messages acknowledged before the last stop are being applied", "messages", resumed)
	}
	srv := mllp.NewServer(h, opts)
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l := &mllpListener{addr: ln.Addr(), handler: h, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		if err := srv.Serve(sctx, ln); err != nil {
			log.Error("mllp listener stopped", "err", err)
		}
	}()
	log.Info("lujing serving HL7 v2 over MLLP", "addr", ln.Addr().String(), "peers", len(opts.Allow), "tls", f.tlsCert != "")
	return l, nil
}

// Close stops accepting, lets each connection finish (and acknowledge) its message, and
// stores the last records. Call it before the intake's Close.
func (l *mllpListener) Close() {
	if l == nil {
		return
	}
	l.stop()
	<-l.done
	l.handler.Close()
}

func mllpTLS(f mllpFlags) (*tls.Config, error) {
	if f.tlsCert == "" || f.tlsKey == "" {
		return nil, errors.New("mllp: --mllp-tls-cert and --mllp-tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("mllp TLS: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.clientCA != "" {
		pem, err := os.ReadFile(f.clientCA)
		if err != nil {
			return nil, fmt.Errorf("mllp TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mllp TLS client CA %s: no certificate found", f.clientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// isMLLPBench reports whether bench's arguments ask for the MLLP benchmark.
func isMLLPBench(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "--mllp" || a == "-mllp" || strings.HasPrefix(a, "--mllp=") || strings.HasPrefix(a, "-mllp=")
	})
}

// cmdBenchMLLP sends ORU^R01 results over several MLLP connections as fast as they are
// acknowledged and prints throughput and acknowledgement latency.
func cmdBenchMLLP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var addr string
	var conns, patients, count int
	var duration time.Duration
	var critical float64
	var seed int64
	fs := newFlags("bench --mllp", "lujing bench --mllp ADDR [flags]", stderr)
	fs.StringVar(&addr, "mllp", "127.0.0.1:2575", "address of the MLLP listener (serve --mllp)")
	fs.IntVar(&conns, "connections", 10, "connections sending at once, each one message at a time")
	fs.DurationVar(&duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&count, "count", 0, "stop after this many messages (0: no limit)")
	fs.IntVar(&patients, "patients", 2000, "distinct patients the results are for")
	fs.Float64Var(&critical, "critical", 0.05, "share of potassium results flagged HH")
	fs.Int64Var(&seed, "seed", time.Now().UnixNano(), "seed (a new seed sends new control ids)")
	var probe mllpProbe
	fs.StringVar(&probe.url, "url", "http://127.0.0.1:8080", "base URL of the server's HTTP side, for --probe-token")
	fs.StringVar(&probe.token, "probe-token", envOr("LUJING_PROBE_TOKEN", ""), "a hospital-wide clinician token: also send a critical potassium (HH) for a new patient every --probe-interval over a connection of its own and measure ACK → critical-value event on the live stream (env LUJING_PROBE_TOKEN)")
	fs.DurationVar(&probe.interval, "probe-interval", 500*time.Millisecond, "time between critical values of the probe")
	fs.StringVar(&probe.peer, "peer", "local", "the name the server's MLLP configuration gives this client (the probe needs it to know the ids of its results)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bench: ORU^R01 over MLLP to %s, %d connections, %d patients, for %s\n", addr, conns, patients, duration)
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var sent atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	codes := map[string]int{}
	var firstErr error
	var wg, probing sync.WaitGroup
	var probeReport *loadgen.ProbeReport
	if probe.token != "" {
		probe.addr, probe.seed = addr, seed
		pc, err := probe.config(ctx)
		if err != nil {
			return err
		}
		defer pc.close()
		probing.Go(func() {
			rep, err := loadgen.Probe(ctx, pc.ProbeConfig, seed)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = cmpErr(firstErr, fmt.Errorf("probe: %w", err))
				return
			}
			probeReport = &rep
		})
	}
	start := time.Now()
	for w := range conns {
		wg.Go(func() {
			c, err := mllp.Dial(ctx, addr, nil)
			if err != nil {
				mu.Lock()
				firstErr = cmpErr(firstErr, err)
				mu.Unlock()
				return
			}
			defer c.Close()
			r := rand.New(rand.NewPCG(uint64(seed), uint64(w)))
			var mine []time.Duration
			local := map[string]int{}
			for i := 0; ctx.Err() == nil; i++ {
				if count > 0 && sent.Add(1) > int64(count) {
					break
				}
				msg := benchORU(r, seed, w, i, patients, critical)
				t0 := time.Now()
				ack, err := c.Send(context.WithoutCancel(ctx), msg)
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					break
				}
				mine = append(mine, time.Since(t0))
				local[ackCode(ack)]++
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range local {
				codes[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	probing.Wait() // the probe waits a while for its last events: not part of the load's time
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))].Round(10 * time.Microsecond)
	}
	fmt.Fprintf(stdout, "acknowledged %d messages in %s: %.0f messages/s\n", len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds())
	fmt.Fprintf(stdout, "ACK latency p50 %s  p90 %s  p99 %s  max %s\n", pct(0.50), pct(0.90), pct(0.99), pct(1))
	var keys []string
	for k := range codes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, codes[k]))
	}
	fmt.Fprintf(stdout, "acknowledgement codes: %s\n", strings.Join(parts, ", "))
	if probeReport != nil {
		fmt.Fprintln(stdout, strings.Replace(probeReport.String(), "2xx", "ACK", 1))
	}
	if firstErr != nil && len(lat) == 0 {
		return firstErr
	}
	if firstErr != nil {
		fmt.Fprintf(stdout, "a connection stopped early: %v\n", firstErr)
	}
	if codes["AA"] != len(lat) {
		return fmt.Errorf("%d of %d messages not acknowledged AA", len(lat)-codes["AA"], len(lat))
	}
	return nil
}

// mllpProbe sends critical values over an MLLP connection of its own and watches the stream.
type mllpProbe struct {
	url, token, peer string
	interval         time.Duration
	addr             string
	seed             int64
}

type probeConn struct {
	loadgen.ProbeConfig
	c *mllp.Client
}

func (pc *probeConn) close() { pc.c.Close() }

func (p mllpProbe) config(ctx context.Context) (*probeConn, error) {
	c, err := mllp.Dial(ctx, p.addr, nil)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	pc := &probeConn{c: c}
	pc.ProbeConfig = loadgen.ProbeConfig{BaseURL: strings.TrimRight(p.url, "/"), StreamToken: p.token, Interval: p.interval,
		Send: func(ctx context.Context, n int) (string, error) {
			msg, ref, err := probeORU(p.seed, n, p.peer)
			if err != nil {
				return "", err
			}
			ack, err := c.Send(ctx, msg)
			if err != nil {
				return "", err
			}
			if code := ackCode(ack); code != "AA" {
				return "", fmt.Errorf("probe: acknowledged %s", code)
			}
			return ref, nil
		}}
	return pc, nil
}

// probeORU is a critical potassium (HH) for a new inpatient, and the reference of the
// Observation the server makes of it (ids are derived from the sender and the message).
func probeORU(seed int64, n int, peer string) ([]byte, string, error) {
	// A patient of its own: the probe measures the lane, not a backlog of its patient.
	id := fmt.Sprintf("P%x-%d", uint32(seed), n) // its control id and its MRN
	msg := oru(id, id, 1, benchTests[0], "7.2", "HH")
	m, err := hl7v2.Parse(msg, hl7v2.ParseOptions{})
	if err != nil {
		return nil, "", err
	}
	res, err := hl7v2.ToFHIR(m, hl7v2.Options{Sender: peer + "|" + m.SendingApplication() + "|" + m.SendingFacility()})
	if err != nil {
		return nil, "", err
	}
	for _, e := range res.Entries {
		if strings.HasPrefix(e, "Observation/") {
			return msg, e, nil
		}
	}
	return nil, "", errors.New("probe: no Observation in the message")
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// ackCode is MSA-1 of an acknowledgement.
func ackCode(ack []byte) string {
	s := string(ack)
	i := strings.Index(s, "\rMSA")
	if i < 0 || len(s) < i+8 {
		return "?"
	}
	return s[i+5 : i+7]
}

type benchTest struct {
	loinc, name, unit string
	low, high         float64 // the reference range
	decimals          int
}

func (t benchTest) format(v float64) string { return strconv.FormatFloat(v, 'f', t.decimals, 64) }

var benchTests = []benchTest{
	{"2823-3", "Potassium", "mmol/L", 3.5, 5.5, 1},
	{"2951-2", "Sodium", "mmol/L", 137, 147, 0},
	{"2345-7", "Glucose", "mmol/L", 3.9, 6.1, 1},
	{"718-7", "Hemoglobin", "g/L", 130, 175, 0},
}

// benchORU is one lab result as a LIS sends it: one OBR and one OBX for a patient among n, a
// value within the test's reference range, but for the potassium flagged HH (6.6–7.6 mmol/L)
// in a share of them. A value out of its range would be a critical value by the local rules
// (a sodium of 4 mmol/L, say) and load the urgent lane as no real hospital's traffic does.
func benchORU(r *rand.Rand, seed int64, conn, i, n int, critical float64) []byte {
	control := fmt.Sprintf("B%x-%d-%d", uint32(seed), conn, i)
	mrn := fmt.Sprintf("9%09d", r.IntN(n))
	t := benchTests[r.IntN(len(benchTests))]
	value, flag := t.format(t.low+(t.high-t.low)*r.Float64()), "N"
	if t.loinc == "2823-3" && r.Float64() < critical {
		value, flag = t.format(6.6+r.Float64()), "HH"
	}
	return oru(control, mrn, 1+r.IntN(40), t, value, flag)
}

// oru is one result of test t for the patient with the MRN, in bed of the GI ward.
func oru(control, mrn string, bed int, t benchTest, value, flag string) []byte {
	now := time.Now().In(time.FixedZone("CST", 8*3600)).Format("20060102150405")
	segs := []string{
		"MSH|^~\\&|LIS|HOSP|LUJING|HOSP|" + now + "||ORU^R01^ORU_R01|" + control + "|P|2.5.1|||||CHN|UNICODE UTF-8",
		"PID|1||" + mrn + "^^^HOSP^MR||测试^患者" + mrn[len(mrn)-3:] + "||19700101|F",
		"PV1|1|I|GI-WARD^^" + fmt.Sprint(bed) + "^HOSP||||||||||||||||V" + mrn,
		"ORC|RE|ORD-" + control + "|LAB-" + control,
		"OBR|1|ORD-" + control + "|LAB-" + control + "|" + t.loinc + "^" + t.name + "^LN|||" + now + "|||||||||||||||" + now + "|||F",
		"OBX|1|NM|" + t.loinc + "^" + t.name + "^LN||" + value + "|" + t.unit + "^^UCUM|" + t.format(t.low) + "-" + t.format(t.high) + "|" + flag + "|||F|||" + now,
	}
	return []byte(strings.Join(segs, "\r") + "\r")
}
