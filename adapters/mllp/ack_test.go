package mllp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/mllp"
	"github.com/lujing-health/lujing/adapters/store"
)

// TestAcknowledgements: what each kind of message is answered with, and what is kept.
func TestAcknowledgements(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	c := p.dial(t)
	cases := []struct {
		name    string
		msg     []byte
		code    string
		errCode string // ERR-3 code (or ERR-1 for v2.3), "" for no ERR
		status  string // the stored record's status; "" when nothing is stored
	}{
		{"result", potassium("K-1", "100", "V1", "4.1", "N"), "AA", "", "accepted"},
		{"same control id again", potassium("K-1", "100", "V1", "4.1", "N"), "AA", "", "accepted"},
		{"same control id, other content: not applied", potassium("K-1", "100", "V1", "9.9", "HH"), "AA", "", "accepted"},
		{"NM not a number", potassium("K-2", "100", "V1", "high", "H"), "AE", "102", "failed"},
		{"failed one again", potassium("K-2", "100", "V1", "high", "H"), "AE", "207", "failed"},
		{"type not mapped", message(msh("LIS", "VXU^V04^VXU_V04", "V-1"), pid("100")), "AA", "", "ignored"},
		{"no PID", message(msh("LIS", "ORU^R01", "K-3"), seg("OBR", 1, "1", 4, "2823-3^K^LN")), "AE", "100", "failed"},
		{"no control id", message(msh("LIS", "ORU^R01", ""), pid("100")), "AR", "101", ""},
		{"version 2.2", message(msh("LIS", "ORU^R01", "K-4", 12, "2.2"), pid("100")), "AR", "MSH^1^12^203&Unsupported version id&HL70357", ""},
		{"not HL7", []byte("hello, world"), "AR", "100", ""},
		{"wrong MSH", []byte("MSH|^~\\|x|y\rPID|1"), "AR", "100", ""},
		{"invalid GB18030", append(potassium("K-5", "100", "V1", "4.1", "N")[:40], 0x81, 0x7F, '\r'), "AR", "102", ""},
		{"more fields than PID has", message(msh("LIS", "ORU^R01", "K-6"), pid("100")+strings.Repeat("|x", 100),
			seg("OBR", 1, "1", 4, "2823-3^K^LN"), seg("OBX", 1, "1", 2, "NM", 3, "2823-3^K^LN", 5, "4.0")), "AA", "", "accepted"},
		{"absurdly many fields", message(msh("LIS", "ORU^R01", "K-7"), pid("100")+strings.Repeat("|", 5000)), "AR", "100", ""},
		{"application not allowed", message(msh("PACS", "ORU^R01", "K-8"), pid("100")), "AA", "", ""},
	}
	final := map[string]string{} // control id → the status it must end with
	for _, c2 := range cases {
		code, control, errSeg := send(t, c, c2.msg)
		if code != c2.code {
			t.Errorf("%s: %s (%s), want %s", c2.name, code, errSeg, c2.code)
		}
		if c2.errCode == "" && errSeg != "" || !strings.HasPrefix(errSeg, c2.errCode) {
			t.Errorf("%s: ERR %q, want code %q", c2.name, errSeg, c2.errCode)
		}
		if c2.status == "" || control == "" {
			continue
		}
		// Stored before the acknowledgement; a message that maps is then applied (received →
		// accepted or ignored) after it.
		rec, err := p.st.HL7Message(t.Context(), "lab|LIS|HOSP", control)
		if err != nil || rec.Status != c2.status && rec.Status != mllp.StatusReceived {
			t.Errorf("%s: stored %q, %v; want %q", c2.name, rec.Status, err, c2.status)
		}
		if _, ok := final[control]; !ok {
			final[control] = c2.status
		}
	}
	p.settle(t)
	for control, want := range final {
		if rec, err := p.st.HL7Message(t.Context(), "lab|LIS|HOSP", control); err != nil || rec.Status != want {
			t.Errorf("%s once applied: %q, %v; want %q", control, rec.Status, err, want)
		}
	}
	// The duplicate with other content was not applied: one potassium result, the first one.
	_, evs := p.patientEvents(t, "100")
	values := map[string]int{}
	for _, e := range evs {
		if e.Kind == "result" && strings.HasPrefix(e.Resource, "Observation/") {
			values[string(resultData(t, e).Value.Number)]++
		}
	}
	if values["4.1"] != 1 || values["9.9"] != 0 {
		t.Errorf("results stored: %v", values)
	}
	// The "application not allowed" case: PACS matched the peer "other" (no application
	// list), so it was accepted there, not refused; a peer list with no catch-all refuses it.
	if _, err := eventually(t, func() (mllp.Record, error) { return p.st.HL7Message(t.Context(), "other|PACS|HOSP", "K-8") }); err != nil {
		t.Errorf("PACS message under the catch-all peer: %v", err)
	}
}

