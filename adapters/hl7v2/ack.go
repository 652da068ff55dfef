package hl7v2

import (
	"strconv"
	"strings"
	"time"
)

// Acknowledgement codes (MSA-1). Original mode answers with AA, AE or AR; enhanced mode's
// accept acknowledgement with CA, CE or CR.
const (
	AA = "AA" // accepted: stored (and mapped, or kept as not mappable)
	AE = "AE" // error: stored, mapping failed; kept for replay
	AR = "AR" // rejected: unreadable, unsupported version, or not stored (send again)
	CA = "CA" // commit accept
	CE = "CE" // commit error
	CR = "CR" // commit reject
)

// AckOptions say what an acknowledgement reports.
type AckOptions struct {
	Code      string    // one of AA, AE, AR, CA, CE, CR
	ControlID string    // the acknowledgement's own MSH-10
	Time      time.Time // its MSH-7
	Text      string    // MSA-3, a short text for the sender's log; never patient data
	Err       *Error    // the ERR segment; nil for none
	// Application and Facility are MSH-3 and MSH-4 when the message names no receiving
	// application (MSH-5/MSH-6) to answer as.
	Application, Facility string
}

// Ack builds the acknowledgement of m, in m's delimiters, version and character set. m may be
// nil (a message too broken to read): the ACK then has the default delimiters and no MSA-2.
func Ack(m *Message, o AckOptions) []byte {
	d := DefaultDelimiters
	var msh Segment
	charset := ""
	if m != nil {
		d, msh, charset = m.Delims, m.MSH(), m.Charset
	}
	raw := func(i int) string { return msh.Field(i).Raw() }
	recvApp, recvFac := raw(5), raw(6)
	if recvApp == "" {
		recvApp = d.Quote(o.Application)
	}
	if recvFac == "" {
		recvFac = d.Quote(o.Facility)
	}
	version := "2.5"
	event := ""
	if m != nil {
		if v := m.Version(); v != "" {
			version = v
		}
		_, event, _ = m.Type()
	}
	msgType := "ACK"
	if event != "" {
		msgType += string(d.Component) + d.Quote(event) + string(d.Component) + "ACK"
	}
	processing := raw(11)
	if processing == "" {
		processing = "P"
	}
	f := string(d.Field)
	var b strings.Builder
	b.WriteString("MSH" + f + d.Encoding())
	for _, v := range []string{recvApp, recvFac, raw(3), raw(4), o.Time.Format("20060102150405-0700"), "", msgType,
		d.Quote(o.ControlID), processing, d.Quote(version)} {
		b.WriteString(f + v)
	}
	if cs := raw(18); cs != "" {
		b.WriteString(strings.Repeat(f, 6) + cs)
	}
	b.WriteString("\rMSA" + f + o.Code + f)
	if m != nil {
		b.WriteString(raw(10))
	}
	if o.Text != "" {
		b.WriteString(f + d.Quote(o.Text))
	}
	if e := o.Err; e != nil {
		b.WriteString("\r" + errSegment(d, version, e, o.Code))
	}
	b.WriteString("\r")
	return Encode(b.String(), charset)
}

// errSegment writes ERR in the layout of the message's version: v2.5 and later have ERR-2
// (location), ERR-3 (code) and ERR-4 (severity); earlier ones a single ERR-1.
func errSegment(d Delimiters, version string, e *Error, code string) string {
	c, s := string(d.Component), string(d.Subcomponent)
	f := string(d.Field)
	text := codeText[e.Code]
	loc := d.Quote(e.Segment) + c + seqText(e.Seq) + c + seqText(e.Field)
	if versionBefore(version, 2, 5) {
		return "ERR" + f + loc + c + strconv.Itoa(e.Code) + s + d.Quote(text) + s + "HL70357"
	}
	if e.Segment == "" {
		loc = ""
	}
	severity := "E"
	if code == AA || code == CA {
		severity = "W"
	}
	return "ERR" + f + f + loc + f + strconv.Itoa(e.Code) + c + d.Quote(text) + c + "HL70357" + f + severity +
		f + f + f + d.Quote(e.Error())
}

func seqText(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// versionBefore reports whether an HL7 version id ("2.3.1") is before major.minor.
func versionBefore(v string, major, minor int) bool {
	ma, mi, ok := versionNumbers(v)
	if !ok {
		return false
	}
	return ma < major || ma == major && mi < minor
}

func versionNumbers(v string) (major, minor int, ok bool) {
	parts := strings.Split(strings.TrimSpace(v), ".")
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// CheckVersion accepts versions 2.3 to 2.9: what the mapping reads has kept its place in all
// of them. Anything else is an *Error with CodeUnsupportedVersion.
func CheckVersion(m *Message) error {
	ma, mi, ok := versionNumbers(m.Version())
	if !ok || ma != 2 || mi < 3 {
		return &Error{Code: CodeUnsupportedVersion, Segment: "MSH", Seq: 1, Field: 12, Msg: "version must be 2.3 to 2.9"}
	}
	return nil
}
