package gss

import (
	"bytes"
	"context"
	"strings"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/krb5"
)

// SecurityContext is what any mechanism negotiated through SPNEGO yields:
// who the peer is, and the MIC operations SPNEGO needs for mechListMIC.
// *Context (Kerberos) implements it; the NTLM mechanism does too.
type SecurityContext interface {
	Identity() *auth.Identity
	MakeMIC(msg []byte) ([]byte, error)
	VerifyMIC(msg, token []byte) error
}

// MechAcceptor is one mechanism's acceptor for one context. Step takes a
// mechanism token and returns the token to send back (possibly nil); done
// reports that the context is established, after which Context is valid.
// ctx bounds any call the mechanism makes (NTLM asks the AA to validate).
type MechAcceptor interface {
	Step(ctx context.Context, in []byte) (out []byte, done bool, err error)
	Context() SecurityContext
}

// Mechanism lets the SPNEGO acceptor offer a mechanism besides Kerberos
// (NTLM). OID is its DER object identifier.
type Mechanism interface {
	OID() []byte
	// NewAcceptor starts one context; o carries the connection's channel
	// bindings.
	NewAcceptor(o AcceptOptions) MechAcceptor
}

// krb5Mech is the Kerberos mechanism behind SPNEGO: one leg.
type krb5Mech struct {
	a   *Acceptor
	o   AcceptOptions
	ctx *Context
}

func (m *krb5Mech) Step(_ context.Context, in []byte) ([]byte, bool, error) {
	ctx, out, err := m.a.AcceptKerberos(in, m.o)
	if err != nil {
		return out, false, err
	}
	m.ctx = ctx
	return out, true, nil
}

func (m *krb5Mech) Context() SecurityContext { return m.ctx }

// MakeMIC makes a MIC token; it fails with Unavailable for contexts
// without RFC 4121 tokens (RC4 sessions).
func (c *Context) MakeMIC(msg []byte) ([]byte, error) {
	if c.PerMessage == nil {
		return nil, &Error{Code: Unavailable, Reason: "this context has no per-message protection (RC4 session key)"}
	}
	return c.PerMessage.MakeMIC(msg)
}

// VerifyMIC checks a MIC token; see MakeMIC.
func (c *Context) VerifyMIC(msg, token []byte) error {
	if c.PerMessage == nil {
		return &Error{Code: Unavailable, Reason: "this context has no per-message protection (RC4 session key)"}
	}
	return c.PerMessage.VerifyMIC(msg, token)
}

// SPNEGOAcceptor runs the acceptor side of one SPNEGO negotiation (RFC
// 4178 with the MS-SPNG rules): Kerberos whenever the client offers it,
// else another configured mechanism. Call Step with each client token
// until done.
type SPNEGOAcceptor struct {
	a     *Acceptor
	o     AcceptOptions
	extra []Mechanism

	started  bool
	rawMechs []byte // MechTypeList as the client sent it
	mech     MechAcceptor
	chosen   []byte // the OID as the client listed it
	needMIC  bool   // the mechanism was not the client's first choice
	waitMIC  bool   // mechanism done, the client's MIC is outstanding
	done     bool
	ctx      SecurityContext
	kerberos bool
}

// NewSPNEGO starts a negotiation; extra mechanisms are offered after
// Kerberos, in order.
func (a *Acceptor) NewSPNEGO(o AcceptOptions, extra ...Mechanism) *SPNEGOAcceptor {
	return &SPNEGOAcceptor{a: a, o: o, extra: extra}
}

// Context returns the established context (nil before done). For Kerberos
// it is a *Context.
func (s *SPNEGOAcceptor) Context() SecurityContext { return s.ctx }

// Kerberos reports whether Kerberos was negotiated.
func (s *SPNEGOAcceptor) Kerberos() bool { return s.kerberos }

func (s *SPNEGOAcceptor) pick(mechs [][]byte) (int, MechAcceptor, bool) {
	for i, m := range mechs {
		if krb5.IsKerberosMech(m) {
			return i, &krb5Mech{a: s.a, o: s.o}, true
		}
	}
	for i, m := range mechs {
		for _, x := range s.extra {
			if bytes.Equal(m, x.OID()) {
				return i, x.NewAcceptor(s.o), false
			}
		}
	}
	return -1, nil, false
}

// Step processes one client token. out is the token to send back (also
// on most errors: a reject or a KRB-ERROR the client can show).
func (s *SPNEGOAcceptor) Step(in []byte) (out []byte, done bool, err error) {
	return s.StepContext(context.Background(), in)
}

