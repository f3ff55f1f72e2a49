package krb5

import (
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// This file holds the application messages of RFC 4120 5.6-5.8 that do
// not involve the KDC: KRB-SAFE, KRB-PRIV (used by kpasswd, RFC 3244) and
// KRB-CRED (credential forwarding, RFC 4121 delegation), together with the
// small field helpers the hand-written codecs in fast.go, mskile.go and
// ad.go share. The helpers carry a kmsg prefix so they cannot collide with
// helpers of the core message files in the same package.

// --- shared field helpers ---

// kmsgExplicitInt writes [n] INTEGER v.
func kmsgExplicitInt(e *der.Encoder, n int, v int64) {
	f := e.Open(der.Context(n))
	e.Int(v)
	e.Close(f)
}

// kmsgExplicitOctets writes [n] OCTET STRING b.
func kmsgExplicitOctets(e *der.Encoder, n int, b []byte) {
	f := e.Open(der.Context(n))
	e.OctetString(b)
	e.Close(f)
}

// kmsgExplicitString writes [n] KerberosString s.
func kmsgExplicitString(e *der.Encoder, n int, s string) {
	f := e.Open(der.Context(n))
	e.GeneralString(s)
	e.Close(f)
}

// kmsgExplicitTime writes [n] KerberosTime t.
func kmsgExplicitTime(e *der.Encoder, n int, t time.Time) {
	f := e.Open(der.Context(n))
	e.KerberosTime(t)
	e.Close(f)
}

// kmsgExplicitFlags writes [n] KerberosFlags as the 32-bit BIT STRING
// every implementation expects.
func kmsgExplicitFlags(e *der.Encoder, n int, v Flags) {
	f := e.Open(der.Context(n))
	e.BitString32(uint32(v))
	e.Close(f)
}

// kmsgExplicit writes [n] around the encoding of c.
func kmsgExplicit(e *der.Encoder, n int, c codec) {
	f := e.Open(der.Context(n))
	c.encode(e)
	e.Close(f)
}

// kmsgHeader reads pvno[0] (must be 5) and msg-type[1] (must be want),
// the first two fields of KRB-SAFE, KRB-PRIV and KRB-CRED.
func kmsgHeader(seq *cryptobyte.String, typ string, want MsgType) error {
	var f cryptobyte.String
	var v int32
	if !der.ReadExplicit(seq, 0, &f) || !der.ReadInt32(&f, &v) || !f.Empty() || v != PVNO {
		return malformed(typ, "pvno")
	}
	if !der.ReadExplicit(seq, 1, &f) || !der.ReadInt32(&f, &v) || !f.Empty() || MsgType(v) != want {
		return malformed(typ, "msg-type")
	}
	return nil
}

// kmsgField reads the mandatory [n] and decodes exactly one c from it.
func kmsgField(seq *cryptobyte.String, n int, c codec, typ, field string) error {
	var f cryptobyte.String
	if !der.ReadExplicit(seq, n, &f) {
		return malformed(typ, field)
	}
	if err := c.decode(&f); err != nil {
		return err
	}
	if !f.Empty() {
		return malformed(typ, field)
	}
	return nil
}

// kmsgOptField reads [n] if present and decodes exactly one c from it.
func kmsgOptField(seq *cryptobyte.String, n int, c codec, typ, field string) (bool, error) {
	var f cryptobyte.String
	var ok bool
	if !der.ReadOptionalExplicit(seq, n, &f, &ok) {
		return false, malformed(typ, field)
	}
	if !ok {
		return false, nil
	}
	if err := c.decode(&f); err != nil {
		return false, err
	}
	if !f.Empty() {
		return false, malformed(typ, field)
	}
	return true, nil
}

// kmsgOptTime reads an optional [n] KerberosTime; absent leaves the zero
// time, which is how every Warden type spells "absent".
func kmsgOptTime(seq *cryptobyte.String, n int, out *time.Time, typ, field string) error {
	var f cryptobyte.String
	var ok bool
	*out = time.Time{}
	if !der.ReadOptionalExplicit(seq, n, &f, &ok) || ok && (!der.ReadKerberosTime(&f, out) || !f.Empty()) {
		return malformed(typ, field)
	}
	return nil
}

// kmsgOptUsec reads an optional [n] Microseconds (0..999999).
func kmsgOptUsec(seq *cryptobyte.String, n int, out *int32, present *bool, typ, field string) error {
	var f cryptobyte.String
	*out = 0
	if !der.ReadOptionalExplicit(seq, n, &f, present) {
		return malformed(typ, field)
	}
	if *present && (!der.ReadInt32(&f, out) || !f.Empty() || *out < 0 || *out > 999999) {
		return malformed(typ, field)
	}
	return nil
}

// kmsgUsec reads a mandatory [n] Microseconds (0..999999).
func kmsgUsec(seq *cryptobyte.String, n int, out *int32, typ, field string) error {
	var f cryptobyte.String
	if !der.ReadExplicit(seq, n, &f) || !der.ReadInt32(&f, out) || !f.Empty() || *out < 0 || *out > 999999 {
		return malformed(typ, field)
	}
	return nil
}

// kmsgOptUInt32 reads an optional [n] UInt32.
func kmsgOptUInt32(seq *cryptobyte.String, n int, out *uint32, present *bool, typ, field string) error {
	var f cryptobyte.String
	*out = 0
	if !der.ReadOptionalExplicit(seq, n, &f, present) {
		return malformed(typ, field)
	}
	if *present && (!der.ReadUInt32(&f, out) || !f.Empty()) {
		return malformed(typ, field)
	}
	return nil
}

// kmsgOptRealm reads an optional [n] Realm; absent leaves "". A present
// empty realm is refused: no Kerberos realm is empty, and "" is how the
// Go types spell "absent", so accepting it would not round-trip.
func kmsgOptRealm(seq *cryptobyte.String, n int, out *string, typ, field string) error {
	var f cryptobyte.String
	var ok bool
	*out = ""
	if !der.ReadOptionalExplicit(seq, n, &f, &ok) || ok && (!der.ReadGeneralString(&f, out) || !f.Empty() || *out == "") {
		return malformed(typ, field)
	}
	return nil
}

// kmsgOptPrincipal reads an optional [n] PrincipalName.
func kmsgOptPrincipal(seq *cryptobyte.String, n int, typ, field string) (*PrincipalName, error) {
	p := new(PrincipalName)
	ok, err := kmsgOptField(seq, n, p, typ, field)
	if err != nil || !ok {
		return nil, err
	}
	return p, nil
}

// kmsgOptAddress reads an optional [n] HostAddress.
func kmsgOptAddress(seq *cryptobyte.String, n int, typ, field string) (*HostAddress, error) {
	a := new(HostAddress)
	ok, err := kmsgOptField(seq, n, a, typ, field)
	if err != nil || !ok {
		return nil, err
	}
	return a, nil
}

// kmsgOpenApp reads [APPLICATION tag] SEQUENCE and returns the sequence
// content.
func kmsgOpenApp(s *cryptobyte.String, tag MsgType, typ string, seq *cryptobyte.String) error {
	var app cryptobyte.String
	if !s.ReadASN1(&app, der.Application(int(tag))) || !app.ReadASN1(seq, der.TagSequence) || !app.Empty() {
		return malformed(typ, "")
	}
	return nil
}

// kmsgEncodeStamp writes the timestamp/usec/seq-number/s-address/r-address
// tail shared by KRB-SAFE-BODY and EncKrbPrivPart (tags 1..5).
func kmsgEncodeStamp(e *der.Encoder, ts time.Time, usec int32, hasUsec bool, seqNo uint32, hasSeq bool, s, r *HostAddress) {
	if !ts.IsZero() {
		kmsgExplicitTime(e, 1, ts)
	}
	if hasUsec {
		kmsgExplicitInt(e, 2, int64(usec))
	}
	if hasSeq {
		kmsgExplicitInt(e, 3, int64(seqNo))
	}
	if s != nil {
		kmsgExplicit(e, 4, s)
	}
	if r != nil {
		kmsgExplicit(e, 5, r)
	}
}

// kmsgMissingField is the error Marshal returns when a field RFC 4120 makes
// mandatory has been left unset. It is a local programming error, never a
// peer's, hence KRB_ERR_GENERIC rather than a *ParseError.
func kmsgMissingField(typ, field string) error {
	return &Error{Code: KRBErrGeneric, Reason: typ + ": mandatory field " + field + " is not set"}
}

// --- KRB-SAFE ---

// KRBSafeBody is KRB-SAFE-BODY (RFC 4120 5.6.1): the user data a KRB-SAFE
// protects with its checksum. Optional fields: a zero Timestamp, HasUsec
// and HasSeqNumber false, and a nil RAddress are absent.
//
// Raw keeps the bytes the body was decoded from, because the KRB-SAFE
// checksum is computed over the body exactly as the sender encoded it.
// Encoding always writes the fields (Raw is ignored), so a sender builds
// the body, marshals it, checksums those bytes and sends the same bytes.
type KRBSafeBody struct {
	UserData     []byte
	Timestamp    time.Time
	Usec         int32
	HasUsec      bool
	SeqNumber    uint32
	HasSeqNumber bool
	SAddress     HostAddress
	RAddress     *HostAddress
	Raw          []byte
}

func (b *KRBSafeBody) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitOctets(e, 0, b.UserData)
	kmsgEncodeStamp(e, b.Timestamp, b.Usec, b.HasUsec, b.SeqNumber, b.HasSeqNumber, &b.SAddress, b.RAddress)
	e.Close(seq)
}

