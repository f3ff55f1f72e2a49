package client

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// Config configures a Client. Zero values are the documented defaults,
// which are MIT's.
type Config struct {
	// Realm is the default realm, used when a principal names none.
	Realm string
	// KDCs maps a realm to its KDCs as "host", "host:port" or
	// "[v6addr]:port" (port 88 when absent), tried in order.
	KDCs map[string][]string
	// Time returns the current time (default time.Now).
	Time func() time.Time
	// Rand is the source of nonces, subkeys and confounders (default
	// crypto/rand).
	Rand io.Reader
	// Timeout bounds one attempt to one KDC over one transport
	// (default 3s). The context bounds the whole exchange.
	Timeout time.Duration
	// UDPPreferenceLimit: requests longer than this many bytes go over
	// TCP first (default 1465, at most 32700 as in MIT); 1 means always
	// TCP.
	UDPPreferenceLimit int
	// MaxSkew is how far the start time of a reply may be from this
	// host's clock (default 5m).
	MaxSkew time.Duration
	// TicketLifetime is the lifetime requested when the caller gives
	// none (default 24h; the KDC may grant less).
	TicketLifetime time.Duration
	// RenewLifetime is the renewable lifetime requested when the caller
	// gives none (default 0: not renewable).
	RenewLifetime time.Duration
	// Forwardable and Proxiable are requested by default when set.
	Forwardable, Proxiable bool
	// Options is the crypto policy (RC4 off unless allowed).
	Options kcrypto.Options
	// ETypes are the enctypes offered to KDCs, most preferred first
	// (default aes256-sha1, aes128-sha1, aes256-sha384, aes128-sha256).
	// Enctypes this build or Options do not allow are left out.
	ETypes []krb5.EncType
	// PKINIT holds the trust anchors for KDC certificates (pkinitconf.go).
	PKINIT PKINITConfig
}

// DefaultETypes is the enctype list offered when Config.ETypes is empty.
// SHA-1 AES comes first because every KDC in the field has those keys;
// the RFC 8009 enctypes are offered for KDCs that prefer them.
var DefaultETypes = []krb5.EncType{
	krb5.ETypeAES256CTSHMACSHA196,
	krb5.ETypeAES128CTSHMACSHA196,
	krb5.ETypeAES256CTSHMACSHA384,
	krb5.ETypeAES128CTSHMACSHA256,
}

// Defaults.
const (
	DefaultTimeout            = 3 * time.Second
	DefaultUDPPreferenceLimit = 1465
	DefaultMaxSkew            = 5 * time.Minute
	DefaultTicketLifetime     = 24 * time.Hour
	// maxUDPPreferenceLimit is MIT's HARD_UDP_LIMIT.
	maxUDPPreferenceLimit = 32700
	// maxConfSize caps what LoadKrb5Conf reads: real files are a few KiB.
	maxConfSize = 1 << 20
	// maxConfDepth caps nested { } subsections; MIT files use two levels.
	maxConfDepth = 16
)

// DefaultKrb5ConfPath is where MIT looks when KRB5_CONFIG is unset.
const DefaultKrb5ConfPath = "/etc/krb5.conf"

// ConfError is a krb5.conf syntax or value error.
type ConfError struct {
	File string // "" when parsed from memory
	Line int    // 1-based; 0 for value errors found after parsing
	Msg  string
}

func (e *ConfError) Error() string {
	where := e.File
	if where == "" {
		where = "krb5.conf"
	}
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	return where + ": " + e.Msg
}

