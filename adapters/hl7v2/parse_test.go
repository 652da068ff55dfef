package hl7v2_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/lujing-health/lujing/adapters/hl7v2"
)

// TestParseShapes: what real senders do to the framing of a message parses the same.
func TestParseShapes(t *testing.T) {
	base := "MSH|^~\\&|LIS|HOSP|||20260301083000||ORU^R01|C1|P|2.5\rPID|1||123^^^HOSP^MR||Doe^John\rOBX|1|NM|2823-3^K^LN||6.8|mmol/L|3.5-5.5|HH|||F"
	cases := map[string]string{
		"CR":            base,
		"LF":            strings.ReplaceAll(base, "\r", "\n"),
		"CRLF":          strings.ReplaceAll(base, "\r", "\r\n"),
		"BOM":           "\xEF\xBB\xBF" + base,
		"blank lines":   "\r\n" + strings.ReplaceAll(base, "\r", "\r\n\r\n") + "\r\n\r\n",
		"five chars":    strings.Replace(base, `^~\&`, `^~\&#`, 1),
		"custom delims": strings.NewReplacer("|", "*", "^", "@", "~", "!", `\`, "%", "&", "$").Replace(base),
	}
	for name, text := range cases {
		m, err := hl7v2.Parse([]byte(text), hl7v2.ParseOptions{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(m.Segments) != 3 || m.ControlID() != "C1" || m.TypeString() != "ORU^R01" {
			t.Errorf("%s: %d segments, control %q, type %q", name, len(m.Segments), m.ControlID(), m.TypeString())
		}
		obx := m.Segments[2]
		if obx.Field(3).C(1) != "2823-3" || obx.Field(3).C(3) != "LN" || obx.Field(5).String() != "6.8" || obx.Field(8).String() != "HH" {
			t.Errorf("%s: OBX read as %q %q %q", name, obx.Field(3).Raw(), obx.Field(5).Raw(), obx.Field(8).Raw())
		}
		if pid := m.Segments[1]; pid.Field(5).Component(1).C(1) != "Doe" || pid.Field(5).C(2) != "John" {
			t.Errorf("%s: PID-5 read as %q", name, pid.Field(5).Raw())
		}
	}
}

// TestEscapesAndRepetitions: escape sequences come out as the characters they stand for;
// repetitions, components and subcomponents are addressed by number.
func TestEscapesAndRepetitions(t *testing.T) {
	text := "MSH|^~\\&#|A|B|||20260301||ORU^R01|C1|P|2.8\r" +
		`NTE|1||a\F\b\S\c\T\d\R\e\E\f\P\g\.br\h\H\bold\N\\X4D4C\` + "\r" +
		"PID|1||111^^^AA^MR~222^^^BB&1.2.3&ISO^NI||Doe&Van^John"
	m, err := hl7v2.Parse([]byte(text), hl7v2.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Segments[1].Field(3).String(), "a|b^c&d~e\\f#g\nhboldML"; got != want {
		t.Errorf("unescaped %q, want %q", got, want)
	}
	pid := m.Segments[2]
	reps := pid.Field(3).Reps()
	if len(reps) != 2 || reps[1].C(1) != "222" || reps[1].Component(4).C(2) != "1.2.3" || reps[1].Sub(4, 3) != "ISO" {
		t.Errorf("repetitions: %d, %q", len(reps), pid.Field(3).Raw())
	}
	if pid.Field(5).Sub(1, 2) != "Van" || pid.Field(99).String() != "" {
		t.Error("subcomponent or absent field")
	}
	d := m.Delims
	if s := d.Quote("a|b^c\nd#"); s != `a\F\b\S\c\.br\d\P\` {
		t.Errorf("quote: %q", s)
	}
}

// TestCharsets: MSH-18 says how the bytes are read; GB18030 is decoded before the message is
// split (its trail bytes may equal a delimiter), and invalid bytes are refused.
func TestCharsets(t *testing.T) {
	// In GB18030 亅 is 0x81 0x7C and 乗 0x81 0x5C: trail bytes equal to '|' and '\'.
	tricky := "张亅乗"
	body := "MSH|^~\\&|LIS|医院|||20260301||ORU^R01|C1|P|2.5|||||CHN|GB18030\rPID|1||123^^^HOSP^MR||" + tricky + "^三"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(gb, "\x81|") {
		t.Fatal("test string lost its '|' trail byte")
	}
	m, err := hl7v2.Parse([]byte(gb), hl7v2.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Segments[1].Field(5).C(1); got != tricky {
		t.Errorf("name %q, want %q", got, tricky)
	}
	if m.Charset != "GB18030" {
		t.Errorf("charset %q", m.Charset)
	}
	// Without MSH-18 the sender's default applies.
	noDecl, _ := simplifiedchinese.GB18030.NewEncoder().String(strings.Replace(body, "|CHN|GB18030", "", 1))
	m, err = hl7v2.Parse([]byte(noDecl), hl7v2.ParseOptions{DefaultCharset: "GB18030"})
	if err != nil || m.Segments[1].Field(5).C(1) != tricky {
		t.Errorf("default charset: %v", err)
	}
	// The same bytes as UTF-8 are refused, as are invalid GB18030 bytes.
	bad := []struct {
		name string
		data string
	}{
		{"GB18030 read as UTF-8", noDecl},
		{"invalid GB18030", strings.Replace(gb, "\x81|", "\x81\x7F", 1)},
		{"truncated GB18030", gb[:len(gb)-1]},
	}
	for _, c := range bad {
		var he *hl7v2.Error
		if _, err := hl7v2.Parse([]byte(c.data), hl7v2.ParseOptions{}); !errors.As(err, &he) {
			t.Errorf("%s: want an *Error, got %v", c.name, err)
		}
	}
	// A '|' trail byte in the header itself: read right when the sender's default is GB18030.
	hdr, _ := simplifiedchinese.GB18030.NewEncoder().String(strings.Replace(body, "|医院|", "|亅院|", 1))
	m, err = hl7v2.Parse([]byte(hdr), hl7v2.ParseOptions{DefaultCharset: "GB18030"})
	if err != nil || m.MSH().Field(4).String() != "亅院" || m.Charset != "GB18030" {
		t.Errorf("trail byte in MSH: %v", err)
	}
	for _, cs := range []string{"UNICODE UTF-8", "ASCII", "8859/1", "GB 18030-2000", "GBK", "BIG-5"} {
		if !hl7v2.KnownCharset(cs) {
			t.Errorf("%s not known", cs)
		}
	}
}

// TestParseRefusals: inputs that cannot be read as a message are *Errors with the code an
// AR reports.
func TestParseRefusals(t *testing.T) {
	ok := "MSH|^~\\&|A|B|||20260301||ADT^A01|C1|P|2.5\rPID|1||1"
	cases := map[string]string{
		"empty":              "",
		"no MSH":             "PID|1||123",
		"wrong MSH":          "MSX|^~\\&|A",
		"short MSH-2":        "MSH|^~|A|B|||20260301||ADT^A01|C1|P|2.5",
		"letter delimiter":   "MSH|^~A&|A|B",
		"repeated delimiter": "MSH|^^\\&|A|B",
		"bad segment id":     ok + "\rpid|1",
		"too many fields":    ok + "\rOBX" + strings.Repeat("|x", 2000),
		"not UTF-8":          ok + "\rPID|1||\xff\xfe",
		"unknown charset":    "MSH|^~\\&|A|B|||20260301||ADT^A01|C1|P|2.5|||||CHN|KLINGON\rPID|\xff",
	}
	for name, text := range cases {
		_, err := hl7v2.Parse([]byte(text), hl7v2.ParseOptions{})
		var he *hl7v2.Error
		if !errors.As(err, &he) || he.Code == 0 {
			t.Errorf("%s: want an *Error with a code, got %v", name, err)
		}
	}
	// More fields than the standard defines are ignored, as HL7 asks of receivers.
	m, err := hl7v2.Parse([]byte(ok+"\rPV1"+strings.Repeat("|x", 300)), hl7v2.ParseOptions{})
	if err != nil || m.Segments[2].Len() != 300 {
		t.Errorf("extra fields: %v", err)
	}
	// Versions before 2.3 are refused after parsing.
	m, _ = hl7v2.Parse([]byte(strings.Replace(ok, "|2.5", "|2.2", 1)), hl7v2.ParseOptions{})
	var he *hl7v2.Error
	if err := hl7v2.CheckVersion(m); !errors.As(err, &he) || he.Code != hl7v2.CodeUnsupportedVersion {
		t.Errorf("version 2.2: %v", err)
	}
}

// TestTimes: HL7 date/times at every precision, with and without an offset.
func TestTimes(t *testing.T) {
	cases := []struct{ in, dateTime, instant string }{
		{"2026", "2026", ""},
		{"202603", "2026-03", ""},
		{"20260301", "2026-03-01", "2026-03-01T00:00:00+08:00"},
		{"2026030108", "2026-03-01T08:00:00+08:00", "2026-03-01T08:00:00+08:00"},
		{"202603010830", "2026-03-01T08:30:00+08:00", "2026-03-01T08:30:00+08:00"},
		{"20260301083005.25-0500", "2026-03-01T08:30:05.25-05:00", "2026-03-01T08:30:05.25-05:00"},
		{"20260230", "", ""},
		{"2026030125", "", ""},
		{"hello", "", ""},
	}
	zone := mustZone(t)
	for _, c := range cases {
		tm, ok := hl7v2.ParseTime(c.in, zone)
		if !ok {
			if c.dateTime != "" {
				t.Errorf("%s: not read", c.in)
			}
			continue
		}
		if c.dateTime == "" {
			t.Errorf("%s: read, should not be", c.in)
			continue
		}
		inst, _ := tm.Instant()
		if tm.DateTime() != c.dateTime || inst != c.instant {
			t.Errorf("%s: %s / %s, want %s / %s", c.in, tm.DateTime(), inst, c.dateTime, c.instant)
		}
	}
}
