package ntlm

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
)

const signature = "NTLMSSP\x00"

// MaxMessageSize caps a message we parse. Real AUTHENTICATE messages are
// a few hundred bytes; the cap keeps hostile input cheap.
const MaxMessageSize = 64 << 10

// Flags are the NegotiateFlags (MS-NLMP 2.2.2.5).
type Flags uint32

// Negotiate flags.
const (
	FlagUnicode                 Flags = 0x00000001
	FlagOEM                     Flags = 0x00000002
	FlagRequestTarget           Flags = 0x00000004
	FlagSign                    Flags = 0x00000010
	FlagSeal                    Flags = 0x00000020
	FlagDatagram                Flags = 0x00000040
	FlagLMKey                   Flags = 0x00000080
	FlagNTLM                    Flags = 0x00000200
	FlagAnonymous               Flags = 0x00000800
	FlagOEMDomainSupplied       Flags = 0x00001000
	FlagOEMWorkstationSupplied  Flags = 0x00002000
	FlagAlwaysSign              Flags = 0x00008000
	FlagTargetTypeDomain        Flags = 0x00010000
	FlagTargetTypeServer        Flags = 0x00020000
	FlagExtendedSessionSecurity Flags = 0x00080000
	FlagIdentify                Flags = 0x00100000
	FlagRequestNonNTSessionKey  Flags = 0x00400000
	FlagTargetInfo              Flags = 0x00800000
	FlagVersion                 Flags = 0x02000000
	Flag128                     Flags = 0x20000000
	FlagKeyExch                 Flags = 0x40000000
	Flag56                      Flags = 0x80000000
)

// Has reports whether all of f2 is set.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// AVID identifies an AV pair (MS-NLMP 2.2.2.1).
type AVID uint16

// AV pair IDs.
const (
	AvEOL             AVID = 0
	AvNbComputerName  AVID = 1
	AvNbDomainName    AVID = 2
	AvDNSComputerName AVID = 3
	AvDNSDomainName   AVID = 4
	AvDNSTreeName     AVID = 5
	AvFlags           AVID = 6
	AvTimestamp       AVID = 7
	AvSingleHost      AVID = 8
	AvTargetName      AVID = 9
	AvChannelBindings AVID = 10
)

// MsvAvFlags bits.
const (
	AvFlagConstrained     uint32 = 0x1
	AvFlagMIC             uint32 = 0x2
	AvFlagUntrustedTarget uint32 = 0x4
)

// AVPair is one attribute of a TargetInfo list.
type AVPair struct {
	ID    AVID
	Value []byte
}

// AVPairs is a TargetInfo list without its terminating MsvAvEOL.
type AVPairs []AVPair

// maxAVPairs bounds a list: MS-NLMP defines 11 IDs; real lists have fewer
// than 12 entries.
const maxAVPairs = 64

// ParseAVPairs decodes a list up to MsvAvEOL; bytes after it (the Z(4)
// of an NTLMv2 blob) are ignored.
func ParseAVPairs(b []byte) (AVPairs, error) {
	var out AVPairs
	for {
		if len(b) < 4 {
			return nil, invalid("AV pair list ends without MsvAvEOL")
		}
		id, n := AVID(binary.LittleEndian.Uint16(b)), int(binary.LittleEndian.Uint16(b[2:]))
		b = b[4:]
		if id == AvEOL {
			return out, nil
		}
		if n > len(b) {
			return nil, invalid("AV pair %d claims %d bytes, %d remain", id, n, len(b))
		}
		if len(out) == maxAVPairs {
			return nil, invalid("more than %d AV pairs", maxAVPairs)
		}
		out = append(out, AVPair{ID: id, Value: b[:n:n]})
		b = b[n:]
	}
}

// Marshal encodes the list with its MsvAvEOL.
func (p AVPairs) Marshal() []byte {
	var b []byte
	for _, a := range p {
		b = binary.LittleEndian.AppendUint16(b, uint16(a.ID))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(a.Value)))
		b = append(b, a.Value...)
	}
	return append(b, 0, 0, 0, 0)
}

// Get returns the first value with id.
func (p AVPairs) Get(id AVID) ([]byte, bool) {
	for _, a := range p {
		if a.ID == id {
			return a.Value, true
		}
	}
	return nil, false
}

// String returns a UTF-16 value as a string ("" when absent).
func (p AVPairs) String(id AVID) string {
	v, _ := p.Get(id)
	s, _ := fromUTF16(v)
	return s
}

