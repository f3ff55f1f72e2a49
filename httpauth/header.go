package httpauth

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// DefaultMaxHeaderBytes bounds an Authorization header value when
// Config.MaxHeaderBytes is zero: 64 KiB of base64 holds a 48 KiB token,
// far more than a Kerberos ticket with a large PAC needs.
const DefaultMaxHeaderBytes = 64 << 10

// schemeNegotiate is the RFC 4559 scheme name; schemes compare
// case-insensitively (RFC 9110 11.1).
const schemeNegotiate = "Negotiate"

// schemeNTLM is the plain NTLM scheme (MS-NTHT), which carries raw NTLM
// messages where Negotiate carries SPNEGO.
const schemeNTLM = "NTLM"

// ParseNegotiate parses one Authorization header value of the form
// "Negotiate <base64 token>" and returns the decoded token. The scheme is
// matched case-insensitively; the token must be base64 (standard
// alphabet, padding optional) with no line breaks or other characters.
// A value longer than maxLen bytes (0: DefaultMaxHeaderBytes) is refused
// before it is looked at.
func ParseNegotiate(value string, maxLen int) ([]byte, error) {
	_, tok, err := ParseAuthorization(value, maxLen, schemeNegotiate)
	return tok, err
}

// ParseAuthorization parses an Authorization header value "Scheme
// <base64 token>" for one of the token schemes accepted (Negotiate,
// NTLM), returning the scheme as spelt in accepted and the decoded token.
// The rules are those of ParseNegotiate.
func ParseAuthorization(value string, maxLen int, accepted ...string) (scheme string, tok []byte, err error) {
	if maxLen <= 0 {
		maxLen = DefaultMaxHeaderBytes
	}
	if len(value) > maxLen {
		return "", nil, &Error{Code: TokenTooLarge,
			Reason: fmt.Sprintf("the Authorization header is %d bytes, more than the %d this server accepts", len(value), maxLen),
			Hint:   "a ticket this large usually means a huge PAC (very many groups); raise the limit if it is legitimate"}
	}
	v := strings.Trim(value, " \t")
	got, rest := v, ""
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		got, rest = v[:i], v[i+1:]
	}
	if got == "" || !isToken(got) {
		return "", nil, &Error{Code: BadHeader, Reason: "the Authorization header does not start with an authentication scheme"}
	}
	for _, a := range accepted {
		if strings.EqualFold(got, a) {
			scheme = a
		}
	}
	if scheme == "" {
		return "", nil, &Error{Code: UnsupportedScheme,
			Reason: fmt.Sprintf("this server accepts %s, not %s", schemeWords(accepted), printable(got, 32)),
			Hint:   schemeHint(accepted)}
	}
	t := strings.TrimLeft(rest, " \t")
	if t == "" {
		return "", nil, &Error{Code: BadHeader, Reason: "the " + scheme + " header carries no token"}
	}
	b, err := decodeToken68(t)
	if err != nil {
		return "", nil, &Error{Code: BadHeader, Reason: "the " + scheme + " token " + err.Error()}
	}
	return scheme, b, nil
}

// schemeWords names the accepted schemes for a reason text.
func schemeWords(accepted []string) string {
	words := make([]string, len(accepted))
	for i, a := range accepted {
		words[i] = a
		if a == schemeNegotiate {
			words[i] = "Negotiate (Kerberos)"
		}
	}
	return strings.Join(words, " or ")
}

func schemeHint(accepted []string) string {
	for _, a := range accepted {
		if a == schemeNTLM {
			return "use a client that does Negotiate or NTLM (curl --negotiate -u :, curl --ntlm -u USER, warden get --auth ntlm)"
		}
	}
	return "get a Kerberos ticket (kinit) and use a client that does Negotiate (curl --negotiate -u :)"
}

// decodeToken68 decodes standard base64 with optional padding and
// refuses anything else (line breaks, which encoding/base64 would skip,
// spaces, URL-safe characters, misplaced padding).
func decodeToken68(s string) ([]byte, error) {
	n := len(s)
	for n > 0 && s[n-1] == '=' {
		n--
	}
	for i := 0; i < n; i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, fmt.Errorf("is not base64: character %q at offset %d", c, i)
		}
	}
	if n%4 == 1 {
		return nil, fmt.Errorf("is not base64: %d characters cannot encode whole bytes", n)
	}
	if pad := len(s) - n; pad > 0 && pad != (4-n%4)%4 {
		return nil, fmt.Errorf("is not base64: %d padding characters after %d", pad, n)
	}
	b, err := base64.RawStdEncoding.DecodeString(s[:n])
	if err != nil {
		return nil, fmt.Errorf("is not base64: %v", err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("is empty")
	}
	return b, nil
}

// NegotiateChallenge finds the Negotiate challenge among a response's
// WWW-Authenticate headers (several headers, or several challenges in one
// header separated by commas, possibly with other schemes' auth-params).
// present reports whether there is one; token is its data (nil for a bare
// "Negotiate"). A Negotiate challenge whose data is not base64 is an
// error.
func NegotiateChallenge(h http.Header) (present bool, token []byte, err error) {
	return TokenChallenge(h, schemeNegotiate)
}

// TokenChallenge is NegotiateChallenge for any token scheme (NTLM).
func TokenChallenge(h http.Header, scheme string) (present bool, token []byte, err error) {
	for _, v := range h.Values("WWW-Authenticate") {
		for _, el := range splitList(v) {
			got, rest, isChallenge := challengeStart(el)
			if !isChallenge || !strings.EqualFold(got, scheme) {
				continue
			}
			if rest == "" {
				return true, nil, nil
			}
			b, err := decodeToken68(rest)
			if err != nil {
				return true, nil, &Error{Code: BadHeader, Reason: "the server's " + scheme + " token " + err.Error()}
			}
			return true, b, nil
		}
	}
	return false, nil, nil
}

// splitList splits a header value at the commas outside quoted strings
// and trims each element; empty elements are dropped (RFC 9110 5.6.1).
func splitList(v string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			if el := strings.Trim(v[start:i], " \t"); el != "" {
				out = append(out, el)
			}
			start = i + 1
		}
	}
	if el := strings.Trim(v[start:], " \t"); el != "" {
		out = append(out, el)
	}
	return out
}

// challengeStart tells a list element that starts a challenge ("scheme",
// "scheme token68", "scheme param=value") from one that continues the
// previous challenge's auth-params ("param=value"). rest is what follows
// the scheme, trimmed.
func challengeStart(el string) (scheme, rest string, ok bool) {
	i := 0
	for i < len(el) && isTokenChar(el[i]) {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	scheme, rest = el[:i], strings.Trim(el[i:], " \t")
	if strings.HasPrefix(rest, "=") {
		return "", "", false // an auth-param of the previous challenge
	}
	if i < len(el) && el[i] != ' ' && el[i] != '\t' {
		return "", "", false
	}
	return scheme, rest, true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return s != ""
}

// isTokenChar is RFC 9110 tchar.
func isTokenChar(c byte) bool {
	if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// printable quotes s for a reason text, shortened to max bytes.
func printable(s string, max int) string {
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}
