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
	// Status is StatusAccepted, StatusFailed (mapping failed: kept for replay) or
	// StatusIgnored (a type Lujing does not map: kept).
	Status     string
	Ack        string // the MSA-1 code given: AA or AE
	Error      string // why it failed; never patient data
	ReceivedAt time.Time
}

// Record statuses.
const (
	StatusAccepted = "accepted"
	StatusFailed   = "failed"
	StatusIgnored  = "ignored"
)

// Store keeps the raw messages. Implemented by adapters/sqlstore.
type Store interface {
	// HL7Message returns the record of a sender's control id; an error wrapping
	// store.ErrNotFound when there is none.
	HL7Message(ctx context.Context, sender, controlID string) (Record, error)
	// SaveHL7 stores records in one transaction, replacing those of the same sender and
	// control id (a replay's new verdict).
	SaveHL7(ctx context.Context, recs []Record) error
	// FailedHL7 returns up to limit failed records whose ID is above afterID, by ID.
	FailedHL7(ctx context.Context, afterID int64, limit int) ([]Record, error)
}

// saver groups the SaveHL7 calls of concurrent connections into one transaction, as the
// intake groups their Accepts: while one commit runs the next records queue up.
type saver struct {
	st     Store
	reqs   chan saveReq
	done   chan struct{}
	onLost func(Record, error) // a record saved later that could not be

	// unsaved are the records queued by saveLater and not committed yet: the duplicate check
	// reads them first, so a resend right after its AA is recognised.
	mu      sync.Mutex
	unsaved map[[2]string]Record
}

type saveReq struct {
	rec Record
	out chan error // nil: nobody waits (saveLater)
}

func newSaver(st Store) *saver {
	s := &saver{st: st, reqs: make(chan saveReq, 1024), done: make(chan struct{}), unsaved: map[[2]string]Record{}}
	go s.run()
	return s
}

func (s *saver) save(ctx context.Context, r Record) error {
	req := saveReq{rec: r, out: make(chan error, 1)}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.out
}

// saveLater queues r without waiting for its commit; a failure is logged by the caller's
// callback.
func (s *saver) saveLater(r Record) {
	s.mu.Lock()
	s.unsaved[[2]string{r.Sender, r.ControlID}] = r
	s.mu.Unlock()
	s.reqs <- saveReq{rec: r}
}

// queued returns a record saveLater holds that is not committed yet.
func (s *saver) queued(sender, controlID string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.unsaved[[2]string{sender, controlID}]
	return r, ok
}

func (s *saver) close() {
	close(s.reqs)
	<-s.done
}

func (s *saver) run() {
	defer close(s.done)
	for first := range s.reqs {
		group := []saveReq{first}
	gather:
		for len(group) < 500 {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break gather
				}
				group = append(group, r)
			default:
				break gather
			}
		}
		s.commit(group)
	}
}

func (s *saver) commit(group []saveReq) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs := make([]Record, len(group))
	for i, r := range group {
		recs[i] = r.rec
	}
	err := s.st.SaveHL7(ctx, recs)
	if err == nil || len(group) == 1 {
		for _, r := range group {
			s.answer(r, err)
		}
		return
	}
	// One record must not fail the others: alone, each gets its own verdict.
	for _, r := range group {
		err := s.st.SaveHL7(ctx, []Record{r.rec})
		if err != nil {
			err = fmt.Errorf("alone after its group failed: %w", err)
		}
		s.answer(r, err)
	}
}

func (s *saver) answer(r saveReq, err error) {
	s.mu.Lock()
	if q, ok := s.unsaved[[2]string{r.rec.Sender, r.rec.ControlID}]; ok && q.Hash == r.rec.Hash && q.ReceivedAt.Equal(r.rec.ReceivedAt) {
		delete(s.unsaved, [2]string{r.rec.Sender, r.rec.ControlID})
	}
	s.mu.Unlock()
	if r.out != nil {
		r.out <- err
		return
	}
	if err != nil && s.onLost != nil {
		s.onLost(r.rec, err)
	}
}
