package digest

import (
	"fmt"
	"strings"
)

// The generic HTTP authentication syntax (RFC 9110 11.2-11.6), which
// WWW-Authenticate, Authorization and Authentication-Info share:
//
//	challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//	auth-param  = token BWS "=" BWS ( token / quoted-string )
//
// and a header is a comma-separated list of challenges (or, for
// Authentication-Info, of auth-params). A scheme's parameters follow it
// until the next scheme, so a list element "name=value" continues the
// previous challenge while "Scheme ..." starts a new one.

// Limits of the generic parser, far above what any Digest header holds.
const (
	maxParams     = 32
	maxChallenges = 32
)

type param struct {
	name, value string
	quoted      bool
}

type rawChallenge struct {
	scheme  string
	token68 string
	params  []param
}

// lexer walks one header value.
type lexer struct {
	s   string
	pos int
}

func (l *lexer) eof() bool { return l.pos >= len(l.s) }

func (l *lexer) skipOWS() bool {
	start := l.pos
	for l.pos < len(l.s) && (l.s[l.pos] == ' ' || l.s[l.pos] == '\t') {
		l.pos++
	}
	return l.pos > start
}

// skipSeparators skips whitespace and empty list elements.
func (l *lexer) skipSeparators() {
	for l.pos < len(l.s) && (l.s[l.pos] == ' ' || l.s[l.pos] == '\t' || l.s[l.pos] == ',') {
		l.pos++
	}
}

func (l *lexer) token() string {
	start := l.pos
	for l.pos < len(l.s) && isTokenChar(l.s[l.pos]) {
		l.pos++
	}
	return l.s[start:l.pos]
}

// token68 reads a token68 (RFC 9110 11.2) if one stands alone before
// the end of the element; otherwise it leaves the position unchanged.
func (l *lexer) token68() (string, bool) {
	i := l.pos
	for i < len(l.s) && isToken68Char(l.s[i]) {
		i++
	}
	if i == l.pos {
		return "", false
	}
	for i < len(l.s) && l.s[i] == '=' {
		i++
	}
	j := i
	for j < len(l.s) && (l.s[j] == ' ' || l.s[j] == '\t') {
		j++
	}
	if j < len(l.s) && l.s[j] != ',' {
		return "", false
	}
	t := l.s[l.pos:i]
	l.pos = j
	return t, true
}

// value reads a token or a quoted-string and returns it unescaped.
func (l *lexer) value() (string, bool, error) {
	if l.eof() {
		return "", false, badHeader("a parameter has no value")
	}
	if l.s[l.pos] != '"' {
		t := l.token()
		if t == "" {
			return "", false, badHeader("a parameter value is neither a token nor a quoted string (%s at offset %d)", quoteShort(l.s[l.pos:]), l.pos)
		}
		return t, false, nil
	}
	l.pos++
	var b strings.Builder
	start := l.pos
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		switch {
		case c == '"':
			if b.Len() == 0 {
				v := l.s[start:l.pos]
				l.pos++
				return v, true, nil
			}
			b.WriteString(l.s[start:l.pos])
			l.pos++
			return b.String(), true, nil
		case c == '\\':
			if l.pos+1 >= len(l.s) || !isQuotedPairChar(l.s[l.pos+1]) {
				return "", false, badHeader("bad escape in a quoted string at offset %d", l.pos)
			}
			b.WriteString(l.s[start:l.pos])
			b.WriteByte(l.s[l.pos+1])
			l.pos += 2
			start = l.pos
		case c == '\t' || c >= 0x20 && c != 0x7f:
			l.pos++
		default:
			return "", false, badHeader("control character 0x%02x in a quoted string", c)
		}
	}
	return "", false, badHeader("unterminated quoted string")
}

