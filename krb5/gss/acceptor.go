package gss

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/krb5/pac"
)

// AcceptorConfig configures an Acceptor. Zero values are the documented
// defaults.
type AcceptorConfig struct {
	// Keytab holds the service's keys. Required; replace it later with
	// SetKeytab (after a key rotation) without dropping the replay cache.
	Keytab *keytab.Keytab
	// Principal, when set ("HTTP/web.example.test" or with "@REALM"),
	// restricts the acceptor to tickets for that service; otherwise any
	// principal in the keytab is accepted, as MIT does with
	// GSS_C_NO_NAME.
	Principal string
	// MaxSkew is the allowed difference between the client's and our
	// clock; default 5 minutes.
	MaxSkew time.Duration
	// Replay is the replay cache; nil means a private one sized by
	// DefaultReplayEntries. Share one between acceptors of the same
	// service so a token replayed to another instance is caught too.
	Replay *ReplayCache
	// RequirePAC refuses tickets without a PAC (a Warden KDC always sends
	// one unless the service is flagged no-PAC).
	RequirePAC bool
	// KeyOptions allows legacy enctypes (RC4); off by default.
	KeyOptions kcrypto.Options
	// MaxTokenSize bounds an incoming token; 0 means
	// krb5.DefaultMaxGSSTokenSize.
	MaxTokenSize int
	// Time and Rand are injectable for tests; nil means time.Now and
	// crypto/rand.
	Time func() time.Time
	Rand io.Reader
}

// Acceptor verifies AP-REQs for the services of a keytab (the server
// side of RFC 4121 context establishment). It is safe for concurrent use.
type Acceptor struct {
	cfg    AcceptorConfig
	keys   atomic.Pointer[acceptorKeys]
	replay *ReplayCache
	want   *krb5.PrincipalName
	realm  string
}

// acceptorKeys is a keytab with each key turned into a kcrypto.Key once,
// so derived keys are cached across requests.
type acceptorKeys struct {
	kt   *keytab.Keytab
	keys []*kcrypto.Key // parallel to kt.Entries; nil when unusable
}

// AcceptOptions are per-context inputs.
type AcceptOptions struct {
	// ChannelBindings are the bindings of the channel the token came in
	// on (TLSServerEndPoint for HTTPS). When the client sent bindings they
	// must match; when it sent none they are not checked unless
	// RequireChannelBindings.
	ChannelBindings        *ChannelBindings
	RequireChannelBindings bool
}

// NewAcceptor checks cfg and returns an acceptor.
func NewAcceptor(cfg AcceptorConfig) (*Acceptor, error) {
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.Time == nil {
		cfg.Time = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	a := &Acceptor{cfg: cfg, replay: cfg.Replay}
	if a.replay == nil {
		a.replay = NewReplayCache(2*cfg.MaxSkew, 0)
	}
	if cfg.Principal != "" {
		name, realm, _ := strings.Cut(cfg.Principal, "@")
		p := krb5.NewPrincipalName(krb5.NameTypeSrvInst, name)
		a.want, a.realm = &p, realm
	}
	if err := a.SetKeytab(cfg.Keytab); err != nil {
		return nil, err
	}
	return a, nil
}

// SetKeytab replaces the keys, e.g. after the service's keys were
// rotated and the keytab re-exported.
func (a *Acceptor) SetKeytab(kt *keytab.Keytab) error {
	if kt == nil || len(kt.Entries) == 0 {
		return &Error{Code: NoCred, Reason: "the keytab is empty", Hint: "export the service's keys: warden keytab export SPN -o FILE"}
	}
	ak := &acceptorKeys{kt: kt, keys: make([]*kcrypto.Key, len(kt.Entries))}
	usable := 0
	for i, e := range kt.Entries {
		if a.want != nil && (!e.Principal.Equal(*a.want) || a.realm != "" && e.Realm != a.realm) {
			continue
		}
		if k, err := kcrypto.NewKey(e.Key, a.cfg.KeyOptions); err == nil {
			ak.keys[i] = k
			usable++
		}
	}
	if usable == 0 {
		what := "usable keys"
		if a.want != nil {
			what = "keys for " + a.cfg.Principal
		}
		return &Error{Code: NoCred, Reason: "the keytab has no " + what,
			Hint: "export the service's keys with warden keytab export; RC4 keys need KeyOptions.AllowRC4"}
	}
	a.keys.Store(ak)
	return nil
}

// ReplayCache returns the acceptor's replay cache.
func (a *Acceptor) ReplayCache() *ReplayCache { return a.replay }

// AcceptKerberos verifies a krb5 initial context token (framed AP-REQ,
// RFC 4121 4.1) and establishes the context. out is the framed AP-REP to
// return when the client asked for mutual authentication, or, when err is
// not nil, a framed KRB-ERROR telling the client why (nil when the token
// was too malformed to answer).
func (a *Acceptor) AcceptKerberos(token []byte, o AcceptOptions) (ctx *Context, out []byte, err error) {
	msg, err := krb5.UnwrapKRB5Token(token, krb5.TokIDAPReq, a.cfg.MaxTokenSize)
	if err != nil {
		var pe *krb5.ParseError
		if errors.As(err, &pe) {
			const reason = "the token is not a Kerberos AP-REQ"
			return nil, a.errorToken(krb5.KRBAPErrMsgType, reason, nil), &Error{Code: DefectiveToken, Reason: reason, Err: err}
		}
		return nil, nil, &Error{Code: DefectiveToken, Reason: "the token is not a Kerberos AP-REQ", Err: err}
	}
	var req krb5.APReq
	if err := req.Unmarshal(msg); err != nil {
		return nil, nil, &Error{Code: DefectiveToken, Reason: "malformed AP-REQ", Err: err}
	}
	ctx, out, err = a.accept(&req, o)
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) {
			var ke *krb5.Error
			code := krb5.KRBErrGeneric
			if errors.As(err, &ke) {
				code = ke.Code
			}
			return nil, a.errorToken(code, ge.Reason, &req.Ticket), err
		}
		return nil, nil, err
	}
	return ctx, out, nil
}

