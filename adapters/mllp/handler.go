package mllp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/adapters/intake"
	"github.com/lujing-health/lujing/mapping/bundle"
	"github.com/lujing-health/lujing/mapping/resource"
)

// Intake is what the handler needs of adapters/intake: the mapped Bundle goes in exactly as
// a FHIR sender's would.
type Intake interface {
	Bundle(ctx context.Context, src intake.Source, raw []byte) (*bundle.Bundle, []intake.Result, error)
}

// Peer is one system on the allow-list.
type Peer struct {
	// Name identifies the peer in logs and in the keys of its messages.
	Name string
	// Source is the source system its data is filed under (his, lis, pacs…); it also names
	// the profile the clinical mapping reads it with.
	Source   string
	Hospital string
	// Charset is the character set of its messages that leave MSH-18 empty (GB18030 for many
	// Chinese systems); empty: UTF-8.
	Charset string
	// Applications, when set, are the sending applications (MSH-3) this peer sends as:
	// several systems behind one address (an interface engine) are told apart by them.
	Applications []string
	// Mapping says how its identifiers and codes become FHIR; Sender is set per message.
	Mapping hl7v2.Options
}

// choose picks the peer of a message among those a connection may be: the first whose
// Applications name MSH-3, or that names none. nil when none fits.
func choose(peers []*Peer, app string) *Peer {
	for _, p := range peers {
		if len(p.Applications) == 0 {
			return p
		}
		for _, a := range p.Applications {
			if strings.EqualFold(a, app) {
				return p
			}
		}
	}
	return nil
}

// Handler takes one message and returns its acknowledgement.
type Handler struct {
	intake Intake
	store  Store
	saver  *saver
	log    *slog.Logger
	now    func() time.Time
	app    string // our MSH-3 when a message names no receiver
	limits hl7v2.Limits
	seq    atomic.Int64
	acks   *prometheus.CounterVec
	// applier applies acknowledged messages; backlog is how many it holds.
	applier *applier
	backlog prometheus.Gauge
	urgent  func(*hl7v2.Message) bool

	closeOnce sync.Once
}

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	Logger      *slog.Logger
	Now         func() time.Time
	Application string // MSH-3 of acknowledgements when the message names no receiving application; default LUJING
	Limits      hl7v2.Limits
	Registerer  prometheus.Registerer
	// Appliers apply acknowledged messages to the intake, one patient's at a time each;
	// default 8. UrgentAppliers serve only patients with a possible critical value; default 2.
	Appliers, UrgentAppliers int
	// Backlog bounds the messages acknowledged and not applied yet; beyond it the ACKs wait,
	// so senders slow to what the intake takes. Default 50,000.
	Backlog int
	// Urgent picks the messages that go before other patients' backlog; default Urgent.
	Urgent func(*hl7v2.Message) bool
	// BusyRate is the arrival rate (messages/s) from which receiving comes first: one
	// applier works on the ordinary backlog until the rate falls again. Default 300; negative:
	// never.
	BusyRate int
}

// NewHandler returns a handler storing through st and in.
func NewHandler(in Intake, st Store, o HandlerOptions) *Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Application == "" {
		o.Application = "LUJING"
	}
	if o.Appliers <= 0 {
		o.Appliers = 8
	}
	if o.UrgentAppliers <= 0 {
		o.UrgentAppliers = 2
	}
	if o.Backlog <= 0 {
		o.Backlog = 50000
	}
	if o.Urgent == nil {
		o.Urgent = Urgent
	}
	if o.BusyRate == 0 {
		o.BusyRate = 300
	}
	h := &Handler{intake: in, store: st, saver: newSaver(st), log: o.Logger, now: o.Now, app: o.Application, limits: o.Limits,
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lujing_hl7_messages_total",
			Help: "HL7 v2 messages acknowledged, by peer and acknowledgement code."}, []string{"peer", "code"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lujing_hl7_backlog_messages",
			Help: "HL7 v2 messages acknowledged (stored) whose FHIR is not applied yet."}),
		urgent: o.Urgent}
	if o.Registerer != nil {
		o.Registerer.MustRegister(h.acks, h.backlog)
	}
	h.applier = newApplier(h.applyLane, h.backlog, o.Appliers, o.UrgentAppliers, o.Backlog, o.BusyRate)
	h.seq.Store(o.Now().UnixMilli())
	h.saver.onLost = func(r Record, err error) {
		// The message and its FHIR are stored; only its verdict is not, so it stays received
		// and is applied again after a restart: unchanged content, no effect.
		h.log.Error("hl7 message verdict not stored", "type", r.Type, "control_id", r.ControlID, "err", err)
	}
	return h
}

