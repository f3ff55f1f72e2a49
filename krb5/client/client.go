package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// Client talks to the KDCs of the realms in its Config. It holds no
// tickets and no mutable state, so one Client may serve concurrent
// exchanges.
type Client struct {
	cfg    Config
	etypes []krb5.EncType // the usable subset of cfg.ETypes, in order
}

// New checks cfg, fills in the defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Time == nil {
		cfg.Time = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UDPPreferenceLimit <= 0 {
		cfg.UDPPreferenceLimit = DefaultUDPPreferenceLimit
	}
	cfg.UDPPreferenceLimit = min(cfg.UDPPreferenceLimit, maxUDPPreferenceLimit)
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	if cfg.TicketLifetime <= 0 {
		cfg.TicketLifetime = DefaultTicketLifetime
	}
	// Normalize KDC addresses now, so that a typo in a program's Config
	// fails here rather than at the first exchange.
	kdcs := make(map[string][]string, len(cfg.KDCs))
	for realm, list := range cfg.KDCs {
		for _, a := range list {
			addr, ok, err := normalizeKDC(a)
			if err != nil {
				return nil, fmt.Errorf("client: KDC %q of realm %s: %w", a, realm, err)
			}
			if ok {
				kdcs[realm] = append(kdcs[realm], addr)
			}
		}
	}
	cfg.KDCs = kdcs
	want := cfg.ETypes
	if len(want) == 0 {
		want = DefaultETypes
	}
	c := &Client{}
	for _, e := range want {
		if usable(e, cfg.Options) && indexEType(c.etypes, e) < 0 {
			c.etypes = append(c.etypes, e)
		}
	}
	if len(c.etypes) == 0 {
		return nil, &krb5.Error{Code: krb5.KDCErrETypeNoSupp,
			Reason: fmt.Sprintf("none of the configured enctypes (%s) is usable", etypeWords(want)),
			Hint:   "configure aes256-cts-hmac-sha1-96 or aes256-cts-hmac-sha384-192 in default_tkt_enctypes"}
	}
	cfg.ETypes = append([]krb5.EncType(nil), c.etypes...)
	c.cfg = cfg
	return c, nil
}

// usable reports whether kcrypto implements e and the policy allows it.
func usable(e krb5.EncType, opt kcrypto.Options) bool {
	if !kcrypto.Supported(e) {
		return false
	}
	return e != krb5.ETypeRC4HMAC || opt.AllowRC4
}

// Config returns the effective configuration (defaults filled in).
func (c *Client) Config() Config {
	cfg := c.cfg
	cfg.KDCs = maps.Clone(c.cfg.KDCs)
	cfg.ETypes = append([]krb5.EncType(nil), c.etypes...)
	return cfg
}

func (c *Client) now() time.Time { return c.cfg.Time() }

// nonce returns a random 31-bit nonce. The top bit is left clear, as MIT
// does, because some KDCs decode the nonce as a signed integer.
func (c *Client) nonce() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(c.cfg.Rand, b[:]); err != nil {
		return 0, fmt.Errorf("client: reading a nonce: %w", err)
	}
	return binary.BigEndian.Uint32(b[:]) & 0x7fffffff, nil
}

// TGTName is the name of the ticket-granting service of realm,
// krbtgt/REALM.
func TGTName(realm string) krb5.PrincipalName {
	return krb5.PrincipalName{NameType: krb5.NameTypeSrvInst, NameString: []string{"krbtgt", realm}}
}

// ParsePrincipal parses "name/instance@REALM" the way MIT's
// krb5_parse_name does: '/' separates components, the last unescaped '@'
// starts the realm, and backslash escapes '/', '@', '\\' and stands for
// newline, tab, backspace or NUL before 'n', 't', 'b' and '0'. A name
// without a realm gets defaultRealm.
func ParsePrincipal(s, defaultRealm string) (krb5.PrincipalName, string, error) {
	var (
		comps []string
		cur   strings.Builder
		realm strings.Builder
		inRlm bool
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '\\' {
			i++
			if i == len(s) {
				return krb5.PrincipalName{}, "", fmt.Errorf("principal %q ends with a backslash", s)
			}
			switch s[i] {
			case 'n':
				ch = '\n'
			case 't':
				ch = '\t'
			case 'b':
				ch = '\b'
			case '0':
				ch = 0
			default:
				ch = s[i]
			}
		} else if ch == '@' {
			if inRlm {
				return krb5.PrincipalName{}, "", fmt.Errorf("principal %q has more than one unescaped '@'", s)
			}
			inRlm = true
			continue
		} else if ch == '/' && !inRlm {
			comps = append(comps, cur.String())
			cur.Reset()
			continue
		}
		if inRlm {
			realm.WriteByte(ch)
		} else {
			cur.WriteByte(ch)
		}
	}
	comps = append(comps, cur.String())
	for _, c := range comps {
		if c == "" {
			return krb5.PrincipalName{}, "", fmt.Errorf("principal %q has an empty component", s)
		}
	}
	r := realm.String()
	if inRlm && r == "" {
		return krb5.PrincipalName{}, "", fmt.Errorf("principal %q has an empty realm", s)
	}
	if !inRlm {
		r = defaultRealm
	}
	if r == "" {
		return krb5.PrincipalName{}, "", fmt.Errorf("principal %q names no realm and no default realm is configured (set default_realm in krb5.conf)", s)
	}
	nt := krb5.NameTypePrincipal
	if len(comps) == 2 && comps[0] == "krbtgt" {
		nt = krb5.NameTypeSrvInst
	}
	return krb5.PrincipalName{NameType: nt, NameString: comps}, r, nil
}

