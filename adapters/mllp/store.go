package mllp

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Record is one HL7 message as received, with what became of it: the raw text Lujing keeps,
// the key duplicates are recognised by (Sender and ControlID), and the acknowledgement given.
type Record struct {
	ID int64 // the store's id, 0 until stored
	// Sender is the peer and the sending application and facility (MSH-3, MSH-4): control
	// ids are unique within one sending application.
	Sender    string
	ControlID string // MSH-10
	Type      string // MSH-9, e.g. "ORU^R01"
	Raw       []byte // the message as received, in its character set
	Charset   string // the character set it was read in
	Hash      string // hex SHA-256 of Raw
	// Status is StatusReceived (acknowledged, its FHIR not applied yet), StatusAccepted,
	// StatusFailed (mapping failed: kept for replay) or StatusIgnored (a type Lujing does not
	// map: kept).
	Status     string
	Ack        string // the MSA-1 code given: AA or AE
	Error      string // why it failed; never patient data
	ReceivedAt time.Time
}

// Record statuses.
const (
	StatusReceived = "received"
	StatusAccepted = "accepted"
	StatusFailed   = "failed"
	StatusIgnored  = "ignored"
)

// Store keeps the raw messages. Implemented by adapters/sqlstore.
type Store interface {
	// ReceiveHL7 stores new records, all or none, and sets their ID; for a record whose
	// sender and control id are stored already (or earlier in recs) it stores nothing and
	// returns the stored record at its index in prior.
	ReceiveHL7(ctx context.Context, recs []Record) (prior []Record, err error)
	// SaveHL7 stores records in one transaction, replacing the verdict of those of the same
	// sender and control id (once applied, or replayed).
	SaveHL7(ctx context.Context, recs []Record) error
	// ReceivedHL7 returns up to limit records not applied yet whose ID is above afterID, by
	// ID.
	ReceivedHL7(ctx context.Context, afterID int64, limit int) ([]Record, error)
	// FailedHL7 returns up to limit failed records whose ID is above afterID, by ID.
	FailedHL7(ctx context.Context, afterID int64, limit int) ([]Record, error)
}

// saver groups the store calls of concurrent connections and of the appliers into one
// transaction of each kind, as the intake groups its Accepts: while one commit runs the next
// records queue up. Several committers run at once: a sender waits for an ACK, so the time of a
// commit, not the work in it, bounds what a connection sends, and a message that arrives while
// a commit runs need not wait for it to end.
type saver struct {
	st     Store
	reqs   chan saveReq
	wg     sync.WaitGroup
	onLost func(Record, error) // a verdict saved later that could not be
}

type saveReq struct {
	rec     Record
	receive bool        // a new message (ReceiveHL7), else a verdict (SaveHL7)
	out     chan result // nil: nobody waits (saveLater)
}

type result struct {
	rec   Record // the record with its ID
	prior Record // for a duplicate received: the stored record (ID set)
	err   error
}

// committers is how many groups may commit at once.
const committers = 3

func newSaver(st Store) *saver {
	s := &saver{st: st, reqs: make(chan saveReq, 1024)}
	for range committers {
		s.wg.Go(s.run)
	}
	return s
}

// receive stores a new message and returns it with its ID; or, when its sender and control id
// are stored already, the stored record as prior.
func (s *saver) receive(ctx context.Context, r Record) (rec, prior Record, err error) {
	res := s.wait(ctx, saveReq{rec: r, receive: true, out: make(chan result, 1)})
	return res.rec, res.prior, res.err
}

// save stores a verdict and waits for its commit.
func (s *saver) save(ctx context.Context, r Record) error {
	return s.wait(ctx, saveReq{rec: r, out: make(chan result, 1)}).err
}

func (s *saver) wait(ctx context.Context, req saveReq) result {
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return result{err: ctx.Err()}
	}
	return <-req.out
}

// saveLater queues a verdict without waiting for its commit; a failure goes to onLost.
func (s *saver) saveLater(r Record) { s.reqs <- saveReq{rec: r} }

func (s *saver) close() {
	close(s.reqs)
	s.wg.Wait()
}

func (s *saver) run() {
	for first := range s.reqs {
		var receives, saves []saveReq
		add := func(r saveReq) {
			if r.receive {
				receives = append(receives, r)
			} else {
				saves = append(saves, r)
			}
		}
		add(first)
	gather:
		for len(receives)+len(saves) < 500 {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break gather
				}
				add(r)
			default:
				break gather
			}
		}
		// New messages first: their senders wait for the commit.
		s.commit(receives, s.receiveGroup)
		s.commit(saves, s.saveGroup)
	}
}

func records(group []saveReq) []Record {
	recs := make([]Record, len(group))
	for i, r := range group {
		recs[i] = r.rec
	}
	return recs
}

func (s *saver) receiveGroup(ctx context.Context, group []saveReq) ([]result, error) {
	recs := records(group)
	prior, err := s.st.ReceiveHL7(ctx, recs)
	if err != nil {
		return nil, err
	}
	out := make([]result, len(group))
	for i := range group {
		out[i] = result{rec: recs[i], prior: prior[i]}
	}
	return out, nil
}

func (s *saver) saveGroup(ctx context.Context, group []saveReq) ([]result, error) {
	if err := s.st.SaveHL7(ctx, records(group)); err != nil {
		return nil, err
	}
	out := make([]result, len(group))
	for i, r := range group {
		out[i] = result{rec: r.rec}
	}
	return out, nil
}

func (s *saver) commit(group []saveReq, store func(context.Context, []saveReq) ([]result, error)) {
	if len(group) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := store(ctx, group)
	if err == nil {
		for i, r := range group {
			s.answer(r, res[i])
		}
		return
	}
	if len(group) == 1 {
		s.answer(group[0], result{rec: group[0].rec, err: err})
		return
	}
	// One record must not fail the others: alone, each gets its own verdict.
	for _, r := range group {
		res, err := store(ctx, []saveReq{r})
		if err != nil {
			s.answer(r, result{rec: r.rec, err: fmt.Errorf("alone after its group failed: %w", err)})
			continue
		}
		s.answer(r, res[0])
	}
}

func (s *saver) answer(r saveReq, res result) {
	if r.out != nil {
		r.out <- res
		return
	}
	if res.err != nil && s.onLost != nil {
		s.onLost(r.rec, res.err)
	}
}