// Close stops the appliers (each finishes the message in hand; the rest stay received in the
// store) and then the grouping of stores, once no message can arrive any more.
func (h *Handler) Close() {
	h.closeOnce.Do(func() {
		h.applier.close()
		h.saver.close()
	})
}

// verdict is what became of a message, before it is written as an acknowledgement.
type verdict struct {
	code string // AA, AE or AR
	err  *hl7v2.Error
	text string
	// internal: not stored for a reason of ours; the sender must send again.
	internal bool
}

// Handle processes one message from a connection that may be any of peers (the allow-list
// entries of its address) and returns the acknowledgement to send, nil when the sender asked
// for none (enhanced mode).
func (h *Handler) Handle(ctx context.Context, peers []*Peer, raw []byte) []byte {
	p := peers[0]
	if len(peers) > 1 {
		if hdr, err := hl7v2.ParseHeader(raw, hl7v2.ParseOptions{DefaultCharset: p.Charset}); err == nil {
			if c := choose(peers, hdr.SendingApplication()); c != nil {
				p = c
			}
		}
	}
	opt := hl7v2.ParseOptions{DefaultCharset: p.Charset, Limits: h.limits}
	m, err := hl7v2.Parse(raw, opt)
	if err != nil {
		var he *hl7v2.Error
		if !errors.As(err, &he) {
			he = &hl7v2.Error{Code: hl7v2.CodeSegmentSequence, Msg: err.Error()}
		}
		hdr, _ := hl7v2.ParseHeader(raw, opt)
		h.log.Warn("hl7 message refused: unreadable", "peer", p.Name, "bytes", len(raw), "err", he.Error())
		return h.reply(p, hdr, verdict{code: hl7v2.AR, err: he, text: "message cannot be read"})
	}
	if choose([]*Peer{p}, m.SendingApplication()) == nil {
		h.log.Warn("hl7 message refused: sending application not allowed for this peer", "peer", p.Name)
		return h.reply(p, m, verdict{code: hl7v2.AR, text: "sending application not allowed",
			err: &hl7v2.Error{Code: hl7v2.CodeTableValue, Segment: "MSH", Seq: 1, Field: 3, Msg: "sending application not on the allow-list for this address"}})
	}
	v := h.process(ctx, p, m, raw)
	return h.reply(p, m, v)
}

// TooLarge answers a frame over the size limit: an AR when its header can be read, else nil
// (the caller closes the connection).
func (h *Handler) TooLarge(p *Peer, prefix []byte, limit int) []byte {
	m, err := hl7v2.ParseHeader(prefix, hl7v2.ParseOptions{DefaultCharset: p.Charset})
	h.log.Warn("hl7 message refused: too large", "peer", p.Name, "limit", limit)
	if err != nil {
		return nil
	}
	return h.reply(p, m, verdict{code: hl7v2.AR, text: "message too large",
		err: &hl7v2.Error{Code: hl7v2.CodeInternal, Msg: fmt.Sprintf("message larger than the limit of %d bytes", limit)}})
}