// param reads "name BWS = BWS value" with the name already read.
func (l *lexer) param(name string) (param, error) {
	l.skipOWS()
	if l.eof() || l.s[l.pos] != '=' {
		return param{}, badHeader("parameter %s has no value", quoteShort(name))
	}
	l.pos++
	l.skipOWS()
	v, q, err := l.value()
	if err != nil {
		return param{}, err
	}
	l.skipOWS()
	if !l.eof() && l.s[l.pos] != ',' {
		return param{}, badHeader("unexpected %s after parameter %s", quoteShort(l.s[l.pos:]), quoteShort(name))
	}
	return param{name: name, value: v, quoted: q}, nil
}

// parseChallenges reads a list of challenges or credentials.
func parseChallenges(s string) ([]rawChallenge, error) {
	l := &lexer{s: s}
	var out []rawChallenge
	for {
		l.skipSeparators()
		if l.eof() {
			break
		}
		t := l.token()
		if t == "" {
			return nil, badHeader("expected an authentication scheme or parameter at offset %d, found %s", l.pos, quoteShort(l.s[l.pos:]))
		}
		sp := l.skipOWS()
		if !l.eof() && l.s[l.pos] == '=' {
			if len(out) == 0 {
				return nil, badHeader("parameter %s comes before any authentication scheme", quoteShort(t))
			}
			c := &out[len(out)-1]
			if c.token68 != "" {
				return nil, badHeader("scheme %s has a token68 and parameters", quoteShort(c.scheme))
			}
			if len(c.params) == maxParams {
				return nil, badHeader("more than %d parameters", maxParams)
			}
			p, err := l.param(t)
			if err != nil {
				return nil, err
			}
			c.params = append(c.params, p)
			continue
		}
		if len(out) == maxChallenges {
			return nil, badHeader("more than %d challenges", maxChallenges)
		}
		if !l.eof() && l.s[l.pos] != ',' && !sp {
			return nil, badHeader("unexpected %s after %s", quoteShort(l.s[l.pos:]), quoteShort(t))
		}
		c := rawChallenge{scheme: t}
		if tok, ok := l.token68(); ok {
			c.token68 = tok
		}
		out = append(out, c)
	}
	return out, nil
}

// parseParamList reads a list of auth-params only (Authentication-Info).
func parseParamList(s string) ([]param, error) {
	l := &lexer{s: s}
	var out []param
	for {
		l.skipSeparators()
		if l.eof() {
			return out, nil
		}
		t := l.token()
		if t == "" {
			return nil, badHeader("expected a parameter at offset %d, found %s", l.pos, quoteShort(l.s[l.pos:]))
		}
		if len(out) == maxParams {
			return nil, badHeader("more than %d parameters", maxParams)
		}
		p, err := l.param(t)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
}

// paramSet indexes parameters by lower-cased name and refuses
// duplicates, which would let two parsers disagree on the value.
type paramSet map[string]param

func newParamSet(ps []param) (paramSet, error) {
	m := make(paramSet, len(ps))
	for _, p := range ps {
		k := strings.ToLower(p.name)
		if _, dup := m[k]; dup {
			return nil, badHeader("parameter %s appears twice", quoteShort(p.name))
		}
		m[k] = p
	}
	return m, nil
}

func (m paramSet) get(name string) (string, bool) {
	p, ok := m[name]
	return p.value, ok
}

// quote writes s as a quoted-string.
func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// tokenOrQuote writes s bare when it is a token, else quoted.
func tokenOrQuote(b *strings.Builder, s string) {
	if isToken(s) {
		b.WriteString(s)
		return
	}
	quote(b, s)
}

// quotable reports whether s can be sent in a quoted-string: no control
// characters but HTAB.
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// isTokenChar is RFC 9110 tchar.
func isTokenChar(c byte) bool {
	if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return s != ""
}

func isToken68Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0
}

func isQuotedPairChar(c byte) bool { return c == '\t' || c >= 0x20 && c != 0x7f }

// quoteShort quotes s for a reason text, shortened.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Sprintf("%q", s)
}
