package hl7v2

import (
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// unescape replaces the escape sequences of s: delimiters (\F\ \S\ \T\ \R\ \E\ \P\), line
// breaks (\.br\, \.sp\), hexadecimal data (\Xhh…\, kept when it is UTF-8 text). Highlighting
// (\H\ \N\), character-set switches (\C…\ \M…\) and local sequences (\Z…\) carry no text and
// are dropped. An escape character without its closing one is kept as written.
func (d *Delimiters) unescape(s string) string {
	if strings.IndexByte(s, d.Escape) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != d.Escape {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(s[i+1:], d.Escape)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		seq := s[i+1 : i+1+j]
		i += j + 2
		switch {
		case seq == "F":
			b.WriteByte(d.Field)
		case seq == "S":
			b.WriteByte(d.Component)
		case seq == "T":
			b.WriteByte(d.Subcomponent)
		case seq == "R":
			b.WriteByte(d.Repetition)
		case seq == "E":
			b.WriteByte(d.Escape)
		case seq == "P" && d.Truncation != 0:
			b.WriteByte(d.Truncation)
		case seq == ".br" || strings.HasPrefix(seq, ".sp"):
			b.WriteByte('\n')
		case len(seq) > 1 && seq[0] == 'X':
			if raw, err := hex.DecodeString(seq[1:]); err == nil && utf8.Valid(raw) {
				b.Write(raw)
			}
		}
	}
	return b.String()
}

// Quote writes s so that it can stand in a field: delimiters become escape sequences and
// line breaks \.br\.
func (d Delimiters) Quote(s string) string {
	if !strings.ContainsAny(s, string([]byte{d.Field, d.Component, d.Repetition, d.Escape, d.Subcomponent, '\r', '\n'})) &&
		(d.Truncation == 0 || strings.IndexByte(s, d.Truncation) < 0) {
		return s
	}
	esc := string(d.Escape)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case d.Escape:
			b.WriteString(esc + "E" + esc)
		case d.Field:
			b.WriteString(esc + "F" + esc)
		case d.Component:
			b.WriteString(esc + "S" + esc)
		case d.Subcomponent:
			b.WriteString(esc + "T" + esc)
		case d.Repetition:
			b.WriteString(esc + "R" + esc)
		case '\n':
			b.WriteString(esc + ".br" + esc)
		case '\r':
		default:
			if d.Truncation != 0 && c == d.Truncation {
				b.WriteString(esc + "P" + esc)
				continue
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}