func (h *Handler) process(ctx context.Context, p *Peer, m *hl7v2.Message, raw []byte) verdict {
	control := m.ControlID()
	if control == "" {
		return verdict{code: hl7v2.AR, err: &hl7v2.Error{Code: hl7v2.CodeRequiredMissing, Segment: "MSH", Seq: 1, Field: 10, Msg: "the message control id is required"}}
	}
	if err := hl7v2.CheckVersion(m); err != nil {
		return verdict{code: hl7v2.AR, err: err.(*hl7v2.Error)}
	}
	sender := p.Name + "|" + m.SendingApplication() + "|" + m.SendingFacility()
	log := h.log.With("peer", p.Name, "type", m.TypeString(), "control_id", control)

	sum := sha256.Sum256(raw)
	rec := Record{Sender: sender, ControlID: control, Type: m.TypeString(), Raw: raw, Charset: m.Charset,
		Hash: hex.EncodeToString(sum[:]), ReceivedAt: h.now().UTC()}
	// Mapped here to answer AE at once when it does not map, without writing the Bundle; the
	// applier maps it again (the same message gives the same FHIR).
	res, v := h.translate(p, m, &rec, log, false)
	if v.internal {
		return v
	}
	if res != nil {
		if rec.Status == StatusIgnored {
			log.Info("hl7 message kept, not mapped", "reason", v.text)
		} else if len(res.Warnings) > 0 {
			log.Info("hl7 message accepted with parts left out", "warnings", len(res.Warnings), "first", res.Warnings[0].Error())
		}
		rec.Status = StatusReceived
	}
	stored, prior, err := h.saver.receive(ctx, rec)
	switch {
	case err != nil:
		log.Error("hl7 message not stored", "err", err)
		return internal()
	case prior.ID != 0:
		// The same control id again: acknowledged as the first time, applied once.
		log.Info("hl7 duplicate acknowledged again", "status", prior.Status)
		v := verdict{code: prior.Ack, text: "duplicate of a message already received"}
		if prior.Ack == hl7v2.AE {
			v.err = &hl7v2.Error{Code: hl7v2.CodeInternal, Msg: prior.Error}
		}
		return v
	}
	h.applier.arrived.Add(1)
	if stored.Status == StatusReceived {
		// Stored: the AA may go. Should the listener be closing, the message stays received
		// and is applied after the next start.
		h.applier.add(job{rec: stored, peer: p, urgent: h.urgent(m)}, laneKey(m, stored), false)
	}
	return v
}

// translate maps m to FHIR (writing the Bundle when asked) and sets rec's verdict: AE
// (StatusFailed) when it does not map, and then no result; StatusIgnored with the Bundle that
// only keeps the message when its type is not mapped; StatusAccepted otherwise.
func (h *Handler) translate(p *Peer, m *hl7v2.Message, rec *Record, log *slog.Logger, bundle bool) (*hl7v2.Result, verdict) {
	opt := p.Mapping
	opt.Sender = rec.Sender
	opt.Raw = rec.Raw
	mapMessage := hl7v2.Check
	if bundle {
		mapMessage = hl7v2.ToFHIR
	}
	res, err := mapMessage(m, opt)
	ignored := hl7v2.IsUnsupported(err)
	if ignored {
		res, err = hl7v2.KeepOnly(m, opt)
	}
	var he *hl7v2.Error
	switch {
	case errors.As(err, &he):
		rec.Status, rec.Ack, rec.Error = StatusFailed, hl7v2.AE, he.Error()
		log.Warn("hl7 message kept, mapping failed", "err", he.Error())
		return nil, verdict{code: hl7v2.AE, err: he, text: "stored; mapping failed"}
	case err != nil:
		log.Error("hl7 mapping", "err", err)
		return nil, internal()
	}
	rec.Ack, rec.Error = hl7v2.AA, ""
	if ignored {
		rec.Status = StatusIgnored
		return res, verdict{code: hl7v2.AA, text: "stored; " + m.TypeString() + " is not mapped"}
	}
	rec.Status = StatusAccepted
	v := verdict{code: hl7v2.AA}
	if len(res.Warnings) > 0 {
		v.err = res.Warnings[0]
	}
	return res, v
}

