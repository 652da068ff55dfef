package mllp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/mllp"
)

// raw is a plain TCP connection for writing broken framing.
func raw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// closed reports whether the server closed c (a read ends with EOF or a reset).
func closed(c net.Conn, within time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(within))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestBadInput: broken framing and oversized messages get a NAK or a closed connection,
// never a crash, and never disturb another connection sending all along.
func TestBadInput(t *testing.T) {
	p := newPipeline(t, pipelineOptions{maxMessage: 4096, idle: 500 * time.Millisecond})

	// A healthy sender on its own connection throughout.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	healthy := 0
	var healthyErr error
	wg.Go(func() {
		c, err := mllp.Dial(t.Context(), p.addr, nil)
		if err != nil {
			healthyErr = err
			return
		}
		defer c.Close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ack, err := c.Send(t.Context(), potassium(fmt.Sprintf("H-%d", i), "500", "V5", "4.2", "N"))
			if err != nil || !bytes.Contains(ack, []byte("MSA|AA|")) {
				healthyErr = fmt.Errorf("healthy sender, message %d: %v %q", i, err, ack)
				return
			}
			healthy++
		}
	})

	t.Run("garbage between frames", func(t *testing.T) {
		c := raw(t, p.addr)
		c.Write([]byte("garbage\r\n"))
		c.Write(mllp.Frame(potassium("G-1", "501", "V", "4.0", "N")))
		c.Write([]byte("\x00\xffmore garbage"))
		c.Write(mllp.Frame(potassium("G-2", "501", "V", "4.0", "N")))
		r := mllp.NewReader(c, 1<<20)
		for _, want := range []string{"G-1", "G-2"} {
			ack, err := r.ReadFrame()
			if err != nil || !bytes.Contains(ack, []byte("MSA|AA|"+want)) {
				t.Errorf("after garbage: %q, %v", ack, err)
			}
		}
	})
	t.Run("truncated frame", func(t *testing.T) {
		c := raw(t, p.addr)
		msg := mllp.Frame(potassium("T-1", "502", "V", "4.0", "N"))
		c.Write(msg[:len(msg)/2])
		c.Close()
		// Nothing to answer; the message was never complete, so it is not stored.
		time.Sleep(100 * time.Millisecond)
		if _, err := p.st.HL7Message(t.Context(), "lab|LIS|HOSP", "T-1"); err == nil {
			t.Error("a truncated message was stored")
		}
	})
	t.Run("frame without end block", func(t *testing.T) {
		c := raw(t, p.addr)
		c.Write([]byte{mllp.StartBlock})
		c.Write(potassium("N-1", "503", "V", "4.0", "N"))
		if !closed(c, 3*time.Second) {
			t.Error("not closed after the idle timeout")
		}
	})
	t.Run("larger than the limit", func(t *testing.T) {
		c := raw(t, p.addr)
		big := potassium("L-1", "504", "V", "4.0", "N")
		big = append(big, bytes.Repeat([]byte("NTE|1||padding\r"), 1000)...)
		c.Write(mllp.Frame(big))
		c.Write(mllp.Frame(potassium("L-2", "504", "V", "4.0", "N")))
		r := mllp.NewReader(c, 1<<20)
		ack, err := r.ReadFrame()
		if err != nil || !bytes.Contains(ack, []byte("MSA|AR|L-1")) {
			t.Errorf("too large: %q, %v", ack, err)
		}
		ack, err = r.ReadFrame()
		if err != nil || !bytes.Contains(ack, []byte("MSA|AA|L-2")) {
			t.Errorf("the next message on the connection: %q, %v", ack, err)
		}
	})
	t.Run("larger than the limit, no header", func(t *testing.T) {
		c := raw(t, p.addr)
		c.Write(mllp.Frame(bytes.Repeat([]byte("x"), 10000)))
		if !closed(c, 3*time.Second) {
			t.Error("not closed")
		}
	})
	t.Run("endless frame", func(t *testing.T) {
		c := raw(t, p.addr)
		c.Write([]byte{mllp.StartBlock})
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		var err error
		for i := 0; i < 2000 && err == nil; i++ { // up to 128 MiB: the server must give up first
			_, err = c.Write(chunk)
		}
		if err == nil && !closed(c, 3*time.Second) {
			t.Error("an endless frame did not close the connection")
		}
	})
	close(stop)
	wg.Wait()
	if healthyErr != nil {
		t.Fatal(healthyErr)
	}
	if healthy == 0 {
		t.Error("the healthy sender sent nothing")
	}
	t.Logf("healthy sender: %d messages acknowledged AA meanwhile", healthy)
}

// TestNotAllowed: an address off the allow-list is closed without a word.
func TestNotAllowed(t *testing.T) {
	p := newPipeline(t, pipelineOptions{allow: []netip.Prefix{netip.MustParsePrefix("10.9.9.9/32")}})
	c := raw(t, p.addr)
	c.Write(mllp.Frame(potassium("X-1", "600", "V", "4.0", "N")))
	b := make([]byte, 1)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c.Read(b); n != 0 || err == nil || errors.Is(err, io.ErrNoProgress) {
		t.Errorf("read %d, %v: want the connection closed", n, err)
	}
}

// TestPerPatientOrder: one connection's messages for one patient are stored in the order
// sent, and the worker applies them in that order: the report of each ORU gets a message id
// above the one before, and the admission, ten results and the discharge all become events.
func TestPerPatientOrder(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	his, lab := p.dial(t), p.dial(t)
	send(t, his, admit("O-0", "700", "V7"))
	for i := 1; i <= 10; i++ {
		if code, _, e := send(t, lab, potassium(fmt.Sprintf("O-%d", i), "700", "V7", fmt.Sprintf("%d.0", i), "N")); code != "AA" {
			t.Fatalf("message %d: %s %s", i, code, e)
		}
	}
	p.settle(t)
	id, evs := p.patientEvents(t, "700")
	var values []string
	for _, e := range evs {
		if e.Kind == "result" && e.Resource[:12] == "Observation/" {
			values = append(values, string(resultData(t, e).Value.Number))
		}
	}
	if len(values) != 10 {
		t.Fatalf("%d results for %s", len(values), id)
	}
	msgs, err := p.st.Messages(t.Context(), storeFilter("lis"))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range msgs {
		if m.Type == "Observation" {
			order = append(order, observationValue(t, m.Body))
		}
	}
	want := []string{"1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "7.0", "8.0", "9.0", "10.0"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("stored in the order %v", order)
	}
}
