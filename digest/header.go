package digest

import (
	"strings"
)

// MaxHeaderBytes bounds every header value the parsers accept: the
// longest legitimate part is the uri (8 KiB at most here).
const MaxHeaderBytes = 16 << 10

const scheme = "Digest"

// Challenge is one "WWW-Authenticate: Digest ..." challenge (RFC 7616 3.3).
type Challenge struct {
	Realm string
	Nonce string
	// Opaque is echoed by the client unchanged; "" when absent.
	Opaque string
	// Domain is the protection space, space-separated URIs, as sent.
	Domain string
	// Algorithm is the algorithm asked for: MD5 when the parameter is
	// absent (RFC 7616 3.3), 0 when AlgorithmName is one this package
	// does not know (a client skips such a challenge).
	Algorithm     Algorithm
	AlgorithmName string
	// QOP lists the offered qop values ("auth", "auth-int").
	QOP      []string
	Stale    bool
	Charset  string // "UTF-8" or ""
	UserHash bool
}

// String is the header value, "Digest realm=..., ...".
func (c *Challenge) String() string {
	var b strings.Builder
	b.WriteString(scheme + " realm=")
	quote(&b, c.Realm)
	if c.Domain != "" {
		b.WriteString(", domain=")
		quote(&b, c.Domain)
	}
	b.WriteString(", nonce=")
	quote(&b, c.Nonce)
	if c.Opaque != "" {
		b.WriteString(", opaque=")
		quote(&b, c.Opaque)
	}
	if c.Stale {
		b.WriteString(", stale=true")
	}
	if c.Algorithm.Valid() {
		b.WriteString(", algorithm=")
		b.WriteString(c.Algorithm.String())
	}
	if len(c.QOP) > 0 {
		b.WriteString(", qop=")
		quote(&b, strings.Join(c.QOP, ", "))
	}
	if c.Charset != "" {
		b.WriteString(", charset=")
		tokenOrQuote(&b, c.Charset)
	}
	if c.UserHash {
		b.WriteString(", userhash=true")
	}
	return b.String()
}

// ParseChallenges returns the Digest challenges among WWW-Authenticate
// header values (several headers, several challenges in one header,
// other schemes mixed in), in the order the server sent them. A Digest
// challenge without realm or nonce, or with a duplicate parameter, is an
// error; other schemes are skipped.
func ParseChallenges(values []string) ([]Challenge, error) {
	var out []Challenge
	for _, v := range values {
		if len(v) > MaxHeaderBytes {
			return nil, badHeader("a WWW-Authenticate header is %d bytes, more than %d", len(v), MaxHeaderBytes)
		}
		raws, err := parseChallenges(v)
		if err != nil {
			return nil, err
		}
		for _, r := range raws {
			if !strings.EqualFold(r.scheme, scheme) {
				continue
			}
			c, err := challengeFrom(r)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func challengeFrom(r rawChallenge) (Challenge, error) {
	if r.token68 != "" {
		return Challenge{}, badHeader("a Digest challenge carries parameters, not a token")
	}
	ps, err := newParamSet(r.params)
	if err != nil {
		return Challenge{}, err
	}
	var c Challenge
	var ok bool
	if c.Realm, ok = ps.get("realm"); !ok {
		return c, badHeader("the Digest challenge has no realm")
	}
	if c.Nonce, ok = ps.get("nonce"); !ok || c.Nonce == "" || len(c.Nonce) > maxNonce {
		return c, badHeader("the Digest challenge has no nonce, or one longer than %d bytes", maxNonce)
	}
	c.Opaque, _ = ps.get("opaque")
	c.Domain, _ = ps.get("domain")
	c.Algorithm = MD5
	if name, ok := ps.get("algorithm"); ok {
		c.AlgorithmName = name
		c.Algorithm, _ = ParseAlgorithm(name)
	}
	if q, ok := ps.get("qop"); ok {
		for _, v := range strings.Split(q, ",") {
			if v = strings.Trim(v, " \t"); v != "" {
				c.QOP = append(c.QOP, strings.ToLower(v))
			}
		}
	}
	if s, ok := ps.get("stale"); ok {
		c.Stale = strings.EqualFold(s, "true")
	}
	if s, ok := ps.get("userhash"); ok {
		c.UserHash = strings.EqualFold(s, "true")
	}
	c.Charset, _ = ps.get("charset")
	return c, nil
}

// Credentials is an "Authorization: Digest ..." header (RFC 7616 3.4).
type Credentials struct {
	// Username is the user name: from username, or decoded from
	// username* (UsernameExt), or the userhash in hex (UserHash).
	Username    string
	UsernameExt bool
	UserHash    bool
	Realm       string
	Nonce       string
	URI         string
	Response    string
	// Algorithm is MD5 when the client sent none (RFC 7616 3.4).
	Algorithm Algorithm
	CNonce    string
	NC        string
	QOP       string
	Opaque    string
}

// ParseCredentials reads one Authorization header value. The scheme must
// be Digest (UnsupportedScheme otherwise); username (or username*),
// realm, nonce, uri, response, qop, cnonce and nc are required, since
// RFC 7616 servers always offer qop.
func ParseCredentials(value string) (*Credentials, error) {
	if len(value) > MaxHeaderBytes {
		return nil, badHeader("the Authorization header is %d bytes, more than %d", len(value), MaxHeaderBytes)
	}
	raws, err := parseChallenges(value)
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, badHeader("the Authorization header is empty")
	}
	if !strings.EqualFold(raws[0].scheme, scheme) {
		return nil, &Error{Code: UnsupportedScheme, Reason: "this server accepts Digest, not " + quoteShort(raws[0].scheme),
			Hint: "use a Digest client (curl --digest -u USER URL)"}
	}
	if len(raws) > 1 {
		return nil, badHeader("the Authorization header holds more than one credentials")
	}
	if raws[0].token68 != "" {
		return nil, badHeader("Digest credentials are parameters, not a token")
	}
	ps, err := newParamSet(raws[0].params)
	if err != nil {
		return nil, err
	}
	c := &Credentials{}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"realm", &c.Realm}, {"nonce", &c.Nonce}, {"uri", &c.URI}, {"response", &c.Response}, {"cnonce", &c.CNonce}, {"nc", &c.NC}, {"qop", &c.QOP}} {
		v, ok := ps.get(f.name)
		if !ok {
			return nil, badHeader("the Digest credentials have no %s", f.name)
		}
		*f.dst = v
	}
	c.Opaque, _ = ps.get("opaque")
	c.Algorithm = MD5
	if name, ok := ps.get("algorithm"); ok {
		a, ok := ParseAlgorithm(name)
		if !ok {
			return nil, &Error{Code: UnsupportedAlgorithm, Reason: "unknown algorithm " + quoteShort(name)}
		}
		c.Algorithm = a
	}
	if s, ok := ps.get("userhash"); ok {
		switch {
		case strings.EqualFold(s, "true"):
			c.UserHash = true
		case !strings.EqualFold(s, "false"):
			return nil, badHeader("userhash must be true or false")
		}
	}
	user, plain := ps.get("username")
	ext, hasExt := ps.get("username*")
	switch {
	case plain && hasExt:
		return nil, badHeader("username and username* together")
	case hasExt && c.UserHash:
		return nil, badHeader("username* with userhash=true")
	case hasExt:
		if c.Username, err = decodeExtValue(ext); err != nil {
			return nil, err
		}
		c.UsernameExt = true
	case plain:
		c.Username = user
	default:
		return nil, badHeader("the Digest credentials have no username")
	}
	c.QOP = strings.ToLower(c.QOP)
	return c, nil
}