// Flags returns the MsvAvFlags value (0 when absent).
func (p AVPairs) Flags() uint32 {
	if v, ok := p.Get(AvFlags); ok && len(v) == 4 {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

// set replaces the value of id, or inserts it.
func (p AVPairs) set(id AVID, v []byte) AVPairs {
	for i := range p {
		if p[i].ID == id {
			p[i].Value = v
			return p
		}
	}
	return append(p, AVPair{ID: id, Value: v})
}

func toUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", invalid("UTF-16 string of odd length %d", len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// header checks the signature and type and the size cap.
func header(b []byte, typ uint32, fixed int) error {
	if len(b) > MaxMessageSize {
		return invalid("message of %d bytes exceeds %d", len(b), MaxMessageSize)
	}
	if len(b) < 12 || !bytes.Equal(b[:8], []byte(signature)) {
		return invalid("not an NTLMSSP message")
	}
	if t := binary.LittleEndian.Uint32(b[8:]); t != typ {
		return invalid("message type %d where %d was expected", t, typ)
	}
	if len(b) < fixed {
		return invalid("message type %d is %d bytes, shorter than its fixed part (%d)", typ, len(b), fixed)
	}
	return nil
}

// field reads a Fields triple at off and returns the bytes it denotes and
// its offset (0 for an empty field).
func field(b []byte, off int, what string) ([]byte, int, error) {
	n := int(binary.LittleEndian.Uint16(b[off:]))
	o := int(binary.LittleEndian.Uint32(b[off+4:]))
	if n == 0 {
		return nil, 0, nil
	}
	if o > len(b) || n > len(b)-o {
		return nil, 0, invalid("%s field (offset %d, length %d) lies outside the %d-byte message", what, o, n, len(b))
	}
	return b[o : o+n : o+n], o, nil
}

// payload lays out variable fields after a fixed part.
type payload struct {
	fixed []byte
	data  []byte
}

func (p *payload) put(off int, v []byte) {
	binary.LittleEndian.PutUint16(p.fixed[off:], uint16(len(v)))
	binary.LittleEndian.PutUint16(p.fixed[off+2:], uint16(len(v)))
	binary.LittleEndian.PutUint32(p.fixed[off+4:], uint32(len(p.fixed)+len(p.data)))
	p.data = append(p.data, v...)
}

func (p *payload) bytes() []byte { return append(p.fixed, p.data...) }

func newPayload(typ uint32, fixed int) *payload {
	p := &payload{fixed: make([]byte, fixed)}
	copy(p.fixed, signature)
	binary.LittleEndian.PutUint32(p.fixed[8:], typ)
	return p
}

// defaultVersion is the Version field we send: 10.0 build 0, NTLMSSP
// revision 15, as current Windows does.
var defaultVersion = [8]byte{10, 0, 0, 0, 0, 0, 0, 15}

// Negotiate is the NEGOTIATE_MESSAGE. Raw holds the bytes as received or
// sent; the MIC covers them.
type Negotiate struct {
	Flags       Flags
	Domain      string // OEM, rarely sent
	Workstation string
	Raw         []byte
}

// Marshal encodes the message and sets Raw.
func (m *Negotiate) Marshal() []byte {
	p := newPayload(1, 40)
	binary.LittleEndian.PutUint32(p.fixed[12:], uint32(m.Flags))
	p.put(16, []byte(m.Domain))
	p.put(24, []byte(m.Workstation))
	if m.Flags.Has(FlagVersion) {
		copy(p.fixed[32:], defaultVersion[:])
	}
	m.Raw = p.bytes()
	return m.Raw
}

// ParseNegotiate decodes a NEGOTIATE_MESSAGE. Old clients send only the
// first 16 bytes plus flags; anything from 16 bytes on is accepted.
func ParseNegotiate(b []byte) (*Negotiate, error) {
	if err := header(b, 1, 16); err != nil {
		return nil, err
	}
	m := &Negotiate{Flags: Flags(binary.LittleEndian.Uint32(b[12:])), Raw: append([]byte(nil), b...)}
	if len(b) >= 32 {
		d, _, err := field(b, 16, "DomainName")
		if err != nil {
			return nil, err
		}
		w, _, err := field(b, 24, "Workstation")
		if err != nil {
			return nil, err
		}
		m.Domain, m.Workstation = string(d), string(w)
	}
	return m, nil
}

// Challenge is the CHALLENGE_MESSAGE.
type Challenge struct {
	Flags           Flags
	TargetName      string
	ServerChallenge [8]byte
	TargetInfo      AVPairs
	Raw             []byte
}

// Marshal encodes the message and sets Raw.
func (m *Challenge) Marshal() []byte {
	p := newPayload(2, 56)
	p.put(12, toUTF16(m.TargetName))
	binary.LittleEndian.PutUint32(p.fixed[20:], uint32(m.Flags))
	copy(p.fixed[24:], m.ServerChallenge[:])
	p.put(40, m.TargetInfo.Marshal())
	copy(p.fixed[48:], defaultVersion[:])
	m.Raw = p.bytes()
	return m.Raw
}

// ParseChallenge decodes a CHALLENGE_MESSAGE.
func ParseChallenge(b []byte) (*Challenge, error) {
	if err := header(b, 2, 48); err != nil {
		return nil, err
	}
	m := &Challenge{Flags: Flags(binary.LittleEndian.Uint32(b[20:])), Raw: append([]byte(nil), b...)}
	copy(m.ServerChallenge[:], b[24:32])
	tn, _, err := field(b, 12, "TargetName")
	if err != nil {
		return nil, err
	}
	if m.TargetName, err = fromUTF16(tn); err != nil {
		return nil, err
	}
	ti, _, err := field(b, 40, "TargetInfo")
	if err != nil {
		return nil, err
	}
	if ti != nil {
		if m.TargetInfo, err = ParseAVPairs(ti); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Authenticate is the AUTHENTICATE_MESSAGE.
type Authenticate struct {
	Flags                     Flags
	LMResponse                []byte
	NTResponse                []byte
	Domain                    string
	User                      string
	Workstation               string
	EncryptedRandomSessionKey []byte
	// MIC is the 16 bytes at offset 72 when the message has room for
	// them; whether they are a MIC is said by the NTLMv2 blob's
	// MsvAvFlags, not by the layout.
	MIC []byte
	Raw []byte
}

const micOffset = 72

// Marshal encodes the message with a zero MIC field and sets Raw.
func (m *Authenticate) Marshal() []byte {
	p := newPayload(3, 88)
	p.put(12, m.LMResponse)
	p.put(20, m.NTResponse)
	p.put(28, toUTF16(m.Domain))
	p.put(36, toUTF16(m.User))
	p.put(44, toUTF16(m.Workstation))
	p.put(52, m.EncryptedRandomSessionKey)
	binary.LittleEndian.PutUint32(p.fixed[60:], uint32(m.Flags))
	copy(p.fixed[64:], defaultVersion[:])
	copy(p.fixed[micOffset:], m.MIC)
	m.Raw = p.bytes()
	return m.Raw
}

// ParseAuthenticate decodes an AUTHENTICATE_MESSAGE.
func ParseAuthenticate(b []byte) (*Authenticate, error) {
	if err := header(b, 3, 64); err != nil {
		return nil, err
	}
	m := &Authenticate{Flags: Flags(binary.LittleEndian.Uint32(b[60:])), Raw: append([]byte(nil), b...)}
	b = m.Raw
	lowest := len(b)
	get := func(off int, what string) ([]byte, error) {
		v, o, err := field(b, off, what)
		if err == nil && v != nil && o < lowest {
			lowest = o
		}
		return v, err
	}
	var err error
	var dom, user, ws []byte
	if m.LMResponse, err = get(12, "LmChallengeResponse"); err != nil {
		return nil, err
	}
	if m.NTResponse, err = get(20, "NtChallengeResponse"); err != nil {
		return nil, err
	}
	if dom, err = get(28, "DomainName"); err != nil {
		return nil, err
	}
	if user, err = get(36, "UserName"); err != nil {
		return nil, err
	}
	if ws, err = get(44, "Workstation"); err != nil {
		return nil, err
	}
	if m.EncryptedRandomSessionKey, err = get(52, "EncryptedRandomSessionKey"); err != nil {
		return nil, err
	}
	if !m.Flags.Has(FlagUnicode) {
		return nil, invalid("the client did not negotiate Unicode strings")
	}
	if m.Domain, err = fromUTF16(dom); err != nil {
		return nil, err
	}
	if m.User, err = fromUTF16(user); err != nil {
		return nil, err
	}
	if m.Workstation, err = fromUTF16(ws); err != nil {
		return nil, err
	}
	if lowest >= micOffset+16 && len(b) >= micOffset+16 {
		m.MIC = b[micOffset : micOffset+16 : micOffset+16]
	}
	return m, nil
}