func (b *KRBSafeBody) decode(s *cryptobyte.String) error {
	const typ = "KRB-SAFE-BODY"
	start := *s
	var seq, f cryptobyte.String
	*b = KRBSafeBody{}
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadOctetString(&f, &b.UserData) || !f.Empty() {
		return malformed(typ, "user-data")
	}
	if err := kmsgOptTime(&seq, 1, &b.Timestamp, typ, "timestamp"); err != nil {
		return err
	}
	if err := kmsgOptUsec(&seq, 2, &b.Usec, &b.HasUsec, typ, "usec"); err != nil {
		return err
	}
	if err := kmsgOptUInt32(&seq, 3, &b.SeqNumber, &b.HasSeqNumber, typ, "seq-number"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 4, &b.SAddress, typ, "s-address"); err != nil {
		return err
	}
	var err error
	if b.RAddress, err = kmsgOptAddress(&seq, 5, typ, "r-address"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	b.Raw = start[:len(start)-len(*s)]
	return nil
}

// Marshal returns the DER encoding of the fields (not Raw): the bytes a
// sender checksums.
func (b *KRBSafeBody) Marshal() ([]byte, error) { return marshal(b, len(b.UserData)+96), nil }

// Unmarshal decodes DER and keeps the input in Raw.
func (b *KRBSafeBody) Unmarshal(p []byte) error { return unmarshal(p, b, "KRB-SAFE-BODY") }

// KRBSafe is KRB-SAFE ([APPLICATION 20], RFC 4120 5.6): integrity-protected
// user data. pvno and msg-type are implied: encoding writes 5 and 20,
// decoding rejects anything else.
type KRBSafe struct {
	SafeBody KRBSafeBody
	Cksum    Checksum
}

func (m *KRBSafe) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgKRBSafe)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, PVNO)
	kmsgExplicitInt(e, 1, int64(MsgKRBSafe))
	kmsgExplicit(e, 2, &m.SafeBody)
	kmsgExplicit(e, 3, &m.Cksum)
	e.Close(seq)
	e.Close(app)
}

