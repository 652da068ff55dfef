package criticalvalue

import (
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"
)

// readBack parses what a receiver typed back for a number: an optional comparator, a decimal
// number (full-width digits allowed, as Chinese input methods type them) and an optional
// unit after it. ok is false when it does not start with a number.
func readBack(typed string) (comparator string, number *big.Rat, unit string, ok bool) {
	s := strings.TrimSpace(fullWidth(typed))
	for _, c := range []string{"<=", ">=", "≤", "≥", "<", ">"} {
		if strings.HasPrefix(s, c) {
			comparator = map[string]string{"≤": "<=", "≥": ">="}[c]
			if comparator == "" {
				comparator = c
			}
			s = strings.TrimSpace(s[len(c):])
			break
		}
	}
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits, dot := 0, false
scan:
	for ; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '.' && !dot:
			dot = true
		default:
			break scan
		}
	}
	if digits == 0 {
		return "", nil, "", false
	}
	num := strings.TrimSuffix(s[:i], ".")
	r, good := new(big.Rat).SetString(strings.TrimPrefix(num, "+"))
	if !good {
		return "", nil, "", false
	}
	return comparator, r, strings.TrimSpace(s[i:]), true
}

// fullWidth maps full-width digits, point, signs and letters to ASCII.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '！' && r <= '～' {
			return r - '！' + '!'
		}
		if r == '。' {
			return '.'
		}
		return r
	}, s)
}

// readBackMatches reports whether typed repeats the reported value, and if not, why.
// Numbers are compared as numbers (7.2 is 7.20); a unit typed after the number must be the
// record's unit (spelling aside). A text value (a positive culture, an imaging finding) must
// be typed as reported, or as a part of it of at least two characters (a finding out of a
// long conclusion).
func readBackMatches(typed string, s snapshot) (bool, string) {
	if s.Number != "" {
		cmp, got, unit, ok := readBack(typed)
		if !ok {
			return false, "not a number"
		}
		want, good := new(big.Rat).SetString(s.Number)
		if !good {
			return false, "the reported value is not a number"
		}
		repCmp := strings.TrimSuffix(s.Value, s.Number)
		switch {
		case got.Cmp(want) != 0:
			return false, "the number differs from the reported " + s.Value
		case cmp != "" && cmp != repCmp:
			return false, "the comparator differs from the reported " + s.Value
		case unit != "" && normUnit(unit) != normUnit(s.Unit):
			return false, "the unit " + unit + " is not the reported " + s.Unit
		}
		return true, ""
	}
	norm := func(x string) string {
		return strings.Join(strings.FieldsFunc(strings.ToLower(fullWidth(x)), func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsPunct(r)
		}), " ")
	}
	t, v := norm(typed), norm(s.Value)
	if t == "" {
		return false, "empty"
	}
	if t == v || utf8.RuneCountInString(t) >= 2 && strings.Contains(v, t) {
		return true, ""
	}
	return false, "the text differs from the reported value"
}
