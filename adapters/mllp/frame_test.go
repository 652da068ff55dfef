package mllp_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/lujing-health/lujing/adapters/mllp"
)

// TestReadFrame: frames back to back, garbage and blank lines between them, a frame ended by
// FS alone, a frame cut short by a new start block, an oversized one, and the stream's end.
func TestReadFrame(t *testing.T) {
	var in bytes.Buffer
	in.Write(mllp.Frame([]byte("one")))
	in.WriteString("\r\ngarbage")
	in.Write(mllp.Frame([]byte("two")))
	in.WriteString("\x0bcut short")
	in.Write(mllp.Frame([]byte("three")))
	in.WriteString("\x0bfour\x1c")
	in.Write(mllp.Frame(bytes.Repeat([]byte("x"), 100)))
	in.Write(mllp.Frame([]byte("six")))
	in.WriteString("\x0bseven, never ended")
	r := mllp.NewReader(&in, 50)
	want := []struct {
		msg     string
		err     error
		skipped int
	}{
		{"one", nil, 0},
		{"two", nil, 7},
		{"three", nil, 10},
		{"four", nil, 0},
		{string(bytes.Repeat([]byte("x"), 50)), mllp.ErrTooLarge, 0},
		{"six", nil, 0},
		{"", mllp.ErrTruncated, 0},
		{"", io.EOF, 0},
	}
	for i, w := range want {
		got, err := r.ReadFrame()
		if !errors.Is(err, w.err) || string(got) != w.msg || r.Skipped != w.skipped {
			t.Errorf("frame %d: %q, %v, skipped %d; want %q, %v, %d", i, got, err, r.Skipped, w.msg, w.err, w.skipped)
		}
	}
}

// FuzzFrame: any byte stream reads as frames without a panic, no frame exceeds the limit, and
// what Frame wrote reads back unchanged.
func FuzzFrame(f *testing.F) {
	f.Add([]byte("\x0bMSH|^~\\&|A\x1c\r"), []byte("abc"))
	f.Add([]byte("junk\x0b\x0b\x1c\x1c\r\x0b"), []byte(""))
	f.Add(bytes.Repeat([]byte("\x0bxx\x1c"), 50), []byte("MSH|\x1c"))
	f.Fuzz(func(t *testing.T, stream, msg []byte) {
		r := mllp.NewReader(bytes.NewReader(stream), 64)
		for range 1000 {
			got, err := r.ReadFrame()
			if len(got) > 64 {
				t.Fatalf("frame of %d bytes over the limit", len(got))
			}
			if err != nil && !errors.Is(err, mllp.ErrTooLarge) {
				break
			}
		}
		if bytes.ContainsAny(msg, "\x0b\x1c") {
			return
		}
		r = mllp.NewReader(bytes.NewReader(mllp.Frame(msg)), 1<<20)
		got, err := r.ReadFrame()
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip: %q, %v", got, err)
		}
	})
}
