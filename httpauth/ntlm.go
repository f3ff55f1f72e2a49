package httpauth

import (
	"context"
	"errors"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/passthrough"
)

// NTLMValidator has the AA validate an NTLM answer (MS-APDS pass-through):
// the server never holds the user's secret. *passthrough.Client is one.
type NTLMValidator interface {
	ValidateNTLM(ctx context.Context, v *ntlm.Validation) (*passthrough.Result, error)
}

// NTLMConfig configures NTLM for an Authenticator.
type NTLMConfig struct {
	// Server names this server in its challenges. The AA checks the
	// NetBIOS names the client echoes against the account that asks it
	// to validate, so they must be this server's computer account
	// (passthrough.Client.ServerInfo returns them).
	Server ntlm.ServerConfig
	// Validator asks the AA (required).
	Validator NTLMValidator
	// Timeout bounds one validation at the AA; 0 means 10 seconds.
	Timeout time.Duration
}

func (c *NTLMConfig) check() error {
	if c.Validator == nil {
		return errors.New("httpauth: NTLMConfig.Validator is required (the AA validates NTLM answers)")
	}
	if c.Server.NetBIOSDomain == "" || c.Server.NetBIOSComputer == "" {
		return errors.New("httpauth: NTLMConfig.Server needs the NetBIOS domain and computer names the AA expects")
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	return nil
}

// NTLMMechanism returns NTLM as a SPNEGO mechanism, for
// Config.Mechanisms or any gss.SPNEGOAcceptor.
func NTLMMechanism(cfg NTLMConfig) (gss.Mechanism, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &ntlmMech{cfg: cfg}, nil
}

type ntlmMech struct{ cfg NTLMConfig }

func (m *ntlmMech) OID() []byte { return []byte(krb5.OIDNTLMSSP) }

func (m *ntlmMech) NewAcceptor(o gss.AcceptOptions) gss.MechAcceptor {
	return &ntlmAcceptor{cfg: &m.cfg, opts: o}
}

// ntlmAcceptor is one NTLM authentication: NEGOTIATE → CHALLENGE, then
// AUTHENTICATE → the AA's verdict.
type ntlmAcceptor struct {
	cfg  *NTLMConfig
	opts gss.AcceptOptions
	sc   *ntlm.ServerContext
	ctx  *ntlmContext
}

func (n *ntlmAcceptor) Step(ctx context.Context, in []byte) ([]byte, bool, error) {
	if n.sc == nil {
		sc, challenge, err := ntlm.NewChallenge(n.cfg.Server, in)
		if err != nil {
			return nil, false, err
		}
		n.sc = sc
		return challenge, false, nil
	}
	c, err := n.finish(ctx, in)
	if err != nil {
		return nil, false, err
	}
	n.ctx = c
	return nil, true, nil
}

// finish validates the AUTHENTICATE message with the AA and completes
// the context with the session key it returns.
func (n *ntlmAcceptor) finish(ctx context.Context, in []byte) (*ntlmContext, error) {
	v, err := n.sc.Authenticate(in)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	res, err := n.cfg.Validator.ValidateNTLM(ctx, v)
	if err != nil {
		return nil, err
	}
	var bindings *[16]byte
	if n.opts.ChannelBindings != nil {
		h := n.opts.ChannelBindings.Hash()
		bindings = &h
	}
	sess, err := n.sc.Finish(res.SessionBaseKey, bindings, n.opts.RequireChannelBindings)
	if err != nil {
		return nil, err
	}
	id := res.Identity
	id.Method = auth.MethodNTLM
	return &ntlmContext{id: &id, sess: sess}, nil
}

func (n *ntlmAcceptor) Context() gss.SecurityContext { return n.ctx }

// ntlmContext is an established NTLM context: the AA's identity and the
// session for mechListMIC.
type ntlmContext struct {
	id   *auth.Identity
	sess *ntlm.Session
}

func (c *ntlmContext) Identity() *auth.Identity           { return c.id }
func (c *ntlmContext) MakeMIC(msg []byte) ([]byte, error) { return c.sess.MakeMIC(msg) }
func (c *ntlmContext) VerifyMIC(msg, tok []byte) error    { return c.sess.VerifyMIC(msg, tok) }

// isRawNTLM reports a bare NTLM message, which some clients send under
// "Negotiate" instead of wrapping it in SPNEGO.
func isRawNTLM(tok []byte) bool {
	return len(tok) >= 8 && string(tok[:8]) == "NTLMSSP\x00"
}