// apply maps the message and hands its Bundle to the intake, and sets rec's verdict.
func (h *Handler) apply(ctx context.Context, p *Peer, m *hl7v2.Message, rec *Record, log *slog.Logger) verdict {
	res, v := h.translate(p, m, rec, log, true)
	if res == nil {
		return v
	}
	src := intake.Source{System: p.Source, Hospital: p.Hospital}
	if src.System == "" {
		src.System = "generic"
	}
	if _, _, err := h.intake.Bundle(ctx, src, res.Bundle); err != nil {
		var re *resource.Error
		if errors.As(err, &re) {
			// The FHIR made of this message is refused: a mapping failure like any other.
			// The diagnostics may quote values; they go to the sender and the record,
			// not to the log.
			rec.Status, rec.Ack, rec.Error = StatusFailed, hl7v2.AE, "FHIR refused: "+re.Error()
			log.Warn("hl7 message kept, its FHIR refused by the intake", "status", re.Status)
			return verdict{code: hl7v2.AE, text: "stored; mapping failed",
				err: &hl7v2.Error{Code: hl7v2.CodeDataType, Msg: rec.Error}}
		}
		log.Error("hl7 message not applied", "err", err)
		return internal()
	}
	return v
}

// applyLane applies a patient's messages in order, their work published to the worker once at
// the end: an applier taking a lane with ten messages waiting (an urgent one behind nine
// others, in a burst) makes one delivery of them, not ten.
func (h *Handler) applyLane(jobs []job) int {
	ctx, publish := intake.Hold(context.Background())
	defer publish()
	for i, j := range jobs {
		if !h.applyReceived(ctx, j) {
			return i
		}
	}
	return len(jobs)
}

// applyReceived applies a message acknowledged earlier and stores its verdict; false when
// it must be tried again (the intake or the store failed).
func (h *Handler) applyReceived(ctx context.Context, j job) bool {
	rec := j.rec
	given := rec.Ack
	log := h.log.With("peer", j.peer.Name, "type", rec.Type, "control_id", rec.ControlID)
	m, err := hl7v2.Parse(rec.Raw, hl7v2.ParseOptions{DefaultCharset: rec.Charset, Limits: h.limits})
	if err != nil {
		// It was read when received: only lower limits since can make this.
		rec.Status, rec.Error = StatusFailed, "cannot be read again: "+err.Error()
		log.Warn("hl7 message kept, not applied: unreadable", "err", err)
		h.saver.saveLater(rec)
		return true
	}
	if v := h.apply(ctx, j.peer, m, &rec, log); v.internal {
		return false
	}
	rec.Ack = given // the record says what the sender was told
	h.saver.saveLater(rec)
	return true
}