func principalString(name krb5.PrincipalName, realm string) string {
	return ccache.Principal{Realm: realm, Name: name}.String()
}

// roundTrip sends req to a KDC of realm and returns either the reply of
// type want or the KRB-ERROR the KDC sent.
func (c *Client) roundTrip(ctx context.Context, realm string, req *krb5.KDCReq, want krb5.MsgType) (*krb5.KDCRep, *krb5.KRBError, error) {
	b, err := req.Marshal()
	if err != nil {
		return nil, nil, err
	}
	return c.exchange(ctx, realm, b, want)
}

// exchange is roundTrip for a request already encoded.
func (c *Client) exchange(ctx context.Context, realm string, b []byte, want krb5.MsgType) (*krb5.KDCRep, *krb5.KRBError, error) {
	reply, err := c.send(ctx, realm, b)
	if err != nil {
		return nil, nil, err
	}
	t, _ := krb5.MessageType(reply)
	switch t {
	case krb5.MsgKRBError:
		var ke krb5.KRBError
		if err := ke.Unmarshal(reply); err != nil {
			return nil, nil, fmt.Errorf("client: KDC sent an undecodable KRB-ERROR: %w", err)
		}
		return nil, &ke, nil
	case want:
		var rep krb5.KDCRep
		if err := rep.Unmarshal(reply); err != nil {
			return nil, nil, fmt.Errorf("client: KDC sent an undecodable %v: %w", want, err)
		}
		return &rep, nil, nil
	}
	return nil, nil, replyMismatch("message type", t.String(), want.String())
}

// expectation is what a KDC reply must match: the request it answers and
// the names and times the client asked for.
type expectation struct {
	cname        krb5.PrincipalName
	crealm       string
	sname        krb5.PrincipalName
	srealm       string
	canonicalize bool // the KDC may change the names (AS: client and server; TGS: server)
	asReq        bool
	now          time.Time
	skew         time.Duration
}

// checkReply verifies a decrypted KDC reply against the request. These
// checks are what make the reply trustworthy beyond "it decrypted": the
// nonce binds it to this request (no replays of an older reply), the
// names bind it to the principals asked for, and the times keep a KDC or
// attacker from handing out more than was requested.
func checkReply(req *krb5.KDCReq, rep *krb5.KDCRep, part *krb5.EncKDCRepPart, x expectation) error {
	body := &req.ReqBody
	if part.Nonce != body.Nonce {
		return replyMismatch("nonce", fmt.Sprint(part.Nonce), fmt.Sprint(body.Nonce))
	}
	clientMayChange := x.canonicalize && x.asReq
	if !clientMayChange && (rep.CRealm != x.crealm || !rep.CName.Equal(x.cname)) {
		return replyMismatch("client", principalString(rep.CName, rep.CRealm), principalString(x.cname, x.crealm))
	}
	if !x.canonicalize && (part.SRealm != x.srealm || !part.SName.Equal(x.sname)) {
		return replyMismatch("server", principalString(part.SName, part.SRealm), principalString(x.sname, x.srealm))
	}
	if rep.Ticket.Realm != part.SRealm || !rep.Ticket.SName.Equal(part.SName) {
		return replyMismatch("ticket server", principalString(rep.Ticket.SName, rep.Ticket.Realm), principalString(part.SName, part.SRealm))
	}
	if indexEType(body.EType, part.Key.KeyType) < 0 {
		return replyMismatch("session key enctype", part.Key.KeyType.String(), "one of "+etypeWords(body.EType))
	}
	if !body.Till.IsZero() && part.EndTime.After(body.Till) {
		return replyMismatch("endtime", part.EndTime.UTC().Format(time.RFC3339), "at most "+body.Till.UTC().Format(time.RFC3339))
	}
	if body.KDCOptions.Has(krb5.KDCOptRenewable) && !body.RTime.IsZero() && part.RenewTill.After(body.RTime) {
		return replyMismatch("renew-till", part.RenewTill.UTC().Format(time.RFC3339), "at most "+body.RTime.UTC().Format(time.RFC3339))
	}
	start := part.StartTime
	if start.IsZero() {
		start = part.AuthTime
	}
	if body.From.IsZero() {
		if err := checkSkew("ticket starts at", start, x.now, x.skew); err != nil {
			return err
		}
	}
	if !part.EndTime.After(x.now) {
		return replyMismatch("endtime", part.EndTime.UTC().Format(time.RFC3339), "a time after now ("+x.now.UTC().Format(time.RFC3339)+")")
	}
	return nil
}

// openReply decrypts a KDC reply's enc-part and decodes it, accepting
// EncASRepPart or EncTGSRepPart tags for either exchange as MIT does
// (Windows KDCs send tag 26 in AS replies).
func openReply(key *kcrypto.Key, usage kcrypto.Usage, rep *krb5.KDCRep) (*krb5.EncKDCRepPart, error) {
	plain, err := key.DecryptData(usage, rep.EncPart)
	if err != nil {
		return nil, err
	}
	var part krb5.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		return nil, fmt.Errorf("client: KDC reply's encrypted part: %w", err)
	}
	return &part, nil
}

var errNoKeySource = errors.New("client: no key source (password or keytab) given")