func (m *KRBSafe) decode(s *cryptobyte.String) error {
	const typ = "KRB-SAFE"
	var seq cryptobyte.String
	if err := kmsgOpenApp(s, MsgKRBSafe, typ, &seq); err != nil {
		return err
	}
	if err := kmsgHeader(&seq, typ, MsgKRBSafe); err != nil {
		return err
	}
	if err := kmsgField(&seq, 2, &m.SafeBody, typ, "safe-body"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 3, &m.Cksum, typ, "cksum"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (m *KRBSafe) Marshal() ([]byte, error) {
	return marshal(m, len(m.SafeBody.UserData)+len(m.Cksum.Checksum)+128), nil
}

// Unmarshal decodes DER; SafeBody.Raw holds the checksummed bytes.
func (m *KRBSafe) Unmarshal(b []byte) error { return unmarshal(b, m, "KRB-SAFE") }

// --- KRB-PRIV ---

// KRBPriv is KRB-PRIV ([APPLICATION 21], RFC 4120 5.7): an encrypted
// EncKrbPrivPart, key usage 13. Note the enc-part tag is [3]; [2] is
// unused. pvno and msg-type are implied (5 and 21).
type KRBPriv struct {
	EncPart EncryptedData
}

func (m *KRBPriv) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgKRBPriv)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, PVNO)
	kmsgExplicitInt(e, 1, int64(MsgKRBPriv))
	kmsgExplicit(e, 3, &m.EncPart)
	e.Close(seq)
	e.Close(app)
}