// errorToken frames a KRB-ERROR for the client. Its e-text is the same
// reason the acceptor reports, which never contains key material.
func (a *Acceptor) errorToken(code krb5.ErrorCode, reason string, t *krb5.Ticket) []byte {
	var sname krb5.PrincipalName
	var realm string
	if t != nil {
		sname, realm = t.SName, t.Realm
	}
	ke := krb5.NewKRBError(&krb5.Error{Code: code, Reason: reason}, a.cfg.Time(), realm, sname)
	b, err := ke.Marshal()
	if err != nil {
		return nil
	}
	return krb5.WrapKRB5Token(krb5.TokIDKRBError, b)
}

// Hints for refusals whose cause is on the client's side or in transit.
const (
	hintAltered  = "the token was altered on the way or made by a faulty client: get a fresh ticket (kinit, then retry) and check nothing rewrites the Authorization header"
	hintEType    = "issue the service AES keys (warden service add/keytab export) and use an AES-capable client; RC4 needs AcceptorConfig.KeyOptions.AllowRC4"
	hintBindings = "use a client that supports channel bindings (Extended Protection), or turn off RequireChannelBindings"
	hintPAC      = "the ticket was altered, or issued with other keys than this keytab's: re-export the keytab if the service was re-keyed"
	hintDeleg    = "retry without delegation (no -d / delegate flag) and report the client's version"
)

// fail builds an acceptor error carrying both the GSS code and the
// Kerberos error code the KRB-ERROR token reports.
func fail(c Code, kc krb5.ErrorCode, hint, format string, args ...any) *Error {
	reason := fmt.Sprintf(format, args...)
	return &Error{Code: c, Reason: reason, Hint: hint, Err: &krb5.Error{Code: kc, Reason: reason}}
}

