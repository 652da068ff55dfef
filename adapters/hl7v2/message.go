package hl7v2

import (
	"bytes"
	"fmt"
	"strings"
)

// Delimiters are a message's encoding characters (MSH-1 and MSH-2).
type Delimiters struct {
	Field, Component, Repetition, Escape, Subcomponent byte
	// Truncation is the fifth encoding character of v2.7 and later, 0 when MSH-2 has four.
	Truncation byte
}

// DefaultDelimiters are |^~\& — what nearly every system sends, and what acknowledgements of
// a message too broken to read its own use.
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// Encoding is MSH-2 as written.
func (d Delimiters) Encoding() string {
	s := string([]byte{d.Component, d.Repetition, d.Escape, d.Subcomponent})
	if d.Truncation != 0 {
		s += string(d.Truncation)
	}
	return s
}

// Message is a parsed HL7 v2 message. Text is held decoded (UTF-8) and still escaped; the
// accessors unescape.
type Message struct {
	Delims Delimiters
	// Charset is the character set the bytes were decoded from: MSH-18 as sent, or the
	// default the caller gave when MSH-18 is empty.
	Charset  string
	Segments []Segment
}

// Segment is one segment. Fields are numbered as in the standard: Field(1) of MSH is the
// field separator itself, Field(2) the encoding characters.
type Segment struct {
	Name   string
	fields []string // fields[i] is field i, still escaped; fields[0] is the name
	d      *Delimiters
}

// Len is the number of the last field present.
func (s Segment) Len() int { return len(s.fields) - 1 }

// Field returns field i (1-based); an absent field is empty.
func (s Segment) Field(i int) Field {
	if i <= 0 || i >= len(s.fields) {
		return Field{d: s.d}
	}
	return Field{raw: s.fields[i], d: s.d}
}

// Field is one field with its repetitions, components and subcomponents, still escaped.
type Field struct {
	raw string
	d   *Delimiters
}

// Raw is the field as written (escaped).
func (f Field) Raw() string { return f.raw }

// Empty reports whether the field has no value, or only the HL7 null "".
func (f Field) Empty() bool { return f.raw == "" || f.raw == `""` }

// Reps returns the repetitions, none for an empty field.
func (f Field) Reps() []Field {
	if f.Empty() {
		return nil
	}
	parts := strings.Split(f.raw, string(f.d.Repetition))
	out := make([]Field, 0, len(parts))
	for _, p := range parts {
		out = append(out, Field{raw: p, d: f.d})
	}
	return out
}

// first is the first repetition.
func (f Field) first() string {
	if f.d == nil {
		return ""
	}
	if i := strings.IndexByte(f.raw, f.d.Repetition); i >= 0 {
		return f.raw[:i]
	}
	return f.raw
}

// String is the first component's first subcomponent of the first repetition, unescaped:
// the value of a field of a simple type.
func (f Field) String() string { return f.Sub(1, 1) }

// C is component c (1-based) of the first repetition, its first subcomponent, unescaped.
func (f Field) C(c int) string { return f.Sub(c, 1) }

// Sub is subcomponent s of component c of the first repetition, unescaped.
func (f Field) Sub(c, s int) string {
	if f.d == nil || c <= 0 || s <= 0 {
		return ""
	}
	v := nth(f.first(), f.d.Component, c)
	v = nth(v, f.d.Subcomponent, s)
	if v == `""` {
		return ""
	}
	return f.d.unescape(v)
}

// Component is component c of the first repetition with its subcomponents, as a Field whose
// C(1), C(2)… are those subcomponents.
func (f Field) Component(c int) Field {
	if f.d == nil {
		return Field{}
	}
	sub := nth(f.first(), f.d.Component, c)
	d := *f.d
	d.Component = f.d.Subcomponent
	return Field{raw: sub, d: &d}
}