// LoadKrb5Conf reads the krb5.conf subset Warden uses. An empty path
// means $KRB5_CONFIG, else /etc/krb5.conf; like MIT, a path may be a
// colon-separated list whose files are read in order (missing ones are
// skipped, and the first value of a relation wins).
//
// Understood: [libdefaults] default_realm, udp_preference_limit,
// ticket_lifetime, renew_lifetime, forwardable, proxiable, clockskew,
// default_tkt_enctypes (else permitted_enctypes), pkinit_anchors; [realms]
// REALM = { kdc, pkinit_anchors }.
// Everything else is parsed for syntax and ignored, including include and
// includedir directives.
func LoadKrb5Conf(path string) (Config, error) {
	if path == "" {
		path = os.Getenv("KRB5_CONFIG")
	}
	if path == "" {
		path = DefaultKrb5ConfPath
	}
	var all profile
	found := false
	for _, p := range strings.Split(path, ":") {
		if p == "" {
			continue
		}
		b, err := readConf(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return Config{}, err
		}
		found = true
		prof, err := parseProfile(b)
		if err != nil {
			var ce *ConfError
			if errors.As(err, &ce) {
				ce.File = p
			}
			return Config{}, err
		}
		all = append(all, prof...)
	}
	if !found {
		return Config{}, fmt.Errorf("no krb5.conf at %s: %w", path, os.ErrNotExist)
	}
	return configFromProfile(all)
}

func readConf(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfSize {
		return nil, &ConfError{File: path, Msg: fmt.Sprintf("larger than %d bytes", maxConfSize)}
	}
	return b, nil
}

// ParseKrb5Conf parses krb5.conf text; see LoadKrb5Conf.
func ParseKrb5Conf(b []byte) (Config, error) {
	prof, err := parseProfile(b)
	if err != nil {
		return Config{}, err
	}
	return configFromProfile(prof)
}

func configFromProfile(p profile) (Config, error) {
	var c Config
	c.Realm, _ = p.first("libdefaults", "default_realm")
	if v, ok := p.first("libdefaults", "udp_preference_limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Config{}, &ConfError{Msg: fmt.Sprintf("udp_preference_limit = %q is not a byte count", v)}
		}
		c.UDPPreferenceLimit = min(n, maxUDPPreferenceLimit)
	}
	for _, d := range []struct {
		name string
		out  *time.Duration
	}{{"ticket_lifetime", &c.TicketLifetime}, {"renew_lifetime", &c.RenewLifetime}, {"clockskew", &c.MaxSkew}} {
		if v, ok := p.first("libdefaults", d.name); ok {
			dur, err := ParseDuration(v)
			if err != nil {
				return Config{}, &ConfError{Msg: fmt.Sprintf("%s: %v", d.name, err)}
			}
			*d.out = dur
		}
	}
	for _, b := range []struct {
		name string
		out  *bool
	}{{"forwardable", &c.Forwardable}, {"proxiable", &c.Proxiable}} {
		if v, ok := p.first("libdefaults", b.name); ok {
			t, ok := parseBool(v)
			if !ok {
				return Config{}, &ConfError{Msg: fmt.Sprintf("%s = %q is not a boolean", b.name, v)}
			}
			*b.out = t
		}
	}
	list, ok := p.first("libdefaults", "default_tkt_enctypes")
	if !ok {
		list, ok = p.first("libdefaults", "permitted_enctypes")
	}
	if ok {
		c.ETypes = parseETypeList(list)
		if len(c.ETypes) == 0 {
			return Config{}, &ConfError{Msg: fmt.Sprintf("no enctype Warden supports in %q", list)}
		}
	}
	c.PKINIT = pkinitFromProfile(p)
	for _, r := range p {
		if len(r.path) != 3 || r.path[0] != "realms" || r.path[2] != "kdc" {
			continue
		}
		addr, ok, err := normalizeKDC(r.value)
		if err != nil {
			return Config{}, &ConfError{Msg: fmt.Sprintf("[realms] %s: kdc = %q: %v", r.path[1], r.value, err)}
		}
		if !ok {
			continue // an HTTPS proxy URL: not a transport Warden speaks
		}
		if c.KDCs == nil {
			c.KDCs = map[string][]string{}
		}
		c.KDCs[r.path[1]] = append(c.KDCs[r.path[1]], addr)
	}
	return c, nil
}