// StepContext is Step with a context for mechanisms that make calls.
func (s *SPNEGOAcceptor) StepContext(ctx context.Context, in []byte) (out []byte, done bool, err error) {
	if s.done {
		return nil, true, &Error{Code: Failure, Reason: "the negotiation is already complete"}
	}
	if !s.started {
		return s.first(ctx, in)
	}
	resp, err := ParseNegTokenResp(in, s.a.cfg.MaxTokenSize)
	if err != nil {
		return nil, false, err
	}
	if s.waitMIC {
		return s.checkClientMIC(resp.MechListMIC)
	}
	if resp.ResponseToken == nil {
		return nil, false, &Error{Code: DefectiveToken, Reason: "the client's SPNEGO token carries no mechanism token"}
	}
	return s.mechStep(ctx, resp.ResponseToken, resp.MechListMIC, false)
}

func (s *SPNEGOAcceptor) first(ctx context.Context, in []byte) ([]byte, bool, error) {
	s.started = true
	init, resp, err := ParseNegotiationToken(in, s.a.cfg.MaxTokenSize)
	if err != nil {
		// Some clients send a bare Kerberos token under "Negotiate".
		if CodeOf(err) == BadMech {
			if mech, _, _, e := krb5.UnwrapGSSToken(in, s.a.cfg.MaxTokenSize); e == nil && krb5.IsKerberosMech(mech) {
				m := &krb5Mech{a: s.a, o: s.o}
				out, _, err := m.Step(ctx, in)
				if err != nil {
					return out, false, err
				}
				s.done, s.ctx, s.kerberos = true, m.ctx, true
				return out, true, nil
			}
		}
		return nil, false, err
	}
	if resp != nil || init == nil {
		return nil, false, &Error{Code: DefectiveToken, Reason: "the first SPNEGO token must be a negTokenInit"}
	}
	s.rawMechs = init.RawMechTypes
	i, mech, isKrb := s.pick(init.MechTypes)
	if mech == nil {
		names := make([]string, len(init.MechTypes))
		for j, m := range init.MechTypes {
			names[j] = MechName(m)
		}
		offered := "Kerberos"
		for _, x := range s.extra {
			offered += ", " + MechName(x.OID())
		}
		rej, _ := (&NegTokenResp{NegState: Reject}).Marshal()
		return rej, false, &Error{Code: BadMech, Reason: "no common mechanism: the client offered " + strings.Join(names, ", ") + "; this server accepts " + offered,
			Hint: "get a Kerberos ticket (kinit) or enable another mechanism on the server"}
	}
	s.mech, s.chosen, s.kerberos = mech, init.MechTypes[i], isKrb
	s.needMIC = i != 0
	if i != 0 || init.MechToken == nil {
		// The optimistic token (if any) was for another mechanism; ask
		// the client to start the chosen one.
		out, err := (&NegTokenResp{NegState: AcceptIncomplete, SupportedMech: s.chosen}).Marshal()
		return out, false, err
	}
	return s.mechStep(ctx, init.MechToken, init.MechListMIC, true)
}

// mechStep runs the mechanism and builds the reply.
func (s *SPNEGOAcceptor) mechStep(ctx context.Context, tok, clientMIC []byte, first bool) ([]byte, bool, error) {
	mout, mdone, err := s.mech.Step(ctx, tok)
	if err != nil {
		resp := &NegTokenResp{NegState: Reject, ResponseToken: mout}
		if first {
			resp.SupportedMech = s.chosen
		}
		out, _ := resp.Marshal()
		return out, false, err
	}
	resp := &NegTokenResp{ResponseToken: mout}
	if first {
		resp.SupportedMech = s.chosen
	}
	if !mdone {
		resp.NegState = AcceptIncomplete
		out, err := resp.Marshal()
		return out, false, err
	}
	s.ctx = s.mech.Context()
	if clientMIC != nil || s.needMIC {
		mic, err := s.ctx.MakeMIC(s.rawMechs)
		if err != nil {
			return nil, false, err
		}
		resp.MechListMIC = mic
		if clientMIC == nil {
			// Downgrade protection: the client must answer with its MIC.
			s.waitMIC = true
			resp.NegState = AcceptIncomplete
			out, err := resp.Marshal()
			return out, false, err
		}
		if _, _, err := s.checkClientMIC(clientMIC); err != nil {
			return nil, false, err
		}
	}
	resp.NegState = AcceptCompleted
	s.done = true
	out, err := resp.Marshal()
	return out, true, err
}