// nth returns the n-th (1-based) part of s split at sep, "" when there are fewer.
func nth(s string, sep byte, n int) string {
	for i := 1; i < n; i++ {
		j := strings.IndexByte(s, sep)
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
	if j := strings.IndexByte(s, sep); j >= 0 {
		return s[:j]
	}
	return s
}

// Segment returns the first segment of the name.
func (m *Message) Segment(name string) (Segment, bool) {
	for _, s := range m.Segments {
		if s.Name == name {
			return s, true
		}
	}
	return Segment{}, false
}

// MSH is the header segment.
func (m *Message) MSH() Segment { return m.Segments[0] }

// Type returns MSH-9: the message code (ORU), trigger event (R01) and structure (ORU_R01).
func (m *Message) Type() (code, event, structure string) {
	f := m.MSH().Field(9)
	return strings.ToUpper(strings.TrimSpace(f.C(1))), strings.ToUpper(strings.TrimSpace(f.C(2))), f.C(3)
}

// TypeString is MSH-9 as "ORU^R01", for logs and acknowledgements.
func (m *Message) TypeString() string {
	code, event, _ := m.Type()
	if event == "" {
		return code
	}
	return code + "^" + event
}

// ControlID is MSH-10, the sender's id of the message.
func (m *Message) ControlID() string { return strings.TrimSpace(m.MSH().Field(10).String()) }

// Version is MSH-12's version id, e.g. "2.5.1".
func (m *Message) Version() string { return strings.TrimSpace(m.MSH().Field(12).String()) }

// SendingApplication and SendingFacility are MSH-3 and MSH-4's namespace ids.
func (m *Message) SendingApplication() string { return m.MSH().Field(3).String() }
func (m *Message) SendingFacility() string    { return m.MSH().Field(4).String() }

// AcceptAck and ApplicationAck are MSH-15 and MSH-16 (AL, NE, ER, SU); either non-empty means
// the sender asks for enhanced acknowledgement mode.
func (m *Message) AcceptAck() string {
	return strings.ToUpper(strings.TrimSpace(m.MSH().Field(15).String()))
}
func (m *Message) ApplicationAck() string {
	return strings.ToUpper(strings.TrimSpace(m.MSH().Field(16).String()))
}

// Enhanced reports whether the sender asked for enhanced acknowledgement mode.
func (m *Message) Enhanced() bool { return m.AcceptAck() != "" || m.ApplicationAck() != "" }

// Limits bound what Parse accepts, so that a hostile message cannot take the memory.
type Limits struct {
	MaxSegments int // default 10,000
	MaxFields   int // fields in one segment, default 1,000 (far above any standard segment)
}

// ParseOptions configure Parse.
type ParseOptions struct {
	// DefaultCharset is the character set of a message whose MSH-18 is empty: what the sender
	// is known to use (a Chinese HIS often sends GB18030 without saying so). Empty: UTF-8,
	// which ASCII is part of.
	DefaultCharset string
	Limits         Limits
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// Parse reads one message. Its error is an *Error whose Code says what an acknowledgement
// should report.
func Parse(data []byte, opt ParseOptions) (*Message, error) {
	maxSeg, maxFields := opt.Limits.MaxSegments, opt.Limits.MaxFields
	if maxSeg <= 0 {
		maxSeg = 10000
	}
	if maxFields <= 0 {
		maxFields = 1000
	}
	data = bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(data, "\r\n\t "), bom), "\r\n\t ")
	d, err := delimiters(data)
	if err != nil {
		return nil, err
	}
	charset, err := headerCharset(data, d, opt.DefaultCharset)
	if err != nil {
		return nil, err
	}
	text, err := decode(data, charset)
	if err != nil {
		return nil, err
	}
	m := &Message{Delims: d, Charset: charset}
	dp := &m.Delims
	for line := range strings.FieldsFuncSeq(text, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(m.Segments) == maxSeg {
			return nil, &Error{Code: CodeSegmentSequence, Msg: fmt.Sprintf("more than %d segments", maxSeg)}
		}
		seg, err := segment(line, dp, len(m.Segments)+1, maxFields)
		if err != nil {
			return nil, err
		}
		m.Segments = append(m.Segments, seg)
	}
	if len(m.Segments) == 0 || m.Segments[0].Name != "MSH" {
		return nil, &Error{Code: CodeSegmentSequence, Segment: "MSH", Seq: 1, Msg: "the message does not begin with an MSH segment"}
	}
	return m, nil
}