// Resume queues the messages acknowledged and not applied before the last stop (a crash, or a
// shutdown with a backlog), in the order received. Call it before the listener accepts
// messages, so that a patient's new messages come after its old ones. peers names the peer of
// each record by Peer.Name; a record of a peer no longer configured stays received.
func (h *Handler) Resume(ctx context.Context, peers map[string]*Peer) (int, error) {
	n := 0
	err := h.eachStored(ctx, h.store.ReceivedHL7, peers, func(p *Peer, rec Record, m *hl7v2.Message, perr error) error {
		key, urgent := "msg:"+rec.Sender+"|"+rec.ControlID, false
		if perr == nil {
			key, urgent = laneKey(m, rec), h.urgent(m)
		}
		if !h.applier.add(job{rec: rec, peer: p, urgent: urgent}, key, true) {
			return errors.New("the listener is closing")
		}
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("resume: %w", err)
	}
	return n, nil
}

// eachStored calls fn, in id order, for the records list returns whose peer is in peers, with
// the message parsed (or why it is not).
func (h *Handler) eachStored(ctx context.Context, list func(context.Context, int64, int) ([]Record, error), peers map[string]*Peer,
	fn func(p *Peer, rec Record, m *hl7v2.Message, parseErr error) error) error {
	var after int64
	for {
		recs, err := list(ctx, after, 500)
		if err != nil {
			return fmt.Errorf("list messages: %w", err)
		}
		if len(recs) == 0 {
			return nil
		}
		for _, rec := range recs {
			after = rec.ID
			name, _, _ := cutSender(rec.Sender)
			p := peers[name]
			if p == nil {
				h.log.Warn("hl7 message left as it is: its peer is not configured", "peer", name, "status", rec.Status, "control_id", rec.ControlID)
				continue
			}
			m, err := hl7v2.Parse(rec.Raw, hl7v2.ParseOptions{DefaultCharset: rec.Charset, Limits: h.limits})
			if err := fn(p, rec, m, err); err != nil {
				return err
			}
		}
	}
}

// Wait returns once every message acknowledged so far by this handler is applied, or ctx
// ends.
func (h *Handler) Wait(ctx context.Context) error { return h.applier.wait(ctx) }

func internal() verdict {
	return verdict{code: hl7v2.AR, internal: true, text: "not stored; send again",
		err: &hl7v2.Error{Code: hl7v2.CodeInternal, Msg: "the message could not be stored"}}
}

// reply writes the acknowledgement. Original mode answers every message with AA, AE or AR.
// Enhanced mode (MSH-15 or MSH-16 set) answers with the accept acknowledgement CA, CE or CR
// as MSH-15 asks (AL always, ER on error only, SU on success only, NE never; empty counts as
// AL, since an MLLP sender waits); the application acknowledgement of MSH-16 would go to a
// return address Lujing is not given, so it is not sent: the outcome is in the store.
func (h *Handler) reply(p *Peer, m *hl7v2.Message, v verdict) []byte {
	code := v.code
	if m != nil && m.Enhanced() {
		switch {
		case v.internal:
			code = hl7v2.CE
		case v.code == hl7v2.AR:
			code = hl7v2.CR
		default:
			code = hl7v2.CA // stored: committed, whatever the mapping said
		}
		switch m.AcceptAck() {
		case "NE":
			code = ""
		case "ER":
			if code == hl7v2.CA {
				code = ""
			}
		case "SU":
			if code != hl7v2.CA {
				code = ""
			}
		}
	}
	h.acks.WithLabelValues(p.Name, ackLabel(code)).Inc()
	if code == "" {
		return nil
	}
	if code == hl7v2.CA && v.code == hl7v2.AE {
		v.text = "stored; the application error is kept with the message"
	}
	return hl7v2.Ack(m, hl7v2.AckOptions{Code: code, ControlID: h.controlID(), Time: h.now(), Text: v.text, Err: v.err, Application: h.app})
}

func ackLabel(code string) string {
	if code == "" {
		return "none"
	}
	return code
}

// controlID is the next acknowledgement's MSH-10: unique within this process's life and
// rising across restarts.
func (h *Handler) controlID() string { return "LJ" + strconv.FormatInt(h.seq.Add(1), 36) }

// Replay maps again the failed messages (after a fix to the mapping or its configuration):
// those that map now go to the intake and become accepted. peers names the peer of each
// record by Peer.Name. It returns how many were accepted.
func (h *Handler) Replay(ctx context.Context, peers map[string]*Peer) (int, error) {
	accepted := 0
	err := h.eachStored(ctx, h.store.FailedHL7, peers, func(p *Peer, rec Record, m *hl7v2.Message, perr error) error {
		if perr != nil {
			return nil
		}
		log := h.log.With("peer", p.Name, "type", rec.Type, "control_id", rec.ControlID)
		if v := h.apply(ctx, p, m, &rec, log); v.internal {
			return fmt.Errorf("%s %s not stored", rec.Type, rec.ControlID)
		}
		if err := h.saver.save(ctx, rec); err != nil {
			return fmt.Errorf("save %s: %w", rec.ControlID, err)
		}
		if rec.Status == StatusAccepted {
			accepted++
		}
		return nil
	})
	if err != nil {
		return accepted, fmt.Errorf("replay: %w", err)
	}
	return accepted, nil
}

func cutSender(s string) (peer, app, facility string) {
	parts := [3]string{}
	i := 0
	start := 0
	for j := 0; j < len(s) && i < 2; j++ {
		if s[j] == '|' {
			parts[i] = s[start:j]
			i++
			start = j + 1
		}
	}
	parts[i] = s[start:]
	return parts[0], parts[1], parts[2]
}