func (m *KRBPriv) decode(s *cryptobyte.String) error {
	const typ = "KRB-PRIV"
	var seq cryptobyte.String
	if err := kmsgOpenApp(s, MsgKRBPriv, typ, &seq); err != nil {
		return err
	}
	if err := kmsgHeader(&seq, typ, MsgKRBPriv); err != nil {
		return err
	}
	if err := kmsgField(&seq, 3, &m.EncPart, typ, "enc-part"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (m *KRBPriv) Marshal() ([]byte, error) { return marshal(m, len(m.EncPart.Cipher)+32), nil }

// Unmarshal decodes DER.
func (m *KRBPriv) Unmarshal(b []byte) error { return unmarshal(b, m, "KRB-PRIV") }

// EncKrbPrivPart is the plaintext of KRB-PRIV ([APPLICATION 28], RFC 4120
// 5.7.1). Optional fields: a zero Timestamp, HasUsec/HasSeqNumber false
// and nil addresses are absent.
//
// s-address is mandatory in RFC 4120's ASN.1, so Marshal refuses a nil
// SAddress. Decoding accepts its absence: Heimdal's ASN.1 module declares
// it OPTIONAL and Heimdal's krb5_mk_priv omits it when the auth context
// has no local address, and RFC 3244 servers ignore the field anyway
// (spec kerberos.md section 12). Such a message decodes, but re-marshals
// only after the caller fills SAddress.
type EncKrbPrivPart struct {
	UserData     []byte
	Timestamp    time.Time
	Usec         int32
	HasUsec      bool
	SeqNumber    uint32
	HasSeqNumber bool
	SAddress     *HostAddress
	RAddress     *HostAddress
}

func (p *EncKrbPrivPart) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgEncKrbPrivPart)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitOctets(e, 0, p.UserData)
	kmsgEncodeStamp(e, p.Timestamp, p.Usec, p.HasUsec, p.SeqNumber, p.HasSeqNumber, p.SAddress, p.RAddress)
	e.Close(seq)
	e.Close(app)
}

func (p *EncKrbPrivPart) decode(s *cryptobyte.String) error {
	const typ = "EncKrbPrivPart"
	var seq, f cryptobyte.String
	*p = EncKrbPrivPart{}
	if err := kmsgOpenApp(s, MsgEncKrbPrivPart, typ, &seq); err != nil {
		return err
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadOctetString(&f, &p.UserData) || !f.Empty() {
		return malformed(typ, "user-data")
	}
	if err := kmsgOptTime(&seq, 1, &p.Timestamp, typ, "timestamp"); err != nil {
		return err
	}
	if err := kmsgOptUsec(&seq, 2, &p.Usec, &p.HasUsec, typ, "usec"); err != nil {
		return err
	}
	if err := kmsgOptUInt32(&seq, 3, &p.SeqNumber, &p.HasSeqNumber, typ, "seq-number"); err != nil {
		return err
	}
	var err error
	if p.SAddress, err = kmsgOptAddress(&seq, 4, typ, "s-address"); err != nil {
		return err
	}
	if p.RAddress, err = kmsgOptAddress(&seq, 5, typ, "r-address"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding. It fails when SAddress is nil,
// because RFC 4120 makes s-address mandatory and MIT rejects its absence.
func (p *EncKrbPrivPart) Marshal() ([]byte, error) {
	if p.SAddress == nil {
		return nil, kmsgMissingField("EncKrbPrivPart", "s-address")
	}
	return marshal(p, len(p.UserData)+96), nil
}

// Unmarshal decodes DER (s-address may be absent; see the type comment).
func (p *EncKrbPrivPart) Unmarshal(b []byte) error { return unmarshal(b, p, "EncKrbPrivPart") }

// --- KRB-CRED ---

// KRBCred is KRB-CRED ([APPLICATION 22], RFC 4120 5.8): tickets being
// forwarded plus their session keys in an encrypted EncKrbCredPart (key
// usage 14; etype 0 with a plaintext EncKrbCredPart is common in GSS
// delegation). pvno and msg-type are implied (5 and 22). Tickets keep
// their Raw bytes, so forwarded tickets reach the service unchanged.
type KRBCred struct {
	Tickets []Ticket
	EncPart EncryptedData
}

func (m *KRBCred) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgKRBCred)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, PVNO)
	kmsgExplicitInt(e, 1, int64(MsgKRBCred))
	f := e.Open(der.Context(2))
	l := e.Open(der.TagSequence)
	for i := range m.Tickets {
		m.Tickets[i].encode(e)
	}
	e.Close(l)
	e.Close(f)
	kmsgExplicit(e, 3, &m.EncPart)
	e.Close(seq)
	e.Close(app)
}