// TestEnhancedMode: MSH-15 decides whether the accept acknowledgement is sent; it reports CA
// once stored, even when the mapping failed (the application error is kept with the message).
func TestEnhancedMode(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	c := p.dial(t)
	if code, _, _ := send(t, c, potassium("E-1", "200", "V2", "5.0", "N", 15, "AL", 16, "NE")); code != "CA" {
		t.Errorf("AL: %s", code)
	}
	if code, _, errSeg := send(t, c, potassium("E-2", "200", "V2", "x", "N", 15, "AL", 16, "AL")); code != "CA" || errSeg == "" {
		t.Errorf("AL, mapping failed: %s %q", code, errSeg)
	}
	if code, _, _ := send(t, c, message(msh("LIS", "ORU^R01", "E-3", 12, "2.1", 15, "AL"), pid("200"))); code != "CR" {
		t.Errorf("AL, rejected: %s", code)
	}
	// NE and ER-with-success: no acknowledgement; the next message on the connection is
	// still read and answered.
	for _, m := range [][]byte{
		potassium("E-4", "200", "V2", "5.1", "N", 15, "NE"),
		potassium("E-5", "200", "V2", "5.2", "N", 15, "ER"),
	} {
		if err := c.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if code, control, _ := send(t, c, potassium("E-6", "200", "V2", "5.3", "N", 15, "ER", 12, "2.1")); code != "CR" || control != "E-6" {
		t.Errorf("ER, rejected: %s for %s", code, control)
	}
	for _, id := range []string{"E-1", "E-2", "E-4", "E-5"} {
		if _, err := eventually(t, func() (mllp.Record, error) { return p.st.HL7Message(t.Context(), "lab|LIS|HOSP", id) }); err != nil {
			t.Errorf("%s not stored: %v", id, err)
		}
	}
}

// TestReplay: a message that failed (with an older mapping) and maps now is accepted by
// Replay, its FHIR stored and applied.
func TestReplay(t *testing.T) {
	p := newPipeline(t, pipelineOptions{})
	raw := potassium("R-1", "300", "V3", "7.1", "HH")
	err := p.st.SaveHL7(t.Context(), []mllp.Record{{Sender: "lab|LIS|HOSP", ControlID: "R-1", Type: "ORU^R01", Raw: raw,
		Charset: "GB18030", Hash: "x", Status: mllp.StatusFailed, Ack: "AE", Error: "an older mapping failed", ReceivedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.handler.Replay(t.Context(), p.peers)
	if err != nil || n != 1 {
		t.Fatalf("replay: %d, %v", n, err)
	}
	rec, _ := p.st.HL7Message(t.Context(), "lab|LIS|HOSP", "R-1")
	if rec.Status != mllp.StatusAccepted || rec.Ack != "AA" {
		t.Errorf("after replay: %+v", rec)
	}
	p.settle(t)
	_, evs := p.patientEvents(t, "300")
	found := false
	for _, e := range evs {
		found = found || e.Kind == "result" && resultData(t, e).Critical
	}
	if !found {
		t.Error("the replayed critical result is not among the events")
	}
	if n, _ := p.handler.Replay(t.Context(), p.peers); n != 0 {
		t.Errorf("second replay accepted %d", n)
	}
	_ = store.ErrNotFound
}

// eventually retries get for up to two seconds while it fails.
func eventually(t *testing.T, get func() (mllp.Record, error)) (mllp.Record, error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		r, err := get()
		if err == nil || time.Now().After(deadline) {
			return r, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