func (a *Acceptor) accept(req *krb5.APReq, o AcceptOptions) (_ *Context, _ []byte, err error) {
	now := a.cfg.Time()
	// Once the ticket is open the client is known; failures after that
	// name it for the server's log.
	var client string
	defer func() {
		var ge *Error
		if err != nil && client != "" && errors.As(err, &ge) && ge.Principal == "" {
			ge.Principal = client
		}
	}()
	t := &req.Ticket
	service := t.SName.String() + "@" + t.Realm
	if req.APOptions.Has(krb5.APOptUseSessionKey) {
		return nil, nil, fail(Unavailable, krb5.KRBAPErrMethod, "have the client request an ordinary service ticket", "user-to-user tickets (use-session-key) are not supported")
	}
	if a.want != nil && (!t.SName.Equal(*a.want) || a.realm != "" && t.Realm != a.realm) {
		return nil, nil, fail(WrongService, krb5.KRBAPErrNotUs, "the client asked for the wrong service name, or this server is configured with the wrong principal",
			"wrong service: ticket is for %s, this server is %s", service, a.cfg.Principal)
	}
	skey, kvno, err := a.serviceKey(t)
	if err != nil {
		return nil, nil, err
	}
	plain, err := skey.DecryptData(kcrypto.UsageTicket, t.EncPart)
	if err != nil {
		return nil, nil, fail(DefectiveCredential, krb5.KRBAPErrBadIntegrity,
			"re-export the keytab (warden keytab export) if the service's keys changed",
			"the ticket for %s does not decrypt with the keytab's kvno %d %v key: the keytab is stale or the ticket was altered", service, kvno, t.EncPart.EType)
	}
	var etp krb5.EncTicketPart
	if err := etp.Unmarshal(plain); err != nil {
		return nil, nil, fail(DefectiveToken, krb5.KRBAPErrModified, hintAltered, "the ticket's encrypted part is malformed")
	}
	sess, err := kcrypto.NewKey(etp.Key, a.cfg.KeyOptions)
	if err != nil {
		return nil, nil, fail(DefectiveCredential, krb5.KDCErrETypeNoSupp, hintEType, "the ticket's session key is unusable: %v", err)
	}
	plainAuth, err := sess.DecryptData(kcrypto.UsageAPReqAuthenticator, req.Authenticator)
	if err != nil {
		return nil, nil, fail(DefectiveToken, krb5.KRBAPErrBadIntegrity, hintAltered, "the authenticator does not decrypt with the ticket's session key")
	}
	var auth krb5.Authenticator
	if err := auth.Unmarshal(plainAuth); err != nil {
		return nil, nil, fail(DefectiveToken, krb5.KRBAPErrModified, hintAltered, "the authenticator is malformed")
	}
	client = etp.CName.String() + "@" + etp.CRealm
	if !auth.CName.Equal(etp.CName) || auth.CRealm != etp.CRealm {
		return nil, nil, fail(DefectiveToken, krb5.KRBAPErrBadMatch, hintAltered,
			"the authenticator names %s@%s but the ticket is for %s", auth.CName, auth.CRealm, client)
	}
	if err := a.checkTimes(&etp, &auth, now, client, service); err != nil {
		return nil, nil, err
	}
	if first, replay := a.replay.check(req.Authenticator.Cipher, now); replay {
		return nil, nil, fail(Replay, krb5.KRBAPErrRepeat, "a captured token was sent again, or the client re-sent the same token: it must make a new one",
			"request is a replay: this authenticator from %s was already accepted at %s", client, first.UTC().Format(time.RFC3339))
	}

	ctx := &Context{
		Client: etp.CName, ClientRealm: etp.CRealm, Service: t.SName, ServiceRealm: t.Realm,
		AuthTime: etp.AuthTime, EndTime: etp.EndTime, TicketFlags: etp.Flags,
	}
	if c := auth.Cksum; c != nil && c.CksumType == krb5.CksumGSSAPI {
		ac, err := parseAuthChecksum(c.Checksum)
		if err != nil {
			return nil, nil, err
		}
		if err := checkBindings(ac.bnd, o); err != nil {
			return nil, nil, err
		}
		ctx.Flags = ac.flags
		if ac.flags.Has(FlagDeleg) && ac.deleg != nil {
			d, err := decodeDelegation(ac.deleg, sess)
			if err != nil {
				return nil, nil, err
			}
			ctx.Delegated = d
		} else {
			ctx.Flags &^= FlagDeleg
		}
	} else if o.RequireChannelBindings {
		return nil, nil, fail(BadBindings, krb5.KRBAPErrModified, hintBindings, "channel bindings are required but the authenticator has no GSS checksum")
	}
	if req.APOptions.Has(krb5.APOptMutualRequired) {
		ctx.Flags |= FlagMutual
	}

	if p, err := pac.FromTicket(&etp); err != nil {
		return nil, nil, fail(DefectiveCredential, krb5.KRBAPErrModified, hintPAC, "the ticket's PAC is malformed: %v", err)
	} else if p != nil {
		if err := p.VerifyServerSignature(pac.SigningKey{Key: skey, KVNO: kvno}); err != nil {
			return nil, nil, fail(DefectiveCredential, krb5.KRBAPErrModified, hintPAC, "the ticket's PAC does not verify: %v", err)
		}
		ctx.PAC = p
	} else if a.cfg.RequirePAC {
		return nil, nil, fail(DefectiveCredential, krb5.KRBAPErrModified, "check that the service is not flagged no-PAC in the account DB",
			"the ticket for %s has no PAC, and this server requires one", client)
	}

	// Keys and sequence numbers (RFC 4121 2, gss-spnego.md 2.3).
	base, baseIsAcceptorSubkey := sess, false
	if auth.Subkey != nil {
		if base, err = kcrypto.NewKey(*auth.Subkey, a.cfg.KeyOptions); err != nil {
			return nil, nil, fail(DefectiveToken, krb5.KDCErrETypeNoSupp, hintEType, "the authenticator's subkey is unusable: %v", err)
		}
	}
	initSeq := uint64(auth.SeqNumber)
	sendSeq := initSeq
	var out []byte
	if ctx.Flags.Has(FlagMutual) {
		sub, err := kcrypto.RandomKey(base.EType(), a.cfg.Rand, a.cfg.KeyOptions)
		if err != nil {
			return nil, nil, &Error{Code: Failure, Reason: "cannot make an acceptor subkey", Err: err}
		}
		var seq [4]byte
		if _, err := io.ReadFull(a.cfg.Rand, seq[:]); err != nil {
			return nil, nil, &Error{Code: Failure, Reason: "cannot draw a sequence number", Err: err}
		}
		sendSeq = uint64(seq[0])<<24 | uint64(seq[1])<<16 | uint64(seq[2])<<8 | uint64(seq[3])
		sendSeq &= 0x3fffffff // keep clear of 32-bit wrap, as MIT does
		ek := sub.EncryptionKey()
		part := krb5.EncAPRepPart{CTime: auth.CTime, CUSec: auth.CUSec, Subkey: &ek, SeqNumber: uint32(sendSeq), HasSeqNumber: true}
		pb, _ := part.Marshal()
		ed, err := sess.EncryptData(a.cfg.Rand, kcrypto.UsageAPRepEncPart, pb, 0, false)
		if err != nil {
			return nil, nil, &Error{Code: Failure, Reason: "cannot encrypt the AP-REP", Err: err}
		}
		rep := krb5.APRep{EncPart: ed}
		rb, _ := rep.Marshal()
		out = krb5.WrapKRB5Token(krb5.TokIDAPRep, rb)
		base, baseIsAcceptorSubkey = sub, true
		ctx.Mutual = true
	}
	ctx.SessionKey = base
	pm, err := NewPerMessage(PerMessageConfig{
		Key: base, Initiator: false, AcceptorSubkey: baseIsAcceptorSubkey,
		SendSeq: sendSeq, RecvSeq: initSeq,
		ReplayDetection: ctx.Flags.Has(FlagReplay), Sequencing: ctx.Flags.Has(FlagSequence),
		DCEStyle: ctx.Flags.Has(FlagDCEStyle), Expiry: etp.EndTime, Time: a.cfg.Time, Rand: a.cfg.Rand,
	})
	if err != nil {
		// RC4 sessions have no RFC 4121 tokens here; the context is still
		// good for authentication.
		if CodeOf(err) != Unavailable {
			return nil, nil, err
		}
	}
	ctx.PerMessage = pm
	return ctx, out, nil
}

