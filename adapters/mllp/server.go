package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Allowed is one entry of the allow-list: the addresses a peer connects from.
type Allowed struct {
	Peer     *Peer
	Networks []netip.Prefix
	// CommonNames, when set, must hold the subject common name of the TLS client certificate
	// (the listener then needs client certificates).
	CommonNames []string
}

// ServerOptions configure a Server.
type ServerOptions struct {
	Allow []Allowed
	// MaxMessage is the largest message in bytes; default 1 MiB.
	MaxMessage int
	// IdleTimeout closes a connection that sends nothing (or a frame that never ends) for
	// that long; default 5 minutes.
	IdleTimeout time.Duration
	// WriteTimeout bounds writing one acknowledgement; default 30 seconds.
	WriteTimeout time.Duration
	// MaxConnections bounds the connections served at once; more wait to be accepted.
	// Default 256.
	MaxConnections int
	Logger         *slog.Logger
}

// Server accepts MLLP connections from the allow-list and hands their messages to a Handler.
type Server struct {
	h     *Handler
	o     ServerOptions
	log   *slog.Logger
	slots chan struct{}
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewServer returns a server over h.
func NewServer(h *Handler, o ServerOptions) *Server {
	if o.MaxMessage <= 0 {
		o.MaxMessage = 1 << 20
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 256
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Server{h: h, o: o, log: o.Logger, slots: make(chan struct{}, o.MaxConnections), conns: map[net.Conn]struct{}{}}
}

// Serve accepts connections on ln until ctx ends, then closes ln, lets each connection finish
// the message it is handling (acknowledged), closes them and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			// Wake connections waiting for a message; one being handled finishes first.
			c.SetReadDeadline(time.Now())
		}
		s.mu.Unlock()
	})
	defer stop()
	var err error
	for {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			<-s.slots
			if ctx.Err() != nil {
				err = nil
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.slots }()
			s.serveConn(ctx, c)
		}()
	}
	s.wg.Wait()
	return err
}

// match finds the peers a connection may be (those of its address, and certificate), none
// when it is not on the allow-list.
func (s *Server) match(c net.Conn) []*Peer {
	addr, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return nil
	}
	ip := addr.Addr().Unmap()
	var cn string
	if tc, ok := c.(*tls.Conn); ok {
		st := tc.ConnectionState()
		if len(st.PeerCertificates) > 0 {
			cn = st.PeerCertificates[0].Subject.CommonName
		}
	}
	var out []*Peer
	for _, a := range s.o.Allow {
		inNet := false
		for _, n := range a.Networks {
			if n.Contains(ip) {
				inNet = true
				break
			}
		}
		if !inNet {
			continue
		}
		if len(a.CommonNames) > 0 {
			found := false
			for _, want := range a.CommonNames {
				found = found || want == cn
			}
			if !found {
				continue
			}
		}
		out = append(out, a.Peer)
	}
	return out
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	remote := c.RemoteAddr().String()
	if tc, ok := c.(*tls.Conn); ok {
		c.SetDeadline(time.Now().Add(s.o.IdleTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			s.log.Warn("mllp TLS handshake failed", "remote", remote, "err", err)
			return
		}
		c.SetDeadline(time.Time{})
	}
	peers := s.match(c)
	if len(peers) == 0 {
		s.log.Warn("mllp connection refused: not on the allow-list", "remote", remote)
		return
	}
	p := peers[0]
	log := s.log.With("peer", p.Name, "remote", remote)
	log.Debug("mllp connection opened")
	r := NewReader(c, s.o.MaxMessage)
	for ctx.Err() == nil {
		c.SetReadDeadline(time.Now().Add(s.o.IdleTimeout))
		frame, err := r.ReadFrame()
		if r.Skipped > 0 {
			log.Warn("mllp bytes outside frames dropped", "bytes", r.Skipped)
		}
		var ack []byte
		switch {
		case err == nil:
			// A message received is handled to the end even if the server is stopping:
			// its sender gets its acknowledgement.
			ack = s.h.Handle(context.WithoutCancel(ctx), peers, frame)
		case errors.Is(err, ErrTooLarge):
			if ack = s.h.TooLarge(p, frame, s.o.MaxMessage); ack == nil {
				return
			}
		case errors.Is(err, io.EOF):
			log.Debug("mllp connection closed by the peer")
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			if ctx.Err() == nil {
				log.Info("mllp connection idle or frame unfinished: closed", "timeout", s.o.IdleTimeout)
			}
			return
		default:
			log.Warn("mllp connection closed", "err", err)
			return
		}
		if ack == nil {
			continue
		}
		c.SetWriteDeadline(time.Now().Add(s.o.WriteTimeout))
		if _, err := c.Write(Frame(ack)); err != nil {
			log.Warn("mllp acknowledgement not sent", "err", err)
			return
		}
	}
}
