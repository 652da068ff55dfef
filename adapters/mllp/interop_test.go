package mllp_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/adapters/mllp"
)

const installPeer = "apt-get install -y python3-hl7 (Debian's python-hl7: the mllp_send client and the hl7.mllp server)"

// peerMissing skips the test, or fails it under CI, where the interop test must run.
func peerMissing(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("interop peer missing under CI: %s; %s", what, installPeer)
	}
	t.Skipf("interop peer not installed (%s): %s", what, installPeer)
}

// hl7Python is a Python that imports python-hl7: LUJING_HL7_PYTHON, else the system's.
func hl7Python(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("LUJING_HL7_PYTHON"), "/usr/bin/python3", "python3"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if err := exec.Command(c, "-c", "import hl7.mllp").Run(); err == nil {
			return c
		}
	}
	peerMissing(t, "no python3 that imports hl7.mllp")
	return ""
}

// TestInteropMLLPSend: python-hl7's mllp_send, an independent MLLP client, sends a lab's
// results (the critical potassium among them, in GB18030) and a sample ORU from another
// project's corpus to Lujing's listener; each gets an AA for its control id, and the
// potassium becomes a critical result event.
func TestInteropMLLPSend(t *testing.T) {
	mllpSend, err := exec.LookPath("mllp_send")
	if err != nil {
		peerMissing(t, "mllp_send not on PATH")
	}
	p := newPipeline(t, pipelineOptions{})
	his := p.dial(t)
	send(t, his, admit("I-0", "800", "V8"))

	sample, err := os.ReadFile("../hl7v2/testdata/microsoft-fhir-converter/LAB-ORU-1.hl7")
	if err != nil {
		t.Fatal(err)
	}
	sample = bytes.TrimPrefix(sample, []byte("\xEF\xBB\xBF"))
	// The sample's sender is "SomeSystem": it comes in as the catch-all peer, UTF-8.
	var file bytes.Buffer
	file.Write(potassium("I-1", "800", "V8", "6.9", "HH"))
	file.WriteString("\n")
	file.Write(potassium("I-2", "800", "V8", "4.0", "N"))
	file.WriteString("\n")
	file.Write(sample)
	path := filepath.Join(t.TempDir(), "messages.hl7")
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(p.addr, ":")
	out, err := exec.CommandContext(t.Context(), mllpSend, "--loose", "--file", path, "-p", port, host).CombinedOutput()
	if err != nil {
		t.Fatalf("mllp_send: %v\n%s", err, out)
	}
	for _, control := range []string{"I-1", "I-2", "182"} {
		if !bytes.Contains(out, []byte("MSA|AA|"+control)) {
			t.Errorf("no AA for %s in mllp_send's output:\n%q", control, out)
		}
	}
	p.settle(t)
	_, evs := p.patientEvents(t, "800")
	critical := 0
	for _, e := range evs {
		if e.Kind == "result" && strings.HasPrefix(e.Resource, "Observation/") && resultData(t, e).Critical {
			critical++
		}
	}
	if critical != 1 {
		t.Errorf("%d critical results, want 1", critical)
	}
}

// TestInteropClient: Lujing's MLLP client against python-hl7's MLLP server: every message
// is acknowledged AA for its control id with an ACK python-hl7 wrote, which Lujing parses.
func TestInteropClient(t *testing.T) {
	py := hl7Python(t)
	cmd := exec.CommandContext(t.Context(), py, "testdata/hl7_server.py")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	port := ""
	portCh := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if p, ok := strings.CutPrefix(lines.Text(), "port "); ok && port == "" {
				port = p
				portCh <- p
			}
		}
	}()
	select {
	case port = <-portCh:
	case <-time.After(10 * time.Second):
		t.Fatalf("python-hl7 server did not start: %s", stderr.String())
	}
	c, err := mllp.Dial(t.Context(), "127.0.0.1:"+port, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeout = 5 * time.Second
	for i := range 20 {
		control := fmt.Sprintf("C-%d", i)
		msg := message(msh("LIS", "ORU^R01^ORU_R01", control, 18, "UNICODE UTF-8"), pid("900"),
			seg("OBR", 1, "1", 4, "2823-3^Potassium^LN"), seg("OBX", 1, "1", 2, "NM", 3, "2823-3^Potassium^LN", 5, "4.0", 11, "F"))
		raw, err := c.Send(t.Context(), msg)
		if err != nil {
			t.Fatalf("message %d: %v (server: %s)", i, err, stderr.String())
		}
		ack, err := hl7v2.Parse(raw, hl7v2.ParseOptions{})
		if err != nil {
			t.Fatalf("python-hl7's ACK does not parse: %v\n%q", err, raw)
		}
		msa, _ := ack.Segment("MSA")
		if msa.Field(1).String() != "AA" || msa.Field(2).String() != control {
			t.Errorf("message %d: MSA %q", i, msa.Field(1).Raw()+"|"+msa.Field(2).Raw())
		}
	}
}