// delimiters reads MSH-1 and MSH-2.
func delimiters(data []byte) (Delimiters, error) {
	bad := func(msg string) error {
		return &Error{Code: CodeSegmentSequence, Segment: "MSH", Seq: 1, Field: 2, Msg: msg}
	}
	if len(data) < 8 || string(data[:3]) != "MSH" {
		return Delimiters{}, &Error{Code: CodeSegmentSequence, Segment: "MSH", Seq: 1, Msg: "the message does not begin with an MSH segment"}
	}
	fs := data[3]
	if !isDelimiter(fs) {
		return Delimiters{}, bad("MSH-1 is not a usable field separator")
	}
	end := 4
	for end < len(data) && data[end] != fs && data[end] != '\r' && data[end] != '\n' {
		end++
	}
	enc := data[4:end]
	if len(enc) < 4 || len(enc) > 5 {
		return Delimiters{}, bad("MSH-2 must hold four or five encoding characters")
	}
	seen := map[byte]bool{fs: true}
	for _, c := range enc {
		if !isDelimiter(c) || seen[c] {
			return Delimiters{}, bad("MSH-2 holds a character that cannot be a delimiter, or one twice")
		}
		seen[c] = true
	}
	d := Delimiters{Field: fs, Component: enc[0], Repetition: enc[1], Escape: enc[2], Subcomponent: enc[3]}
	if len(enc) == 5 {
		d.Truncation = enc[4]
	}
	return d, nil
}

// isDelimiter: printable ASCII punctuation only; letters, digits, spaces and controls would
// make the message ambiguous.
func isDelimiter(c byte) bool {
	return c > ' ' && c < 0x7F && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z')
}

// segment splits one segment line into fields.
func segment(line string, d *Delimiters, seq, maxFields int) (Segment, error) {
	if len(line) < 3 || !validName(line[:3]) || (len(line) > 3 && line[3] != d.Field) {
		return Segment{}, &Error{Code: CodeSegmentSequence, Seq: seq, Msg: fmt.Sprintf("segment %d does not begin with a segment id and a field separator", seq)}
	}
	name := line[:3]
	if n := strings.Count(line, string(d.Field)); n > maxFields {
		return Segment{}, &Error{Code: CodeSegmentSequence, Segment: name, Seq: seq, Msg: fmt.Sprintf("segment has %d fields, more than the limit of %d", n, maxFields)}
	}
	parts := strings.Split(line, string(d.Field))
	if name == "MSH" || name == "BHS" || name == "FHS" {
		// MSH-1 is the separator itself: shift so that Field(n) is MSH-n.
		fields := make([]string, 0, len(parts)+1)
		fields = append(fields, name, string(d.Field))
		fields = append(fields, parts[1:]...)
		return Segment{Name: name, fields: fields, d: d}, nil
	}
	return Segment{Name: name, fields: parts, d: d}, nil
}

func validName(s string) bool {
	if s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		if !(s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

// ParseHeader reads only the MSH segment, as well as it can: for the acknowledgement of a
// message Parse refused, so that it still names the sender and the control id. Bytes the
// character set cannot decode are replaced.
func ParseHeader(data []byte, opt ParseOptions) (*Message, error) {
	data = bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(data, "\r\n\t "), bom), "\r\n\t ")
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		data = data[:i]
	}
	if m, err := Parse(data, opt); err == nil {
		return m, nil
	}
	return Parse([]byte(strings.ToValidUTF8(string(data), "?")), ParseOptions{Limits: opt.Limits})
}