// serviceKey finds the keytab key the ticket is encrypted in, and says
// precisely what is wrong when there is none.
func (a *Acceptor) serviceKey(t *krb5.Ticket) (*kcrypto.Key, uint32, error) {
	ak := a.keys.Load()
	ed := t.EncPart
	service := t.SName.String() + "@" + t.Realm
	var haveKVNO []uint32
	var haveEType []krb5.EncType
	found := false
	for i, e := range ak.kt.Entries {
		if ak.keys[i] == nil || e.Realm != t.Realm || !e.Principal.Equal(t.SName) {
			continue
		}
		found = true
		if e.Key.KeyType != ed.EType {
			haveEType = append(haveEType, e.Key.KeyType)
			continue
		}
		if ed.HasKVNO && e.KVNO != ed.KVNO && e.KVNO&0xff != ed.KVNO&0xff {
			haveKVNO = append(haveKVNO, e.KVNO)
			continue
		}
		return ak.keys[i], e.KVNO, nil
	}
	switch {
	case !found:
		var have []string
		for i, e := range ak.kt.Entries {
			if ak.keys[i] != nil {
				have = append(have, e.PrincipalString())
			}
		}
		return nil, 0, fail(WrongService, krb5.KRBAPErrNotUs,
			"the client asked for a service name this server has no keys for; check the URL host and the SPN, or export the right keytab",
			"wrong service: ticket is for %s, keytab holds %s", service, strings.Join(dedup(have), ", "))
	case len(haveKVNO) > 0:
		return nil, 0, fail(KeyNotFound, krb5.KRBAPErrBadKeyVer,
			"the service's keys were changed after this keytab was exported: re-export it with warden keytab export",
			"ticket for %s was encrypted with kvno %d but the keytab holds kvno %s — re-export the keytab", service, ed.KVNO, joinUints(haveKVNO))
	default:
		return nil, 0, fail(KeyNotFound, krb5.KRBAPErrNoKey,
			"export a keytab with all of the service's enctypes",
			"ticket for %s is encrypted with %v but the keytab only has %v keys", service, ed.EType, haveEType)
	}
}

