package ntlm

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"io"
	"time"
)

// ServerConfig names the server in its challenges. The AA checks the
// NetBIOS names the client echoes back against the server that asks it
// to validate, so they must be the server's real account names.
type ServerConfig struct {
	NetBIOSDomain   string // "EXAMPLE"
	NetBIOSComputer string // "WEB01"
	DNSDomain       string // "example.test"
	DNSComputer     string // "web01.example.test"
	Time            func() time.Time
	Rand            io.Reader
}

// ServerContext is the server's state for one NTLM authentication:
// the messages so far and whether the challenge was used.
type ServerContext struct {
	cfg       ServerConfig
	negotiate *Negotiate
	challenge *Challenge
	auth      *Authenticate
	blob      *blob // the client's NTLMv2 blob, parsed once in Authenticate
	used      bool
}

// NewChallenge answers a NEGOTIATE_MESSAGE with a fresh challenge.
func NewChallenge(cfg ServerConfig, negotiate []byte) (*ServerContext, []byte, error) {
	n, err := ParseNegotiate(negotiate)
	if err != nil {
		return nil, nil, err
	}
	// Clients such as curl offer only OEM in NEGOTIATE and follow the
	// server's choice; the challenge always selects Unicode, and
	// ParseAuthenticate refuses an answer in OEM.
	now, rnd := time.Now, cfg.Rand
	if cfg.Time != nil {
		now = cfg.Time
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	// Echo what the client asked of the optional features; always
	// require Unicode, NTLM and extended session security.
	flags := FlagUnicode | FlagNTLM | FlagExtendedSessionSecurity | FlagTargetInfo | FlagVersion |
		FlagTargetTypeDomain | FlagRequestTarget | FlagAlwaysSign
	flags |= n.Flags & (FlagSign | FlagSeal | Flag128 | Flag56 | FlagKeyExch | FlagIdentify)
	var ts [8]byte
	binary.LittleEndian.PutUint64(ts[:], toFiletime(now()))
	c := &Challenge{Flags: flags, TargetName: cfg.NetBIOSDomain, TargetInfo: AVPairs{
		{AvNbDomainName, toUTF16(cfg.NetBIOSDomain)},
		{AvNbComputerName, toUTF16(cfg.NetBIOSComputer)},
		{AvDNSDomainName, toUTF16(cfg.DNSDomain)},
		{AvDNSComputerName, toUTF16(cfg.DNSComputer)},
		{AvTimestamp, ts[:]},
	}}
	if _, err := io.ReadFull(rnd, c.ServerChallenge[:]); err != nil {
		return nil, nil, err
	}
	return &ServerContext{cfg: cfg, negotiate: n, challenge: c}, c.Marshal(), nil
}

// Authenticate parses the client's AUTHENTICATE_MESSAGE and returns what
// to send the AA for validation. A context validates one answer: a second
// call (a replayed or retried answer to the same challenge) is refused.
func (s *ServerContext) Authenticate(authenticate []byte) (*Validation, error) {
	if s.used {
		return nil, errorf(StatusLogonFailure, "this challenge was already answered; a new authentication needs a new challenge")
	}
	s.used = true
	a, err := ParseAuthenticate(authenticate)
	if err != nil {
		return nil, err
	}
	if a.User == "" && len(a.NTResponse) == 0 {
		return nil, errorf(StatusLogonFailure, "anonymous NTLM logons are not accepted")
	}
	if len(a.NTResponse) <= 24 {
		return nil, &Error{Status: StatusNTLMBlocked, Reason: "the client answered with NTLMv1, which is refused",
			Hint: "configure the client for NTLMv2 only (LmCompatibilityLevel 5)"}
	}
	b, err := parseBlob(a.NTResponse[16:])
	if err != nil {
		return nil, err
	}
	s.auth, s.blob = a, b
	return &Validation{ServerChallenge: s.challenge.ServerChallenge, User: a.User, Domain: a.Domain,
		Workstation: a.Workstation, NTResponse: a.NTResponse, LMResponse: a.LMResponse}, nil
}

// Finish completes the context with the session base key the AA returned
// for this answer: it derives the exported key, checks the MIC (whose
// removal the client's signed MsvAvFlags would betray) and the channel
// bindings, and returns the session. bindings is the MD5 of the channel
// bindings of the connection, nil when there are none; require refuses
// clients that sent no bindings.
func (s *ServerContext) Finish(sessionBaseKey [16]byte, bindings *[16]byte, require bool) (*Session, error) {
	a, b := s.auth, s.blob
	if a == nil {
		return nil, errorf(StatusLogonFailure, "Finish called before Authenticate")
	}
	flags := a.Flags & s.challenge.Flags
	exported := sessionBaseKey
	if flags.Has(FlagKeyExch) {
		if len(a.EncryptedRandomSessionKey) != 16 {
			return nil, invalid("key exchange was negotiated but the encrypted session key is %d bytes", len(a.EncryptedRandomSessionKey))
		}
		r, _ := rc4.NewCipher(sessionBaseKey[:])
		r.XORKeyStream(exported[:], a.EncryptedRandomSessionKey)
	}
	if b.avPairs.Flags()&AvFlagMIC != 0 {
		if a.MIC == nil {
			return nil, errorf(StatusMessageAltered, "the client signed that it sent a MIC but the message has none (MIC removed)")
		}
		zeroed := append([]byte(nil), a.Raw...)
		clear(zeroed[micOffset : micOffset+16])
		want := hmacMD5(exported[:], s.negotiate.Raw, s.challenge.Raw, zeroed)
		if !hmac.Equal(want, a.MIC) {
			return nil, errorf(StatusMessageAltered, "the AUTHENTICATE message's MIC does not verify: a message of the exchange was altered")
		}
	}
	// Without the flag there is no MIC to check: older clients (curl)
	// send none. An attacker cannot clear the flag, which NTProofStr
	// covers, so "drop the MIC" is caught above.
	cb, _ := b.avPairs.Get(AvChannelBindings)
	zero := len(cb) != 16 || [16]byte(cb) == [16]byte{}
	switch {
	case bindings != nil && !zero && [16]byte(cb) != *bindings:
		return nil, errorf(StatusBadBindings, "channel bindings do not match: the client authenticated for another TLS channel")
	case require && zero:
		return nil, errorf(StatusBadBindings, "channel bindings are required but the client sent none")
	}
	return newSession(exported, flags, false), nil
}

// TargetSPN returns the service name the client said it was reaching,
// and whether the client marked it untrusted.
func (s *ServerContext) TargetSPN() (string, bool) {
	if s.blob == nil {
		return "", false
	}
	return s.blob.avPairs.String(AvTargetName), s.blob.avPairs.Flags()&AvFlagUntrustedTarget != 0
}

// User returns the user and domain of the answer being validated.
func (s *ServerContext) User() (user, domain string) {
	if s.auth == nil {
		return "", ""
	}
	return s.auth.User, s.auth.Domain
}
