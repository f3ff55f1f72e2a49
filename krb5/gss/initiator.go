package gss

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// Credential is a service ticket and its session key: what the
// initiator needs to authenticate to one service. Get it from a ccache
// (CredentialFromCCache) or from the Kerberos client.
type Credential struct {
	Client   ccache.Principal
	Server   ccache.Principal
	Key      krb5.EncryptionKey
	Ticket   krb5.Ticket
	AuthTime time.Time
	EndTime  time.Time
	Flags    krb5.Flags
}

// CredentialFromCCache converts a ccache entry (as kinit/kvno or warden
// kvno store it).
func CredentialFromCCache(c *ccache.Credential) (*Credential, error) {
	var t krb5.Ticket
	if err := t.Unmarshal(c.Ticket); err != nil {
		return nil, &Error{Code: DefectiveCredential, Reason: "the cached ticket for " + c.Server.String() + " is malformed", Err: err}
	}
	return &Credential{Client: c.Client, Server: c.Server, Key: c.Key, Ticket: t,
		AuthTime: c.AuthTime, EndTime: c.EndTime, Flags: c.TicketFlags}, nil
}

// InitiatorConfig configures an initiator context. Zero values are the
// documented defaults.
type InitiatorConfig struct {
	// Flags requested; zero means DefaultFlags (mutual, replay, sequence,
	// confidentiality, integrity).
	Flags Flags
	// ChannelBindings bind the context to a TLS channel
	// (TLSServerEndPoint of the server's certificate).
	ChannelBindings *ChannelBindings
	KeyOptions      kcrypto.Options
	MaxTokenSize    int
	Time            func() time.Time
	Rand            io.Reader
}

// Initiator is the client side of one Kerberos context.
type Initiator struct {
	cfg    InitiatorConfig
	cred   *Credential
	sess   *kcrypto.Key
	subkey *kcrypto.Key
	ctime  time.Time
	cusec  int32
	seq    uint64
	ctx    *Context
	done   bool
}

