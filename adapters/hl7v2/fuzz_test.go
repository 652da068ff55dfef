package hl7v2_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lujing-health/lujing/adapters/hl7v2"
	"github.com/lujing-health/lujing/mapping/fhirschema"
)

// FuzzParse: no input crashes Parse, ToFHIR or Ack; what parses maps to valid FHIR or to an
// *Error, and its acknowledgement parses again.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/microsoft-fhir-converter/*.hl7")
	for i, name := range files {
		if i%4 == 0 { // a quarter of the samples: enough shapes, a quick seed run
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add(criticalPotassium("F1"))
	f.Add(adt("A02", "F2", pv1GI))
	f.Add([]byte("MSH|^~\\&#|A|B|||2026||ORU^R01|1|P|2.8|||||CHN|GB18030\rPID|1||1\rOBX|1|SN|1^x^LN||<^5^:^2|||HH"))
	f.Add([]byte("MSH*@!%$*A**20260301**MDM@T02*1*P*2.3\rTXA*1*PN\rOBX*1*ED***@application@pdf@Base64@aGk="))
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := hl7v2.Parse(data, hl7v2.ParseOptions{DefaultCharset: "GB18030"})
		if err != nil {
			if _, ok := err.(*hl7v2.Error); !ok {
				t.Fatalf("Parse error is a %T", err)
			}
			_ = hl7v2.Ack(nil, hl7v2.AckOptions{Code: hl7v2.AR, Time: at, Err: err.(*hl7v2.Error)})
			return
		}
		ack := hl7v2.Ack(m, hl7v2.AckOptions{Code: hl7v2.AA, ControlID: "X", Time: at, Text: "ok"})
		if _, err := hl7v2.Parse(ack, hl7v2.ParseOptions{DefaultCharset: m.Charset}); err != nil {
			t.Fatalf("the ACK of a parsed message does not parse: %v\n%q", err, ack)
		}
		res, err := hl7v2.ToFHIR(m, hl7v2.Options{Sender: "fuzz"})
		if err != nil {
			if _, ok := err.(*hl7v2.Error); !ok {
				t.Fatalf("ToFHIR error is a %T", err)
			}
			return
		}
		if err := fhirschema.Validate(res.Bundle); err != nil {
			t.Fatalf("invalid Bundle: %v\n%s", err, res.Bundle)
		}
	})
}