// normalizeKDC turns a kdc relation into "host:port". ok is false for
// MS-KKDCP URLs, which are skipped rather than refused so that a file
// written for Windows-friendly MIT setups still loads.
func normalizeKDC(v string) (addr string, ok bool, err error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
		return "", false, nil
	}
	if v == "" {
		return "", false, errors.New("empty address")
	}
	host, port := v, "88"
	switch {
	case strings.HasPrefix(v, "["):
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "", false, errors.New("missing ']'")
		}
		host = v[1:end]
		if rest := v[end+1:]; rest != "" {
			p, found := strings.CutPrefix(rest, ":")
			if !found {
				return "", false, errors.New("junk after ']'")
			}
			port = p
		}
	case strings.Count(v, ":") == 1:
		host, port, _ = strings.Cut(v, ":")
	}
	// more than one colon without brackets: a bare IPv6 address
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", false, fmt.Errorf("bad port %q", port)
	}
	if host == "" {
		return "", false, errors.New("empty host")
	}
	return net.JoinHostPort(host, port), true, nil
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "y", "yes", "true", "t", "1", "on":
		return true, true
	case "n", "no", "false", "nil", "0", "off":
		return false, true
	}
	return false, false
}

// etypeFamilies are MIT's enctype family names (krb5.conf(5)).
var etypeFamilies = map[string][]krb5.EncType{
	"aes":      DefaultETypes,
	"aes-sha1": {krb5.ETypeAES256CTSHMACSHA196, krb5.ETypeAES128CTSHMACSHA196},
	"aes-sha2": {krb5.ETypeAES256CTSHMACSHA384, krb5.ETypeAES128CTSHMACSHA256},
	"rc4":      {krb5.ETypeRC4HMAC},
	"DEFAULT":  DefaultETypes,
}

// parseETypeList reads an MIT enctype list ("aes256-cts aes-sha2
// -aes128-sha2 DEFAULT"), keeping only enctypes kcrypto implements and
// dropping unknown names as MIT does.
func parseETypeList(v string) []krb5.EncType {
	var out []krb5.EncType
	for _, tok := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		remove := false
		if rest, ok := strings.CutPrefix(tok, "-"); ok {
			tok, remove = rest, true
		} else {
			tok = strings.TrimPrefix(tok, "+")
		}
		ets, ok := etypeFamilies[tok]
		if !ok {
			if et, ok := krb5.ParseEncType(tok); ok {
				ets = []krb5.EncType{et}
			}
		}
		for _, et := range ets {
			if !kcrypto.Supported(et) {
				continue
			}
			i := indexEType(out, et)
			switch {
			case remove && i >= 0:
				out = append(out[:i], out[i+1:]...)
			case !remove && i < 0:
				out = append(out, et)
			}
		}
	}
	return out
}

func indexEType(list []krb5.EncType, et krb5.EncType) int {
	for i, e := range list {
		if e == et {
			return i
		}
	}
	return -1
}

// ParseDuration parses a lifetime as krb5.conf and kinit write it:
// "10h", "1d", "1h30m", "90s", "1d 2h", "3600" (seconds), "1:30" or
// "1:30:00" (h:m[:s]). Like MIT's krb5_deltat, it fits in 32-bit seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a duration (examples: 10h, 1d, 1h30m, 3600, 1:30:00)", s)
	if s == "" {
		return 0, bad
	}
	var secs int64
	add := func(n, unit int64) bool {
		if n > math.MaxInt32/unit {
			return false
		}
		secs += n * unit
		return secs <= math.MaxInt32
	}
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, bad
		}
		units := []int64{3600, 60, 1}
		for i, p := range parts {
			n, err := strconv.ParseInt(p, 10, 64)
			if err != nil || n < 0 || i > 0 && (len(p) != 2 || n > 59) || !add(n, units[i]) {
				return 0, bad
			}
		}
		return time.Duration(secs) * time.Second, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || !add(n, 1) {
			return 0, bad
		}
		return time.Duration(secs) * time.Second, nil
	}
	seen := map[byte]bool{}
	rest := s
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || i > 10 {
			return 0, bad
		}
		n, _ := strconv.ParseInt(rest[:i], 10, 64)
		u := rest[i]
		unit := map[byte]int64{'d': 86400, 'h': 3600, 'm': 60, 's': 1}[u]
		if unit == 0 || seen[u] || !add(n, unit) {
			return 0, bad
		}
		seen[u] = true
		rest = rest[i+1:]
	}
	return time.Duration(secs) * time.Second, nil
}

