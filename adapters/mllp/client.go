package mllp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// Client sends messages over one MLLP connection, one at a time, each waiting for its
// acknowledgement. It is not safe for concurrent use.
type Client struct {
	c       net.Conn
	r       *Reader
	Timeout time.Duration // for one message and its acknowledgement; default 30 seconds
}

// Dial connects to addr; tlsConfig nil for plain TCP.
func Dial(ctx context.Context, addr string, tlsConfig *tls.Config) (*Client, error) {
	var d net.Dialer
	var c net.Conn
	var err error
	if tlsConfig != nil {
		c, err = (&tls.Dialer{NetDialer: &d, Config: tlsConfig}).DialContext(ctx, "tcp", addr)
	} else {
		c, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("mllp dial %s: %w", addr, err)
	}
	return &Client{c: c, r: NewReader(c, 16<<20), Timeout: 30 * time.Second}, nil
}

// Send writes msg framed and returns the acknowledgement's message.
func (cl *Client) Send(ctx context.Context, msg []byte) ([]byte, error) {
	deadline := time.Now().Add(cl.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	cl.c.SetDeadline(deadline)
	if _, err := cl.c.Write(Frame(msg)); err != nil {
		return nil, fmt.Errorf("mllp send: %w", err)
	}
	ack, err := cl.r.ReadFrame()
	if err != nil {
		return nil, fmt.Errorf("mllp read acknowledgement: %w", err)
	}
	return ack, nil
}

// Write sends msg framed without waiting for an acknowledgement (enhanced mode with none
// asked for).
func (cl *Client) Write(msg []byte) error {
	cl.c.SetWriteDeadline(time.Now().Add(cl.Timeout))
	_, err := cl.c.Write(Frame(msg))
	return err
}

// Close closes the connection.
func (cl *Client) Close() error { return cl.c.Close() }
