package hl7v2

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// Character sets of HL7 table 0211 (and the spellings Chinese systems use) that Parse
// decodes. Every one of them keeps CR, LF and the ASCII delimiters as single bytes, except
// that a GB18030/GBK trail byte may equal a delimiter: such messages are decoded before they
// are split, never after.
func encodingOf(name string) (enc encoding.Encoding, utf8Family, ok bool) {
	n := strings.ToUpper(strings.Join(strings.Fields(name), " "))
	switch n {
	case "", "ASCII", "UNICODE UTF-8", "UTF-8", "UTF8", "UNICODE":
		return nil, true, true
	case "GB 18030-2000", "GB18030", "GB 18030", "GB18030-2000", "GB 18030-2005", "GB18030-2005":
		return simplifiedchinese.GB18030, false, true
	case "GBK", "CP936":
		return simplifiedchinese.GBK, false, true
	case "GB2312", "GB 2312", "ISO IR58":
		// GB2312 is a subset of GBK; decoding as GBK reads every valid GB2312 message.
		return simplifiedchinese.GBK, false, true
	case "BIG-5", "BIG5":
		return traditionalchinese.Big5, false, true
	case "8859/1":
		return charmap.ISO8859_1, false, true
	case "8859/2":
		return charmap.ISO8859_2, false, true
	case "8859/5":
		return charmap.ISO8859_5, false, true
	case "8859/7":
		return charmap.ISO8859_7, false, true
	case "8859/9":
		return charmap.ISO8859_9, false, true
	case "8859/15":
		return charmap.ISO8859_15, false, true
	}
	return nil, false, false
}

// KnownCharset reports whether Parse can decode the character set name.
func KnownCharset(name string) bool {
	_, _, ok := encodingOf(name)
	return ok
}

// headerCharset finds MSH-18 in the header line. With a default that is not UTF-8 the line is
// decoded first, so that a GB18030 trail byte equal to the field separator in MSH-3…17 cannot
// shift the fields.
func headerCharset(data []byte, d Delimiters, def string) (string, error) {
	line := data
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		line = data[:i]
	}
	text := string(line)
	if enc, u8, ok := encodingOf(def); ok && !u8 {
		if s, err := enc.NewDecoder().String(text); err == nil {
			text = s
		}
	}
	parts := strings.Split(text, string(d.Field))
	// parts[0] is "MSH", parts[1] MSH-2, so MSH-n is parts[n-1].
	name := ""
	if len(parts) > 17 {
		name = nth(parts[17], d.Repetition, 1)
		name = strings.TrimSpace(nth(name, d.Component, 1))
	}
	if name == "" {
		return def, nil
	}
	if !KnownCharset(name) {
		// Unknown names (a language code put in the wrong field, say): read the message as
		// UTF-8 if it is that, and refuse it otherwise.
		if utf8.Valid(data) {
			return "UNICODE UTF-8", nil
		}
		return "", &Error{Code: CodeTableValue, Segment: "MSH", Seq: 1, Field: 18, Msg: "unknown character set, and the message is not UTF-8"}
	}
	return name, nil
}

// decode returns the message as UTF-8 text. Bytes that are not valid in the character set
// make it unreadable: a replacement character in place of a name or a result is worse than a
// rejection the sender sees.
func decode(data []byte, charset string) (string, error) {
	enc, u8, ok := encodingOf(charset)
	if !ok {
		return "", &Error{Code: CodeTableValue, Segment: "MSH", Seq: 1, Field: 18, Msg: "unsupported character set"}
	}
	if u8 {
		if !utf8.Valid(data) {
			return "", &Error{Code: CodeDataType, Segment: "MSH", Seq: 1, Field: 18, Msg: "the message holds bytes that are not valid UTF-8 (declare its character set in MSH-18)"}
		}
		return string(data), nil
	}
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		return "", &Error{Code: CodeDataType, Segment: "MSH", Seq: 1, Field: 18, Msg: "the message holds bytes that are not valid in its character set"}
	}
	// x/text decoders replace invalid sequences with U+FFFD instead of failing. A message
	// that did not itself hold U+FFFD (GB18030 84 31 A4 37) has invalid bytes.
	if bytes.ContainsRune(out, utf8.RuneError) && !bytes.Contains(data, []byte{0x84, 0x31, 0xA4, 0x37}) {
		return "", &Error{Code: CodeDataType, Segment: "MSH", Seq: 1, Field: 18, Msg: "the message holds bytes that are not valid in its character set"}
	}
	return string(out), nil
}

// Encode writes UTF-8 text in the character set, for acknowledgements: the sender reads its
// ACK as it wrote its message. Characters the set cannot hold become '?'.
func Encode(text, charset string) []byte {
	enc, u8, ok := encodingOf(charset)
	if !ok || u8 {
		return []byte(text)
	}
	out, err := encoding.ReplaceUnsupported(enc.NewEncoder()).Bytes([]byte(text))
	if err != nil {
		return []byte(text)
	}
	return out
}
