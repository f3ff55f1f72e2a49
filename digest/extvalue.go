package digest

import (
	"strings"
	"unicode/utf8"
)

// RFC 8187 ext-value, the form of username* (RFC 7616 3.4.4) for names
// that a quoted-string cannot carry portably:
//
//	ext-value   = charset "'" [ language ] "'" value-chars
//	value-chars = *( pct-encoded / attr-char )

// decodeExtValue returns the UTF-8 text of an ext-value. UTF-8 and
// ISO-8859-1 are the charsets RFC 8187 defines; the language is ignored.
func decodeExtValue(s string) (string, error) {
	cs, rest, ok := strings.Cut(s, "'")
	if !ok {
		return "", badHeader("username* is not charset'language'value")
	}
	_, val, ok := strings.Cut(rest, "'")
	if !ok {
		return "", badHeader("username* is not charset'language'value")
	}
	latin1 := false
	switch {
	case strings.EqualFold(cs, "UTF-8"):
	case strings.EqualFold(cs, "ISO-8859-1"):
		latin1 = true
	default:
		return "", badHeader("username* charset %s: only UTF-8 and ISO-8859-1 are defined", quoteShort(cs))
	}
	b := make([]byte, 0, len(val))
	for i := 0; i < len(val); i++ {
		c := val[i]
		switch {
		case c == '%':
			if i+2 >= len(val) || unhex(val[i+1]) < 0 || unhex(val[i+2]) < 0 {
				return "", badHeader("username* has a bad percent-escape at offset %d", i)
			}
			b = append(b, byte(unhex(val[i+1])<<4|unhex(val[i+2])))
			i += 2
		case isAttrChar(c):
			b = append(b, c)
		default:
			return "", badHeader("username* has %q, which must be percent-encoded", c)
		}
	}
	if latin1 {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), nil
	}
	if !utf8.Valid(b) {
		return "", badHeader("username* is not valid UTF-8")
	}
	return string(b), nil
}

// encodeExtValue writes s (UTF-8) as an ext-value in the UTF-8 charset,
// without a language tag.
func encodeExtValue(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("UTF-8''")
	for i := 0; i < len(s); i++ {
		if c := s[i]; isAttrChar(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// isAttrChar is RFC 8187 attr-char.
func isAttrChar(c byte) bool {
	if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// needsExtValue reports a user name that should travel as username*:
// anything outside printable ASCII (RFC 7616 3.4.4).
func needsExtValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return true
		}
	}
	return false
}