func (m *KRBCred) decode(s *cryptobyte.String) error {
	const typ = "KRB-CRED"
	var seq, f cryptobyte.String
	*m = KRBCred{}
	if err := kmsgOpenApp(s, MsgKRBCred, typ, &seq); err != nil {
		return err
	}
	if err := kmsgHeader(&seq, typ, MsgKRBCred); err != nil {
		return err
	}
	if !der.ReadExplicit(&seq, 2, &f) {
		return malformed(typ, "tickets")
	}
	var err error
	m.Tickets = []Ticket{}
	if !der.SequenceOf(&f, func(el *cryptobyte.String) bool {
		var t Ticket
		if err = t.decode(el); err != nil {
			return false
		}
		m.Tickets = append(m.Tickets, t)
		return true
	}) || !f.Empty() {
		if err != nil {
			return err
		}
		return malformed(typ, "tickets")
	}
	if err := kmsgField(&seq, 3, &m.EncPart, typ, "enc-part"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (m *KRBCred) Marshal() ([]byte, error) {
	n := len(m.EncPart.Cipher) + 64
	for i := range m.Tickets {
		n += len(m.Tickets[i].Raw) + len(m.Tickets[i].EncPart.Cipher) + 128
	}
	return marshal(m, n), nil
}

// Unmarshal decodes DER.
func (m *KRBCred) Unmarshal(b []byte) error { return unmarshal(b, m, "KRB-CRED") }

// KrbCredInfo describes one forwarded ticket (RFC 4120 5.8.1). Only Key is
// mandatory. Absent optionals: "" realms, nil names and CAddr, zero times,
// HasFlags false.
type KrbCredInfo struct {
	Key       EncryptionKey
	PRealm    string
	PName     *PrincipalName
	Flags     Flags
	HasFlags  bool
	AuthTime  time.Time
	StartTime time.Time
	EndTime   time.Time
	RenewTill time.Time
	SRealm    string
	SName     *PrincipalName
	CAddr     HostAddresses
}

func (c *KrbCredInfo) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicit(e, 0, &c.Key)
	if c.PRealm != "" {
		kmsgExplicitString(e, 1, c.PRealm)
	}
	if c.PName != nil {
		kmsgExplicit(e, 2, c.PName)
	}
	if c.HasFlags {
		kmsgExplicitFlags(e, 3, c.Flags)
	}
	for i, t := range [...]time.Time{c.AuthTime, c.StartTime, c.EndTime, c.RenewTill} {
		if !t.IsZero() {
			kmsgExplicitTime(e, 4+i, t)
		}
	}
	if c.SRealm != "" {
		kmsgExplicitString(e, 8, c.SRealm)
	}
	if c.SName != nil {
		kmsgExplicit(e, 9, c.SName)
	}
	if c.CAddr != nil {
		kmsgExplicit(e, 10, &c.CAddr)
	}
	e.Close(seq)
}

func (c *KrbCredInfo) decode(s *cryptobyte.String) error {
	const typ = "KrbCredInfo"
	var seq, f cryptobyte.String
	var err error
	*c = KrbCredInfo{}
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if err = kmsgField(&seq, 0, &c.Key, typ, "key"); err != nil {
		return err
	}
	if err = kmsgOptRealm(&seq, 1, &c.PRealm, typ, "prealm"); err != nil {
		return err
	}
	if c.PName, err = kmsgOptPrincipal(&seq, 2, typ, "pname"); err != nil {
		return err
	}
	var v uint32
	if !der.ReadOptionalExplicit(&seq, 3, &f, &c.HasFlags) || c.HasFlags && (!der.ReadBitString32(&f, &v) || !f.Empty()) {
		return malformed(typ, "flags")
	}
	c.Flags = Flags(v)
	names := [...]string{"authtime", "starttime", "endtime", "renew-till"}
	for i, t := range [...]*time.Time{&c.AuthTime, &c.StartTime, &c.EndTime, &c.RenewTill} {
		if err = kmsgOptTime(&seq, 4+i, t, typ, names[i]); err != nil {
			return err
		}
	}
	if err = kmsgOptRealm(&seq, 8, &c.SRealm, typ, "srealm"); err != nil {
		return err
	}
	if c.SName, err = kmsgOptPrincipal(&seq, 9, typ, "sname"); err != nil {
		return err
	}
	caddr := HostAddresses{}
	ok, err := kmsgOptField(&seq, 10, &caddr, typ, "caddr")
	if err != nil {
		return err
	}
	if ok {
		c.CAddr = caddr
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (c *KrbCredInfo) Marshal() ([]byte, error) { return marshal(c, 256), nil }

// Unmarshal decodes DER.
func (c *KrbCredInfo) Unmarshal(b []byte) error { return unmarshal(b, c, "KrbCredInfo") }

// EncKrbCredPart is the plaintext of KRB-CRED ([APPLICATION 29], RFC 4120
// 5.8.1). TicketInfo[i] describes KRBCred.Tickets[i]. Absent optionals:
// HasNonce/HasUsec false, zero Timestamp, nil addresses.
type EncKrbCredPart struct {
	TicketInfo []KrbCredInfo
	Nonce      uint32
	HasNonce   bool
	Timestamp  time.Time
	Usec       int32
	HasUsec    bool
	SAddress   *HostAddress
	RAddress   *HostAddress
}

func (p *EncKrbCredPart) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgEncKrbCredPart)))
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	l := e.Open(der.TagSequence)
	for i := range p.TicketInfo {
		p.TicketInfo[i].encode(e)
	}
	e.Close(l)
	e.Close(f)
	if p.HasNonce {
		kmsgExplicitInt(e, 1, int64(p.Nonce))
	}
	if !p.Timestamp.IsZero() {
		kmsgExplicitTime(e, 2, p.Timestamp)
	}
	if p.HasUsec {
		kmsgExplicitInt(e, 3, int64(p.Usec))
	}
	if p.SAddress != nil {
		kmsgExplicit(e, 4, p.SAddress)
	}
	if p.RAddress != nil {
		kmsgExplicit(e, 5, p.RAddress)
	}
	e.Close(seq)
	e.Close(app)
}

