// Package mllp is Lujing's HL7 v2 door: a listener for the Minimal Lower Layer Protocol that
// takes messages from the hospital systems on its allow-list, stores each one, maps it to
// FHIR through the same intake as FHIR input, and acknowledges it; and a client, for tests,
// benchmarks and replay to a downstream system.
//
// One connection's messages are handled one at a time, each acknowledged before the next is
// read (the normal MLLP flow), so one sender's messages for a patient are stored in the order
// sent. Concurrent connections' stores are grouped into shared transactions.
package mllp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MLLP framing: <VT> message <FS><CR>.
const (
	StartBlock = 0x0B
	EndBlock   = 0x1C
	EndCR      = 0x0D
)

var (
	// ErrTooLarge: the frame was longer than the limit. It was read to its end and dropped;
	// ReadFrame returns its first bytes, enough to answer it.
	ErrTooLarge = errors.New("mllp: message larger than the limit")
	// ErrTruncated: the connection ended inside a frame.
	ErrTruncated = errors.New("mllp: connection closed inside a frame")
	// ErrRunaway: a frame far beyond the limit with no end in sight: the connection must go.
	ErrRunaway = errors.New("mllp: frame without end far beyond the limit")
)

// Reader reads MLLP frames.
type Reader struct {
	br  *bufio.Reader
	max int
	// Skipped counts the bytes outside frames (garbage between frames, a frame cut short by
	// a new start block) since the last call; CR and LF between frames are not counted.
	Skipped int
}

// NewReader reads frames of at most max bytes from r.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// ReadFrame returns the next message without its framing. At the end of the stream between
// frames it returns io.EOF.
func (r *Reader) ReadFrame() ([]byte, error) {
	r.Skipped = 0
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == StartBlock {
			break
		}
		if b != '\r' && b != '\n' {
			r.Skipped++
		}
	}
	var buf []byte
	dropped := 0
	for {
		chunk, err := r.br.ReadSlice(EndBlock)
		if i := bytes.LastIndexByte(chunk, StartBlock); i >= 0 {
			// A new frame began before this one ended: what came before is lost.
			r.Skipped += len(buf) + dropped + i + 1
			buf, dropped = buf[:0], 0
			chunk = chunk[i+1:]
		}
		ended := err == nil
		content := chunk
		if ended {
			content = chunk[:len(chunk)-1]
		}
		if room := r.max - len(buf); len(content) > room {
			buf = append(buf, content[:max(room, 0)]...)
			dropped += len(content) - max(room, 0)
		} else {
			buf = append(buf, content...)
		}
		switch {
		case ended:
			// The CR after FS, when it is already there: a sender that ends frames with FS
			// alone must not make us wait.
			if r.br.Buffered() > 0 {
				if next, _ := r.br.Peek(1); len(next) == 1 && next[0] == EndCR {
					r.br.ReadByte()
				}
			}
			if dropped > 0 {
				return buf, ErrTooLarge
			}
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if dropped > 16*r.max+(16<<20) {
				return nil, ErrRunaway
			}
		case errors.Is(err, io.EOF):
			return nil, ErrTruncated
		default:
			return nil, err
		}
	}
}

// Frame wraps a message in MLLP framing.
func Frame(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+3)
	out = append(out, StartBlock)
	out = append(out, msg...)
	return append(out, EndBlock, EndCR)
}
