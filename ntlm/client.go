package ntlm

import (
	"crypto/rand"
	"crypto/rc4"
	"encoding/binary"
	"io"
	"time"
)

// clientFlags is what the client asks for: Unicode, NTLM with extended
// session security, signing and sealing with 128-bit keys and key
// exchange, target info and version, as current Windows does.
const clientFlags = FlagUnicode | FlagRequestTarget | FlagNTLM | FlagAlwaysSign | FlagExtendedSessionSecurity |
	FlagTargetInfo | FlagVersion | Flag128 | FlagKeyExch | Flag56 | FlagSign | FlagSeal

// Client answers an NTLM challenge for one user. Make one per
// authentication.
type Client struct {
	User   string
	Domain string // NetBIOS or DNS domain; "" lets the server's apply
	// Password, or NTHash when the caller holds the hash instead.
	Password string
	NTHash   *[16]byte
	// Workstation is the client machine's name (optional).
	Workstation string
	// TargetSPN is the service principal the client means to reach
	// ("HTTP/web.example.test"); the AA uses it against relaying.
	TargetSPN string
	// ChannelBindings is the MD5 hash of the channel bindings (see
	// gss.ChannelBindings.Hash), nil for none.
	ChannelBindings *[16]byte
	Time            func() time.Time
	Rand            io.Reader

	negotiate *Negotiate
}

// Negotiate returns the NEGOTIATE_MESSAGE to send first.
func (c *Client) Negotiate() []byte {
	c.negotiate = &Negotiate{Flags: clientFlags}
	return c.negotiate.Marshal()
}

// Authenticate answers the server's CHALLENGE_MESSAGE with an
// AUTHENTICATE_MESSAGE (with a MIC over all three messages) and returns
// the session for signing and sealing.
func (c *Client) Authenticate(challenge []byte) ([]byte, *Session, error) {
	if c.negotiate == nil {
		c.Negotiate()
	}
	ch, err := ParseChallenge(challenge)
	if err != nil {
		return nil, nil, err
	}
	if !ch.Flags.Has(FlagExtendedSessionSecurity) || !ch.Flags.Has(FlagUnicode) {
		return nil, nil, &Error{Status: StatusNTLMBlocked, Reason: "the server did not offer NTLMv2 with extended session security and Unicode",
			Hint: "the server only speaks NTLMv1 or LM, which this client refuses"}
	}
	now, rnd := time.Now, c.Rand
	if c.Time != nil {
		now = c.Time
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	nt := c.NTHash
	if nt == nil {
		h := NTHash(c.Password)
		nt = &h
	}
	var cc [8]byte
	if _, err := io.ReadFull(rnd, cc[:]); err != nil {
		return nil, nil, err
	}
	av := append(AVPairs(nil), ch.TargetInfo...)
	ts := toFiletime(now())
	haveTS := false
	if v, ok := av.Get(AvTimestamp); ok && len(v) == 8 {
		ts, haveTS = binary.LittleEndian.Uint64(v), true
	}
	if haveTS {
		var f [4]byte
		binary.LittleEndian.PutUint32(f[:], av.Flags()|AvFlagMIC)
		av = av.set(AvFlags, f[:])
	}
	var cb [16]byte
	if c.ChannelBindings != nil {
		cb = *c.ChannelBindings
	}
	av = av.set(AvChannelBindings, cb[:])
	av = av.set(AvTargetName, toUTF16(c.TargetSPN))
	domain := c.Domain
	if domain == "" {
		domain = ch.TargetInfo.String(AvNbDomainName)
	}
	key := ntowfv2(*nt, c.User, domain)
	temp := makeTemp(ts, cc, av)
	proof := hmacMD5(key, ch.ServerChallenge[:], temp)
	ntResp := append(append([]byte(nil), proof...), temp...)
	lmResp := make([]byte, 24)
	if !haveTS {
		lmResp = append(hmacMD5(key, ch.ServerChallenge[:], cc[:]), cc[:]...)
	}
	var sbk [16]byte
	copy(sbk[:], hmacMD5(key, proof))
	flags := clientFlags & ch.Flags
	exported := sbk
	var encKey []byte
	if flags.Has(FlagKeyExch) {
		if _, err := io.ReadFull(rnd, exported[:]); err != nil {
			return nil, nil, err
		}
		r, _ := rc4.NewCipher(sbk[:])
		encKey = make([]byte, 16)
		r.XORKeyStream(encKey, exported[:])
	}
	am := &Authenticate{Flags: flags, LMResponse: lmResp, NTResponse: ntResp, Domain: domain, User: c.User,
		Workstation: c.Workstation, EncryptedRandomSessionKey: encKey, MIC: make([]byte, 16)}
	raw := am.Marshal()
	if haveTS {
		mic := hmacMD5(exported[:], c.negotiate.Raw, ch.Raw, raw)
		copy(raw[micOffset:], mic)
	}
	return raw, newSession(exported, flags, true), nil
}