// NewInitiator makes the AP-REQ for cred and returns the initiator and
// the framed initial context token to send.
func NewInitiator(cred *Credential, cfg InitiatorConfig) (*Initiator, []byte, error) {
	if cfg.Flags == 0 {
		cfg.Flags = DefaultFlags
	}
	if cfg.Time == nil {
		cfg.Time = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	now := cfg.Time()
	if !cred.EndTime.IsZero() && now.After(cred.EndTime) {
		return nil, nil, &Error{Code: CredentialsExpired, Reason: fmt.Sprintf("the ticket for %s expired at %s", cred.Server, cred.EndTime.UTC().Format(time.RFC3339)),
			Hint: "get a new ticket (kinit) and retry"}
	}
	sess, err := kcrypto.NewKey(cred.Key, cfg.KeyOptions)
	if err != nil {
		return nil, nil, &Error{Code: DefectiveCredential, Reason: "the ticket's session key is unusable", Err: err}
	}
	sub, err := kcrypto.RandomKey(sess.EType(), cfg.Rand, cfg.KeyOptions)
	if err != nil {
		return nil, nil, &Error{Code: Failure, Reason: "cannot make a subkey", Err: err}
	}
	var sb [4]byte
	if _, err := io.ReadFull(cfg.Rand, sb[:]); err != nil {
		return nil, nil, &Error{Code: Failure, Reason: "cannot draw a sequence number", Err: err}
	}
	i := &Initiator{cfg: cfg, cred: cred, sess: sess, subkey: sub,
		ctime: now.UTC().Truncate(time.Second), cusec: int32(now.Nanosecond() / 1000),
		seq: uint64(binary.BigEndian.Uint32(sb[:]) & 0x3fffffff)}
	flags := cfg.Flags &^ FlagDeleg // delegation is not offered by this initiator
	ac := authChecksum{bnd: cfg.ChannelBindings.Hash(), flags: flags}
	ek := sub.EncryptionKey()
	au := krb5.Authenticator{
		CRealm: cred.Client.Realm, CName: cred.Client.Name,
		Cksum: &krb5.Checksum{CksumType: krb5.CksumGSSAPI, Checksum: ac.marshal()},
		CUSec: i.cusec, CTime: i.ctime, Subkey: &ek,
		SeqNumber: uint32(i.seq), HasSeqNumber: true,
	}
	ab, _ := au.Marshal()
	ed, err := sess.EncryptData(cfg.Rand, kcrypto.UsageAPReqAuthenticator, ab, 0, false)
	if err != nil {
		return nil, nil, &Error{Code: Failure, Reason: "cannot encrypt the authenticator", Err: err}
	}
	req := krb5.APReq{Ticket: cred.Ticket, Authenticator: ed}
	if flags.Has(FlagMutual) {
		req.APOptions = krb5.APOptMutualRequired
	}
	rb, err := req.Marshal()
	if err != nil {
		return nil, nil, &Error{Code: Failure, Reason: "cannot encode the AP-REQ", Err: err}
	}
	i.ctx = &Context{
		Client: cred.Client.Name, ClientRealm: cred.Client.Realm,
		Service: cred.Server.Name, ServiceRealm: cred.Server.Realm,
		Flags: flags, AuthTime: cred.AuthTime, EndTime: cred.EndTime, TicketFlags: cred.Flags,
	}
	if !flags.Has(FlagMutual) {
		if err := i.establish(sub, false, i.seq); err != nil {
			return nil, nil, err
		}
	}
	return i, krb5.WrapKRB5Token(krb5.TokIDAPReq, rb), nil
}

// Established reports whether the context is complete: at once without
// mutual authentication, after Step verified the AP-REP with it.
func (i *Initiator) Established() bool { return i.done }

// Context returns the established context, or nil before.
func (i *Initiator) Context() *Context {
	if !i.done {
		return nil
	}
	return i.ctx
}

// Step processes the acceptor's reply: a framed AP-REP (mutual
// authentication) or KRB-ERROR, whose reason it returns.
func (i *Initiator) Step(token []byte) (*Context, error) {
	if i.done {
		return nil, &Error{Code: Failure, Reason: "the context is already established"}
	}
	mech, id, msg, err := krb5.UnwrapGSSToken(token, i.cfg.MaxTokenSize)
	if err != nil || !krb5.IsKerberosMech(mech) {
		return nil, &Error{Code: DefectiveToken, Reason: "the acceptor's reply is not a Kerberos token", Err: err}
	}
	switch id {
	case krb5.TokIDKRBError:
		var ke krb5.KRBError
		if err := ke.Unmarshal(msg); err != nil {
			return nil, &Error{Code: DefectiveToken, Reason: "the acceptor's KRB-ERROR is malformed", Err: err}
		}
		return nil, &Error{Code: Failure, Reason: "the server refused the ticket: " + ke.ErrorCode.String() + textOf(&ke), Err: ke.Err()}
	case krb5.TokIDAPRep:
	default:
		return nil, &Error{Code: DefectiveToken, Reason: "unexpected token " + id.String() + " from the acceptor"}
	}
	var rep krb5.APRep
	if err := rep.Unmarshal(msg); err != nil {
		return nil, &Error{Code: DefectiveToken, Reason: "the AP-REP is malformed", Err: err}
	}
	plain, err := i.sess.DecryptData(kcrypto.UsageAPRepEncPart, rep.EncPart)
	if err != nil {
		return nil, &Error{Code: MutualFailed, Reason: "the AP-REP does not decrypt with the session key: the server is not who it claims to be",
			Err: &krb5.Error{Code: krb5.KRBAPErrMutFail}}
	}
	var part krb5.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return nil, &Error{Code: DefectiveToken, Reason: "the AP-REP's encrypted part is malformed", Err: err}
	}
	if !part.CTime.Equal(i.ctime) || part.CUSec != i.cusec {
		return nil, &Error{Code: MutualFailed, Reason: "the AP-REP does not echo our authenticator's time: it answers another request",
			Err: &krb5.Error{Code: krb5.KRBAPErrMutFail}}
	}
	base, acc := i.subkey, false
	if part.Subkey != nil {
		if base, err = kcrypto.NewKey(*part.Subkey, i.cfg.KeyOptions); err != nil {
			return nil, &Error{Code: DefectiveToken, Reason: "the acceptor's subkey is unusable", Err: err}
		}
		acc = true
	}
	recv := i.seq
	if part.HasSeqNumber {
		recv = uint64(part.SeqNumber)
	}
	i.ctx.Mutual = true
	if err := i.establish(base, acc, recv); err != nil {
		return nil, err
	}
	return i.ctx, nil
}

func (i *Initiator) establish(base *kcrypto.Key, acceptorSubkey bool, recv uint64) error {
	pm, err := NewPerMessage(PerMessageConfig{
		Key: base, Initiator: true, AcceptorSubkey: acceptorSubkey,
		SendSeq: i.seq, RecvSeq: recv,
		ReplayDetection: i.ctx.Flags.Has(FlagReplay), Sequencing: i.ctx.Flags.Has(FlagSequence),
		Expiry: i.cred.EndTime, Time: i.cfg.Time, Rand: i.cfg.Rand,
	})
	if err != nil && CodeOf(err) != Unavailable {
		return err
	}
	i.ctx.PerMessage = pm
	i.ctx.SessionKey = base
	i.done = true
	return nil
}

func textOf(ke *krb5.KRBError) string {
	if ke.EText == "" {
		return ""
	}
	return " (" + ke.EText + ")"
}