// relation is one "tag = value" of a profile with the path of sections
// and subsections above it: ["realms", "EXAMPLE.COM", "kdc"].
type relation struct {
	path  []string
	value string
}

type profile []relation

// first returns the first value at path (MIT: the first value wins).
func (p profile) first(path ...string) (string, bool) {
	for _, r := range p {
		if equalPath(r.path, path) {
			return r.value, true
		}
	}
	return "", false
}

func equalPath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// parseProfile parses MIT profile syntax (krb5.conf(5)): [section]
// headers, "tag = value" relations, "tag = {" ... "}" subsections, '#' and
// ';' comment lines, a trailing '*' marking a section or tag final, and
// include/includedir/module directives (skipped). Errors carry the line.
func parseProfile(b []byte) (profile, error) {
	var (
		out     profile
		section string
		stack   []string // open subsections
	)
	for n, line := range strings.Split(string(b), "\n") {
		lineNo := n + 1
		fail := func(msg string) error { return &ConfError{Line: lineNo, Msg: msg} }
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, "include ") || strings.HasPrefix(line, "includedir ") || strings.HasPrefix(line, "module ") {
			continue
		}
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		switch t[0] {
		case '[':
			end := strings.IndexByte(t, ']')
			if end < 0 {
				return nil, fail("section header without ']'")
			}
			if len(stack) > 0 {
				return nil, fail("section header inside an unclosed { } subsection")
			}
			if rest := strings.TrimSpace(t[end+1:]); rest != "" && rest != "*" {
				return nil, fail("junk after section header")
			}
			section = t[1:end]
			if section == "" {
				return nil, fail("empty section name")
			}
			continue
		case '}':
			if len(stack) == 0 {
				return nil, fail("'}' without an open subsection")
			}
			if rest := strings.TrimSpace(t[1:]); rest != "" && rest != "*" {
				return nil, fail("junk after '}'")
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if section == "" {
			return nil, fail("relation before the first [section]")
		}
		end := strings.IndexAny(t, " \t=")
		if end <= 0 {
			return nil, fail("expected 'tag = value'")
		}
		tag := strings.TrimSuffix(t[:end], "*")
		rest := strings.TrimLeft(t[end:], " \t")
		if !strings.HasPrefix(rest, "=") || tag == "" {
			return nil, fail("expected 'tag = value'")
		}
		value := strings.TrimSpace(rest[1:])
		if value == "{" {
			if len(stack) >= maxConfDepth {
				return nil, fail("subsections nested too deeply")
			}
			stack = append(stack, tag)
			continue
		}
		if strings.HasPrefix(value, "\"") {
			v, ok := unquote(value)
			if !ok {
				return nil, fail("unterminated or malformed quoted value")
			}
			value = v
		}
		path := make([]string, 0, len(stack)+2)
		path = append(append(append(path, section), stack...), tag)
		out = append(out, relation{path: path, value: value})
	}
	if len(stack) > 0 {
		return nil, &ConfError{Msg: fmt.Sprintf("subsection %q is never closed with '}'", stack[len(stack)-1])}
	}
	return out, nil
}

// unquote reads a profile quoted string: backslash escapes \n \t \b \\
// and \" (as MIT's parser), nothing but blanks after the closing quote.
func unquote(v string) (string, bool) {
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch c {
		case '"':
			return b.String(), strings.TrimSpace(v[i+1:]) == ""
		case '\\':
			i++
			if i == len(v) {
				return "", false
			}
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			default:
				b.WriteByte(v[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}