// Validation returns what the server forwards to the AA for a request
// with this method; EntityHash is to be filled in for qop=auth-int.
func (c *Credentials) Validation(method string) *Validation {
	return &Validation{Algorithm: c.Algorithm, Username: c.Username, UserHash: c.UserHash, Realm: c.Realm,
		Nonce: c.Nonce, CNonce: c.CNonce, NC: c.NC, QOP: c.QOP, Method: method, URI: c.URI, Response: c.Response}
}

// String is the header value, "Digest username=..., ...". A user name
// outside printable ASCII goes as username* (RFC 8187).
func (c *Credentials) String() string {
	var b strings.Builder
	b.WriteString(scheme + " ")
	if !c.UserHash && needsExtValue(c.Username) {
		b.WriteString("username*=")
		b.WriteString(encodeExtValue(c.Username))
	} else {
		b.WriteString("username=")
		quote(&b, c.Username)
	}
	b.WriteString(", realm=")
	quote(&b, c.Realm)
	b.WriteString(", uri=")
	quote(&b, c.URI)
	b.WriteString(", algorithm=")
	b.WriteString(c.Algorithm.String())
	b.WriteString(", nonce=")
	quote(&b, c.Nonce)
	b.WriteString(", nc=")
	tokenOrQuote(&b, c.NC)
	b.WriteString(", cnonce=")
	quote(&b, c.CNonce)
	b.WriteString(", qop=")
	tokenOrQuote(&b, c.QOP)
	b.WriteString(", response=")
	quote(&b, c.Response)
	if c.Opaque != "" {
		b.WriteString(", opaque=")
		quote(&b, c.Opaque)
	}
	if c.UserHash {
		b.WriteString(", userhash=true")
	}
	return b.String()
}

// AuthInfo is an Authentication-Info header (RFC 7616 3.5, RFC 7615).
type AuthInfo struct {
	NextNonce string
	QOP       string
	RspAuth   string
	CNonce    string
	NC        string
}

// ParseAuthInfo reads an Authentication-Info header value.
func ParseAuthInfo(value string) (*AuthInfo, error) {
	if len(value) > MaxHeaderBytes {
		return nil, badHeader("the Authentication-Info header is %d bytes, more than %d", len(value), MaxHeaderBytes)
	}
	list, err := parseParamList(value)
	if err != nil {
		return nil, err
	}
	ps, err := newParamSet(list)
	if err != nil {
		return nil, err
	}
	a := &AuthInfo{}
	a.NextNonce, _ = ps.get("nextnonce")
	a.QOP, _ = ps.get("qop")
	a.RspAuth, _ = ps.get("rspauth")
	a.CNonce, _ = ps.get("cnonce")
	a.NC, _ = ps.get("nc")
	if len(a.NextNonce) > maxNonce || len(a.CNonce) > maxNonce || len(a.RspAuth) > 128 || len(a.NC) > 8 {
		return nil, badHeader("an Authentication-Info value is too long")
	}
	return a, nil
}

// String is the header value.
func (a *AuthInfo) String() string {
	var b strings.Builder
	sep := func(name string) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
		b.WriteByte('=')
	}
	if a.NextNonce != "" {
		sep("nextnonce")
		quote(&b, a.NextNonce)
	}
	if a.QOP != "" {
		sep("qop")
		tokenOrQuote(&b, a.QOP)
	}
	if a.RspAuth != "" {
		sep("rspauth")
		quote(&b, a.RspAuth)
	}
	if a.CNonce != "" {
		sep("cnonce")
		quote(&b, a.CNonce)
	}
	if a.NC != "" {
		sep("nc")
		tokenOrQuote(&b, a.NC)
	}
	return b.String()
}
