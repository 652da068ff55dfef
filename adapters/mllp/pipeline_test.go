package mllp_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/adapters/profile"
	"github.com/lujing-health/lujing/adapters/queue"
	"github.com/lujing-health/lujing/adapters/sqlstore"
	"github.com/lujing-health/lujing/adapters/store"
	"github.com/lujing-health/lujing/adapters/worker"
	"github.com/lujing-health/lujing/mapping"
	"github.com/lujing-health/lujing/mapping/codemap"
	"github.com/lujing-health/lujing/mapping/grading"
)

const mrnSystem = "urn:oid:2.16.840.1.113883.4.487.2.1.4"

// pipeline is serve's wiring: MLLP listener → handler → intake → SQLite store → in-process
// queue → worker → clinical mapping → events in the store.
type pipeline struct {
	st      *sqlstore.Store
	q       *queue.Memory
	handler *mllp.Handler
	addr    string
	peers   map[string]*mllp.Peer
}

type pipelineOptions struct {
	maxMessage int
	idle       time.Duration
	allow      []netip.Prefix // default loopback
	log        io.Writer      // where the pipeline logs; default nowhere (or the test log with -v)
}

func newPipeline(t *testing.T, o pipelineOptions) *pipeline {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	maps, err := codemap.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := profile.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	grades, err := grading.Example()
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.New(worker.Resources{Store: st}, mapping.Options{Profiles: profiles, CodeMaps: maps, Grades: grades})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.log != nil {
		log = slog.New(slog.NewTextHandler(o.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	q := queue.NewMemory(queue.MemoryOptions{Logger: log})
	w := worker.New(st, m, worker.Options{Queue: q, Logger: log})
	in := intake.New(st, q, intake.Options{Logger: log})
	h := mllp.NewHandler(in, st, mllp.HandlerOptions{Logger: log})

	opts := hl7v2.Options{MRNSystem: mrnSystem}
	his := &mllp.Peer{Name: "his", Source: "his", Applications: []string{"HIS", "EMR"}, Mapping: opts}
	lis := &mllp.Peer{Name: "lab", Source: "lis", Charset: "GB18030", Applications: []string{"LIS"}, Mapping: opts}
	other := &mllp.Peer{Name: "other", Source: "generic", Mapping: opts}
	nets := o.allow
	if nets == nil {
		nets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	srv := mllp.NewServer(h, mllp.ServerOptions{Logger: log, MaxMessage: o.maxMessage, IdleTimeout: o.idle,
		Allow: []mllp.Allowed{{Peer: his, Networks: nets}, {Peer: lis, Networks: nets}, {Peer: other, Networks: nets}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(cctx, ln) }()
	consumed := make(chan struct{})
	go func() { defer close(consumed); _ = q.Consume(cctx, w.Handle) }()
	t.Cleanup(func() {
		cancel()
		<-served
		h.Close()
		in.Close()
		<-consumed
		q.Close()
		st.Close()
	})
	return &pipeline{st: st, q: q, handler: h, addr: ln.Addr().String(), peers: map[string]*mllp.Peer{"his": his, "lab": lis, "other": other}}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (p *pipeline) dial(t *testing.T) *mllp.Client {
	t.Helper()
	c, err := mllp.Dial(t.Context(), p.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 10 * time.Second
	t.Cleanup(func() { c.Close() })
	return c
}

// send sends one message and returns the acknowledgement's MSA-1, MSA-2 and ERR (raw).
func send(t *testing.T, c *mllp.Client, msg []byte) (code, control, errSeg string) {
	t.Helper()
	raw, err := c.Send(t.Context(), msg)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return readAck(t, raw)
}

func readAck(t *testing.T, raw []byte) (code, control, errSeg string) {
	t.Helper()
	ack, err := hl7v2.Parse(raw, hl7v2.ParseOptions{DefaultCharset: "GB18030"})
	if err != nil {
		t.Fatalf("ACK does not parse: %v\n%q", err, raw)
	}
	msa, ok := ack.Segment("MSA")
	if !ok {
		t.Fatalf("ACK without MSA: %q", raw)
	}
	if e, ok := ack.Segment("ERR"); ok {
		errSeg = e.Field(3).Raw() + " " + e.Field(7).String()
		if e.Field(3).Raw() == "" {
			errSeg = e.Field(1).Raw()
		}
	}
	return msa.Field(1).String(), msa.Field(2).String(), errSeg
}

// settle waits until every acknowledged message is applied, every stored message is processed
// and the queue is empty, twice in a row.
func (p *pipeline) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := p.handler.Wait(ctx); err != nil {
		t.Fatalf("the HL7 messages were not applied: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	quiet := 0
	for quiet < 2 {
		keys, err := p.st.Backlog(context.Background(), time.Now().Add(time.Hour), 1)
		if err != nil {
			t.Fatal(err)
		}
		depth, err := p.q.Depth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 && depth == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker did not settle")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// patientEvents returns the stored events of the patient with the MRN.
func (p *pipeline) patientEvents(t *testing.T, mrn string) (string, []store.Event) {
	t.Helper()
	id, err := p.st.LookupIdentifier(t.Context(), "Patient", store.Identifier{System: mrnSystem, Value: mrn})
	if err != nil {
		t.Fatalf("patient %s: %v", mrn, err)
	}
	evs, err := p.st.Events(t.Context(), "Patient/"+id)
	if err != nil {
		t.Fatal(err)
	}
	return "Patient/" + id, evs
}

// --- messages ---

func seg(name string, kv ...any) string {
	fields := map[int]string{}
	n := 0
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(int)
		fields[k] = kv[i+1].(string)
		n = max(n, k)
	}
	parts := []string{name}
	start := 1
	if name == "MSH" {
		start = 3
		parts = append(parts, `^~\&`)
	}
	for i := start; i <= n; i++ {
		parts = append(parts, fields[i])
	}
	return strings.Join(parts, "|")
}

func msh(app, typ, control string, kv ...any) string {
	base := []any{3, app, 4, "HOSP", 5, "LUJING", 6, "HOSP", 7, "20260301083000", 9, typ, 10, control, 11, "P", 12, "2.5.1"}
	return seg("MSH", append(base, kv...)...)
}

func message(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

func pid(mrn string) string {
	return seg("PID", 1, "1", 3, mrn+"^^^HOSP^MR", 5, "张^三", 7, "19600101", 8, "M")
}

func pv1(visit string) string {
	return seg("PV1", 1, "1", 2, "I", 3, "GI-WARD^^12^HOSP", 7, "D001^李^四", 10, "GI-SURG^胃肠外科", 19, visit, 44, "20260301070000")
}

func admit(control, mrn, visit string) []byte {
	return message(msh("HIS", "ADT^A01^ADT_A01", control), seg("EVN", 1, "A01", 2, "20260301070000"), pid(mrn), pv1(visit))
}

// gb18030 encodes a message as the lab sends it: GB18030, without saying so in MSH-18.
func gb18030(msg []byte) []byte {
	out, err := simplifiedchinese.GB18030.NewEncoder().Bytes(msg)
	if err != nil {
		panic(err)
	}
	return out
}

// potassium is an ORU^R01 with a potassium result from the LIS, in GB18030; flag is OBX-8.
func potassium(control, mrn, visit, value, flag string, extra ...any) []byte {
	return gb18030(message(
		msh("LIS", "ORU^R01^ORU_R01", control, extra...),
		pid(mrn), pv1(visit),
		seg("ORC", 1, "RE", 2, "ORD-"+control, 3, "LAB-"+control),
		seg("OBR", 1, "1", 2, "ORD-"+control, 3, "LAB-"+control, 4, "2823-3^Potassium^LN", 7, "20260301080000", 22, "20260301082500", 25, "F"),
		seg("OBX", 1, "1", 2, "NM", 3, "2823-3^Potassium^LN", 5, value, 6, "mmol/L^^UCUM", 7, "3.5-5.5", 8, flag, 11, "F", 14, "20260301080000"),
	))
}

func resultData(t *testing.T, e store.Event) mapping.ResultData {
	t.Helper()
	var d mapping.ResultData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func storeFilter(source string) store.MessageFilter {
	return store.MessageFilter{Source: source, Limit: 1000}
}

func observationValue(t *testing.T, body []byte) string {
	t.Helper()
	var o struct {
		ValueQuantity struct {
			Value json.Number `json:"value"`
		} `json:"valueQuantity"`
	}
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatal(err)
	}
	return string(o.ValueQuantity.Value)
}