func (s *SPNEGOAcceptor) checkClientMIC(mic []byte) ([]byte, bool, error) {
	if mic == nil {
		return nil, false, &Error{Code: DefectiveToken, Reason: "the client did not send the mechListMIC that protects the mechanism choice"}
	}
	if err := s.ctx.VerifyMIC(s.rawMechs, mic); err != nil {
		return nil, false, &Error{Code: DefectiveToken, Reason: "the client's mechListMIC does not verify: the mechanism list was altered on the way", Err: err}
	}
	if s.waitMIC {
		s.waitMIC, s.done = false, true
		out, err := (&NegTokenResp{NegState: AcceptCompleted}).Marshal()
		return out, true, err
	}
	return nil, true, nil
}

// SPNEGOInitiator is the client side of a SPNEGO negotiation that offers
// Kerberos.
type SPNEGOInitiator struct {
	krb      *Initiator
	rawMechs []byte
	done     bool
	gotFirst bool
}

// NewSPNEGOInitiator returns the initiator and the initial token (a
// negTokenInit offering Kerberos with an optimistic AP-REQ).
func NewSPNEGOInitiator(cred *Credential, cfg InitiatorConfig) (*SPNEGOInitiator, []byte, error) {
	krb, tok, err := NewInitiator(cred, cfg)
	if err != nil {
		return nil, nil, err
	}
	mechs := [][]byte{[]byte(krb5.OIDKRB5)}
	raw, err := EncodeMechTypeList(mechs)
	if err != nil {
		return nil, nil, err
	}
	out, err := (&NegTokenInit{MechTypes: mechs, MechToken: tok}).Marshal()
	if err != nil {
		return nil, nil, err
	}
	return &SPNEGOInitiator{krb: krb, rawMechs: raw}, out, nil
}

// Context returns the Kerberos context once established.
func (s *SPNEGOInitiator) Context() *Context { return s.krb.Context() }

// Established reports whether the negotiation completed.
func (s *SPNEGOInitiator) Established() bool { return s.done }

// Step processes the acceptor's token; out, when not nil, goes back.
func (s *SPNEGOInitiator) Step(in []byte) (out []byte, done bool, err error) {
	if s.done {
		return nil, true, &Error{Code: Failure, Reason: "the negotiation is already complete"}
	}
	resp, err := ParseNegTokenResp(in, s.krb.cfg.MaxTokenSize)
	if err != nil {
		return nil, false, err
	}
	if !s.gotFirst {
		s.gotFirst = true
		if resp.NegState == NegStateAbsent {
			return nil, false, &Error{Code: DefectiveToken, Reason: "the acceptor's first SPNEGO reply has no negState"}
		}
		if resp.SupportedMech != nil && !krb5.IsKerberosMech(resp.SupportedMech) {
			return nil, false, &Error{Code: BadMech, Reason: "the server chose " + MechName(resp.SupportedMech) + ", but this client only offered Kerberos"}
		}
	}
	if resp.NegState == Reject {
		e := &Error{Code: Failure, Reason: "the server rejected the authentication"}
		if resp.ResponseToken != nil {
			if _, kerr := s.krb.Step(resp.ResponseToken); kerr != nil {
				e.Reason += ": " + kerr.Error()
				e.Err = kerr
			}
		}
		return nil, false, e
	}
	if resp.ResponseToken != nil {
		if _, err := s.krb.Step(resp.ResponseToken); err != nil {
			return nil, false, err
		}
	}
	if !s.krb.Established() {
		if resp.NegState == AcceptCompleted {
			return nil, false, &Error{Code: MutualFailed, Reason: "missing mutual token: the server completed without the AP-REP that proves its identity",
				Hint: "the server may not hold the service's key; do not trust this response"}
		}
		return nil, false, &Error{Code: DefectiveToken, Reason: "the acceptor asked for another leg, which Kerberos does not have"}
	}
	ctx := s.krb.Context()
	if resp.MechListMIC != nil {
		if err := ctx.VerifyMIC(s.rawMechs, resp.MechListMIC); err != nil {
			return nil, false, &Error{Code: DefectiveToken, Reason: "the server's mechListMIC does not verify", Err: err}
		}
		if resp.NegState == AcceptIncomplete {
			mic, err := ctx.MakeMIC(s.rawMechs)
			if err != nil {
				return nil, false, err
			}
			s.done = true
			out, err := (&NegTokenResp{MechListMIC: mic}).Marshal()
			return out, true, err
		}
	}
	s.done = true
	return nil, true, nil
}
