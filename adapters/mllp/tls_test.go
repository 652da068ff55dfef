package mllp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/mllp"
)

// issue makes a certificate for cn signed by ca (self-signed when ca is nil).
func issue(t *testing.T, cn string, ca *tls.Certificate, isCA bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.Leaf, ca.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestTLS: over TLS with client certificates, the allow-list also checks the certificate's
// common name: the lab's certificate is answered, another one from the same address is not.
func TestTLS(t *testing.T) {
	ca := issue(t, "hospital CA", nil, true)
	server := issue(t, "lujing", &ca, false)
	lab := issue(t, "lis.hospital", &ca, false)
	stranger := issue(t, "someone.else", &ca, false)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Leaf)

	h := mllp.NewHandler(fakeIntake{}, newFakeStore(), mllp.HandlerOptions{})
	defer h.Close()
	peer := &mllp.Peer{Name: "lab", Source: "lis"}
	srv := mllp.NewServer(h, mllp.ServerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Allow: []mllp.Allowed{{Peer: peer, Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, CommonNames: []string{"lis.hospital"}}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{server}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ctx, tln) }()
	defer func() { cancel(); <-done }()

	dial := func(cert tls.Certificate) *mllp.Client {
		c, err := mllp.Dial(t.Context(), ln.Addr().String(), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		c.Timeout = 3 * time.Second
		return c
	}
	c := dial(lab)
	defer c.Close()
	msg := message(msh("LIS", "VXU^V04^VXU_V04", "T-1"), pid("1"))
	if code, _, e := send(t, c, msg); code != "AA" {
		t.Errorf("lab over TLS: %s %s", code, e)
	}
	s := dial(stranger)
	defer s.Close()
	if _, err := s.Send(t.Context(), msg); err == nil {
		t.Error("a certificate not on the allow-list was answered")
	}
}
