package mllp_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/lujing-health/lujing/adapters/mllp"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsWithoutPatientData: accepted, failed, refused and oversized messages are all logged,
// and no log line holds the patient's name, MRN, birth date or result.
func TestLogsWithoutPatientData(t *testing.T) {
	var logs syncBuffer
	p := newPipeline(t, pipelineOptions{log: &logs, maxMessage: 2048})
	c := p.dial(t)
	send(t, c, potassium("P-1", "0009876543", "V9", "6.9", "HH"))
	send(t, c, potassium("P-2", "0009876543", "V9", "6,9", "HH"))                                             // AE: not a number
	send(t, c, append(potassium("P-3", "0009876543", "V9", "6.9", "HH")[:200], 0x81, 0x7F))                   // AR: invalid GB18030
	send(t, c, append(potassium("P-4", "0009876543", "V9", "6.9", "HH"), bytes.Repeat([]byte("x"), 3000)...)) // AR: too large
	send(t, c, message(msh("LIS", "ORU^R01", "P-5"), pid("0009876543"), seg("OBX", 1, "1", 2, "NM", 3, "2823-3^K^LN", 5, "6.9")))
	p.settle(t)
	out := logs.String()
	if !strings.Contains(out, "P-2") || !strings.Contains(out, "too large") {
		t.Fatalf("the log does not tell what happened:\n%s", out)
	}
	for _, secret := range []string{"0009876543", "张", "19600101", "6.9", "6,9"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds patient data %q:\n%s", secret, out)
		}
	}
	_ = mllp.StatusFailed
}
