package hl7v2_test

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/lujing-health/lujing/adapters/hl7v2"
)

func mustZone(t *testing.T) *time.Location {
	t.Helper()
	z, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return z
}

// TestAck: the acknowledgement answers in the message's delimiters, version and charset,
// swaps sender and receiver, echoes MSH-10 in MSA-2, and writes ERR as the version lays it out.
func TestAck(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
	m, err := hl7v2.Parse(criticalPotassium("LIS-9"), hl7v2.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := string(hl7v2.Ack(m, hl7v2.AckOptions{Code: hl7v2.AE, ControlID: "ACK-1", Time: at, Text: "mapping failed",
		Err: &hl7v2.Error{Code: hl7v2.CodeRequiredMissing, Segment: "OBR", Seq: 4, Field: 4, Msg: "required"}}))
	want := "MSH|^~\\&|LUJING|HOSP|LIS|HOSP|20260301083000+0000||ACK^R01^ACK|ACK-1|P|2.5.1\r" +
		"MSA|AE|LIS-9|mapping failed\r" +
		"ERR||OBR^4^4|101^Required field missing^HL70357|E|||OBR-4: required\r"
	if got != want {
		t.Errorf("ACK\n got %q\nwant %q", got, want)
	}
	// v2.3: ERR-1 only.
	m23, _ := hl7v2.Parse([]byte(strings.Replace(string(criticalPotassium("X")), "|2.5.1", "|2.3", 1)), hl7v2.ParseOptions{})
	got = string(hl7v2.Ack(m23, hl7v2.AckOptions{Code: hl7v2.AR, ControlID: "A2", Time: at, Err: &hl7v2.Error{Code: hl7v2.CodeUnsupportedVersion, Segment: "MSH", Seq: 1, Field: 12}}))
	if !strings.Contains(got, "\rERR|MSH^1^12^203&Unsupported version id&HL70357\r") {
		t.Errorf("v2.3 ERR: %q", got)
	}
	// A message too broken to read: default delimiters, no MSA-2.
	got = string(hl7v2.Ack(nil, hl7v2.AckOptions{Code: hl7v2.AR, ControlID: "A3", Time: at, Application: "LUJING"}))
	if !strings.HasPrefix(got, "MSH|^~\\&|LUJING||||20260301083000+0000||ACK|A3|P|2.5\rMSA|AR|\r") {
		t.Errorf("unreadable: %q", got)
	}
	// GB18030 in, GB18030 out: the receiving facility's Chinese name survives.
	gb, _ := simplifiedchinese.GB18030.NewEncoder().String("MSH|^~\\&|LIS|检验科|LUJING|医院|20260301||ORU^R01|C1|P|2.5|||AL|NE||GB18030\rPID|1||1")
	mg, err := hl7v2.Parse([]byte(gb), hl7v2.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !mg.Enhanced() || mg.AcceptAck() != "AL" {
		t.Error("enhanced mode not seen")
	}
	raw := hl7v2.Ack(mg, hl7v2.AckOptions{Code: hl7v2.CA, ControlID: "A4", Time: at})
	back, err := hl7v2.Parse(raw, hl7v2.ParseOptions{})
	if err != nil {
		t.Fatalf("ACK does not parse: %v", err)
	}
	if back.MSH().Field(4).String() != "医院" || back.MSH().Field(6).String() != "检验科" || back.Charset != "GB18030" {
		t.Errorf("GB18030 ACK: %q", back.MSH().Field(4).String())
	}
	if msa, _ := back.Segment("MSA"); msa.Field(1).String() != "CA" || msa.Field(2).String() != "C1" {
		t.Errorf("MSA: %q", msa.Field(1).Raw())
	}
}