func (a *Acceptor) checkTimes(etp *krb5.EncTicketPart, au *krb5.Authenticator, now time.Time, client, service string) error {
	skew := a.cfg.MaxSkew
	ct := au.Time()
	if d := ct.Sub(now); d > skew || -d > skew {
		dir := "ahead of"
		if d < 0 {
			dir, d = "behind", -d
		}
		return fail(ClockSkew, krb5.KRBAPErrSkew, "synchronise the clocks (NTP) of the client and the server",
			"clock skew %v: the client's clock is %v %s this server's (allowed %v)", d.Round(time.Second), d.Round(time.Second), dir, skew)
	}
	start := etp.StartTime
	if start.IsZero() {
		start = etp.AuthTime
	}
	if etp.Flags.Has(krb5.TktFlagInvalid) || start.Sub(now) > skew {
		return fail(DefectiveCredential, krb5.KRBAPErrTktNYV, "validate a postdated ticket (kinit -v) or wait until it starts",
			"the ticket of %s for %s is not yet valid (starts %s)", client, service, start.UTC().Format(time.RFC3339))
	}
	if now.Sub(etp.EndTime) > skew {
		return fail(CredentialsExpired, krb5.KRBAPErrTktExpired, "get a new ticket (kinit) and retry",
			"the ticket of %s for %s expired at %s (%v ago)", client, service, etp.EndTime.UTC().Format(time.RFC3339), now.Sub(etp.EndTime).Round(time.Second))
	}
	return nil
}

func checkBindings(bnd [16]byte, o AcceptOptions) error {
	if bnd == ([16]byte{}) {
		if o.RequireChannelBindings {
			return fail(BadBindings, krb5.KRBAPErrModified, hintBindings,
				"channel bindings are required but the client sent none")
		}
		return nil
	}
	if o.ChannelBindings == nil {
		// The client bound to a channel we cannot see; MIT accepts this
		// too (the bindings protect the client, not us).
		return nil
	}
	if o.ChannelBindings.Hash() != bnd {
		return fail(BadBindings, krb5.KRBAPErrModified, "the client reached this server through a different TLS channel (a proxy terminating TLS?)",
			"channel bindings do not match: the client's token was made for another TLS channel")
	}
	return nil
}

func decodeDelegation(b []byte, sess *kcrypto.Key) (*Delegated, error) {
	var cred krb5.KRBCred
	if err := cred.Unmarshal(b); err != nil {
		return nil, fail(DefectiveToken, krb5.KRBAPErrModified, hintDeleg, "the delegated credentials are malformed")
	}
	plain, err := sess.DecryptData(kcrypto.UsageKrbCred, cred.EncPart)
	if err != nil {
		// Some clients send KRB-CRED with etype 0 (unencrypted), which
		// RFC 4120 5.8 permits over a protected channel.
		if cred.EncPart.EType != 0 {
			return nil, fail(DefectiveToken, krb5.KRBAPErrBadIntegrity, hintDeleg, "the delegated credentials do not decrypt with the session key")
		}
		plain = cred.EncPart.Cipher
	}
	var part krb5.EncKrbCredPart
	if err := part.Unmarshal(plain); err != nil || len(part.TicketInfo) == 0 || len(cred.Tickets) == 0 {
		return nil, fail(DefectiveToken, krb5.KRBAPErrModified, hintDeleg, "the delegated credentials are malformed")
	}
	return &Delegated{Ticket: cred.Tickets[0], Info: part.TicketInfo[0]}, nil
}

func dedup(s []string) []string {
	var out []string
	for _, x := range s {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

func joinUints(v []uint32) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, x)
	}
	return b.String()
}