func (p *EncKrbCredPart) decode(s *cryptobyte.String) error {
	const typ = "EncKrbCredPart"
	var seq, f cryptobyte.String
	var err error
	*p = EncKrbCredPart{}
	if err = kmsgOpenApp(s, MsgEncKrbCredPart, typ, &seq); err != nil {
		return err
	}
	if !der.ReadExplicit(&seq, 0, &f) {
		return malformed(typ, "ticket-info")
	}
	p.TicketInfo = []KrbCredInfo{}
	if !der.SequenceOf(&f, func(el *cryptobyte.String) bool {
		var c KrbCredInfo
		if err = c.decode(el); err != nil {
			return false
		}
		p.TicketInfo = append(p.TicketInfo, c)
		return true
	}) || !f.Empty() {
		if err != nil {
			return err
		}
		return malformed(typ, "ticket-info")
	}
	if err = kmsgOptUInt32(&seq, 1, &p.Nonce, &p.HasNonce, typ, "nonce"); err != nil {
		return err
	}
	if err = kmsgOptTime(&seq, 2, &p.Timestamp, typ, "timestamp"); err != nil {
		return err
	}
	if err = kmsgOptUsec(&seq, 3, &p.Usec, &p.HasUsec, typ, "usec"); err != nil {
		return err
	}
	if p.SAddress, err = kmsgOptAddress(&seq, 4, typ, "s-address"); err != nil {
		return err
	}
	if p.RAddress, err = kmsgOptAddress(&seq, 5, typ, "r-address"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (p *EncKrbCredPart) Marshal() ([]byte, error) {
	return marshal(p, 64+len(p.TicketInfo)*256), nil
}

// Unmarshal decodes DER.
func (p *EncKrbCredPart) Unmarshal(b []byte) error { return unmarshal(b, p, "EncKrbCredPart") }
