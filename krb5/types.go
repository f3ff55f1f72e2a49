package krb5

import (
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// codec is implemented by every wire type: encode appends its DER, decode
// reads exactly one value from s.
type codec interface {
	encode(e *der.Encoder)
	decode(s *cryptobyte.String) error
}

// marshal encodes v into a fresh buffer of the given size hint.
func marshal(v codec, hint int) []byte {
	e := der.NewEncoder(make([]byte, 0, hint))
	v.encode(e)
	return e.Bytes()
}

// appendMarshal encodes v after dst's content.
func appendMarshal(dst []byte, v codec) []byte {
	return appendMarshalWith(nil, dst, v)
}

// appendMarshalWith is appendMarshal with an encoder of the caller's, or
// a new one when e is nil. An encoder made here escapes to the heap (the
// codec interface hides where it goes): a caller that encodes on every
// request keeps one and saves an allocation per message.
func appendMarshalWith(e *der.Encoder, dst []byte, v codec) []byte {
	if e == nil {
		e = new(der.Encoder)
	}
	e.Reset(dst)
	v.encode(e)
	b := e.Bytes()
	e.Reset(nil) // keep nothing of dst reachable from e
	return b
}

// unmarshal decodes exactly one v from b. The input is copied once, so the
// result (whose byte slices alias that copy) never aliases the caller's
// buffer; trailing bytes are an error.
func unmarshal(b []byte, v codec, typ string) error {
	return unmarshalAliasing(append([]byte(nil), b...), v, typ)
}

// unmarshalAliasing is unmarshal without the copy: the result's byte
// slices alias b.
func unmarshalAliasing(b []byte, v codec, typ string) error {
	s := cryptobyte.String(b)
	if err := v.decode(&s); err != nil {
		return err
	}
	return trailing(s, typ)
}

// trailing refuses what is left after a message of type typ.
func trailing(s cryptobyte.String, typ string) error {
	if !s.Empty() {
		return malformed(typ, "trailing data")
	}
	return nil
}

// PrincipalName is a Kerberos principal name without its realm.
type PrincipalName struct {
	NameType   NameType
	NameString []string
}

// NewPrincipalName builds a name from "a/b/c" components.
func NewPrincipalName(t NameType, name string) PrincipalName {
	return PrincipalName{NameType: t, NameString: strings.Split(name, "/")}
}

// String joins the components with "/".
func (n PrincipalName) String() string { return strings.Join(n.NameString, "/") }

// Equal compares components exactly; name types are ignored, as RFC 4120
// 6.2 asks.
func (n PrincipalName) Equal(o PrincipalName) bool {
	if len(n.NameString) != len(o.NameString) {
		return false
	}
	for i := range n.NameString {
		if n.NameString[i] != o.NameString[i] {
			return false
		}
	}
	return true
}

func (n *PrincipalName) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	e.Int(int64(n.NameType))
	e.Close(f)
	f = e.Open(der.Context(1))
	l := e.Open(der.TagSequence)
	for _, c := range n.NameString {
		e.GeneralString(c)
	}
	e.Close(l)
	e.Close(f)
	e.Close(seq)
}

func (n *PrincipalName) decode(s *cryptobyte.String) error {
	// Most names have one or two components: size for two up front so
	// decoding a name costs one allocation, not a growth sequence.
	return n.decodeInto(s, make([]string, 0, 2), nil)
}

// decodeInto is decode appending the components to names[:0].
func (n *PrincipalName) decodeInto(s *cryptobyte.String, names, known []string) error {
	var seq, f cryptobyte.String
	var t int32
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed("PrincipalName", "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &t) || !f.Empty() {
		return malformed("PrincipalName", "name-type")
	}
	n.NameType = NameType(t)
	n.NameString = names[:0]
	// A plain loop rather than der.SequenceOf: names are decoded on every
	// request, and the closure would make the reader escape to the heap.
	var strs cryptobyte.String
	if !der.ReadExplicit(&seq, 1, &f) || !f.ReadASN1(&strs, der.TagSequence) || !f.Empty() || !seq.Empty() {
		return malformed("PrincipalName", "name-string")
	}
	for !strs.Empty() {
		var c string
		if !der.ReadGeneralStringKnown(&strs, &c, known) {
			return malformed("PrincipalName", "name-string")
		}
		n.NameString = append(n.NameString, c)
	}
	return nil
}

// Marshal returns the DER encoding.
func (n *PrincipalName) Marshal() ([]byte, error) { return marshal(n, 64), nil }

// Unmarshal decodes DER.
func (n *PrincipalName) Unmarshal(b []byte) error { return unmarshal(b, n, "PrincipalName") }

// EncryptedData is ciphertext with its enctype and optional key version.
type EncryptedData struct {
	EType   EncType
	KVNO    uint32
	HasKVNO bool
	Cipher  []byte
}

func (d *EncryptedData) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	e.Int(int64(d.EType))
	e.Close(f)
	if d.HasKVNO {
		// kvno is signed 32-bit on the wire for MIT and Windows (MS-KILE
		// 3.1.5.8), so 0xff000000 is sent as -16777216, not as 5 bytes.
		f = e.Open(der.Context(1))
		e.Int(int64(int32(d.KVNO)))
		e.Close(f)
	}
	f = e.Open(der.Context(2))
	e.OctetString(d.Cipher)
	e.Close(f)
	e.Close(seq)
}

func (d *EncryptedData) decode(s *cryptobyte.String) error {
	var seq, f cryptobyte.String
	var t int32
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed("EncryptedData", "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &t) || !f.Empty() {
		return malformed("EncryptedData", "etype")
	}
	d.EType = EncType(t)
	if !der.ReadOptionalExplicit(&seq, 1, &f, &d.HasKVNO) {
		return malformed("EncryptedData", "kvno")
	}
	d.KVNO = 0
	if d.HasKVNO && (!der.ReadUInt32(&f, &d.KVNO) || !f.Empty()) {
		return malformed("EncryptedData", "kvno")
	}
	if !der.ReadExplicit(&seq, 2, &f) || !der.ReadOctetString(&f, &d.Cipher) || !f.Empty() || !seq.Empty() {
		return malformed("EncryptedData", "cipher")
	}
	return nil
}

// Marshal returns the DER encoding.
func (d *EncryptedData) Marshal() ([]byte, error) { return marshal(d, len(d.Cipher)+16), nil }

// Unmarshal decodes DER.
func (d *EncryptedData) Unmarshal(b []byte) error { return unmarshal(b, d, "EncryptedData") }

// UnmarshalAliasing is Unmarshal without copying b: Cipher is a view of
// it. Decoding one part of a message decoded in place (a PA-DATA value)
// needs no copy of its own. (A direct decode, as in
// PAEncTSEnc.UnmarshalAliasing, keeps the reader off the heap.)
func (d *EncryptedData) UnmarshalAliasing(b []byte) error {
	s := cryptobyte.String(b)
	if err := d.decode(&s); err != nil {
		return err
	}
	return trailing(s, "EncryptedData")
}

// EncryptionKey is a key with its enctype (keytype).
type EncryptionKey struct {
	KeyType  EncType
	KeyValue []byte
}

func (k *EncryptionKey) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	e.Int(int64(k.KeyType))
	e.Close(f)
	f = e.Open(der.Context(1))
	e.OctetString(k.KeyValue)
	e.Close(f)
	e.Close(seq)
}

func (k *EncryptionKey) decode(s *cryptobyte.String) error {
	var seq, f cryptobyte.String
	var t int32
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed("EncryptionKey", "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &t) || !f.Empty() {
		return malformed("EncryptionKey", "keytype")
	}
	k.KeyType = EncType(t)
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadOctetString(&f, &k.KeyValue) || !f.Empty() || !seq.Empty() {
		return malformed("EncryptionKey", "keyvalue")
	}
	return nil
}

// Marshal returns the DER encoding.
func (k *EncryptionKey) Marshal() ([]byte, error) { return marshal(k, len(k.KeyValue)+16), nil }

// Unmarshal decodes DER.
func (k *EncryptionKey) Unmarshal(b []byte) error { return unmarshal(b, k, "EncryptionKey") }

// Checksum is a checksum value with its type.
type Checksum struct {
	CksumType ChecksumType
	Checksum  []byte
}

func (c *Checksum) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	e.Int(int64(c.CksumType))
	e.Close(f)
	f = e.Open(der.Context(1))
	e.OctetString(c.Checksum)
	e.Close(f)
	e.Close(seq)
}

func (c *Checksum) decode(s *cryptobyte.String) error {
	var seq, f cryptobyte.String
	var t int32
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed("Checksum", "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &t) || !f.Empty() {
		return malformed("Checksum", "cksumtype")
	}
	c.CksumType = ChecksumType(t)
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadOctetString(&f, &c.Checksum) || !f.Empty() || !seq.Empty() {
		return malformed("Checksum", "checksum")
	}
	return nil
}

// Marshal returns the DER encoding.
func (c *Checksum) Marshal() ([]byte, error) { return marshal(c, len(c.Checksum)+16), nil }

// Unmarshal decodes DER.
func (c *Checksum) Unmarshal(b []byte) error { return unmarshal(b, c, "Checksum") }

// HostAddress is a network address (RFC 4120 5.2.5).
type HostAddress struct {
	AddrType int32
	Address  []byte
}

func (a *HostAddress) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	e.Int(int64(a.AddrType))
	e.Close(f)
	f = e.Open(der.Context(1))
	e.OctetString(a.Address)
	e.Close(f)
	e.Close(seq)
}

func (a *HostAddress) decode(s *cryptobyte.String) error {
	var seq, f cryptobyte.String
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed("HostAddress", "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &a.AddrType) || !f.Empty() {
		return malformed("HostAddress", "addr-type")
	}
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadOctetString(&f, &a.Address) || !f.Empty() || !seq.Empty() {
		return malformed("HostAddress", "address")
	}
	return nil
}

// HostAddresses is a SEQUENCE OF HostAddress.
type HostAddresses []HostAddress

func (as HostAddresses) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	for i := range as {
		as[i].encode(e)
	}
	e.Close(seq)
}

func (as *HostAddresses) decode(s *cryptobyte.String) error {
	var err error
	*as = (*as)[:0]
	if !der.SequenceOf(s, func(el *cryptobyte.String) bool {
		var a HostAddress
		if err = a.decode(el); err != nil {
			return false
		}
		*as = append(*as, a)
		return true
	}) {
		if err != nil {
			return err
		}
		return malformed("HostAddresses", "")
	}
	return nil
}

// PAData is one pre-authentication data element. Tags start at [1].
type PAData struct {
	Type  PAType
	Value []byte
}

func (p *PAData) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(1))
	e.Int(int64(p.Type))
	e.Close(f)
	f = e.Open(der.Context(2))
	e.OctetString(p.Value)
	e.Close(f)
	e.Close(seq)
}

func (p *PAData) decode(s *cryptobyte.String) error {
	var seq, f cryptobyte.String
	var t int32
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed("PA-DATA", "")
	}
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadInt32(&f, &t) || !f.Empty() {
		return malformed("PA-DATA", "padata-type")
	}
	p.Type = PAType(t)
	if !der.ReadExplicit(&seq, 2, &f) || !der.ReadOctetString(&f, &p.Value) || !f.Empty() || !seq.Empty() {
		return malformed("PA-DATA", "padata-value")
	}
	return nil
}

// MethodData is a SEQUENCE OF PA-DATA (the padata fields and METHOD-DATA).
type MethodData []PAData

// Find returns the first element of type t.
func (m MethodData) Find(t PAType) (*PAData, bool) {
	for i := range m {
		if m[i].Type == t {
			return &m[i], true
		}
	}
	return nil, false
}

func (m MethodData) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	for i := range m {
		m[i].encode(e)
	}
	e.Close(seq)
}

func (m *MethodData) decode(s *cryptobyte.String) error {
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed("METHOD-DATA", "")
	}
	return m.decodeElems(seq, make(MethodData, 0, 4))
}

// decodeElems decodes the elements of the SEQUENCE OF, whose content is
// seq, appending them to buf[:0].
func (m *MethodData) decodeElems(seq cryptobyte.String, buf MethodData) error {
	*m = buf[:0]
	for !seq.Empty() {
		var p PAData
		if err := p.decode(&seq); err != nil {
			return err
		}
		*m = append(*m, p)
	}
	return nil
}

// Marshal returns the DER encoding of the sequence.
func (m *MethodData) Marshal() ([]byte, error) { return marshal(m, 128), nil }

// Unmarshal decodes a DER SEQUENCE OF PA-DATA.
func (m *MethodData) Unmarshal(b []byte) error { return unmarshal(b, m, "METHOD-DATA") }

// ADEntry is one authorization-data element.
type ADEntry struct {
	Type ADType
	Data []byte
}

// AuthorizationData is a SEQUENCE OF authorization-data elements.
// Containers such as AD-IF-RELEVANT hold a nested AuthorizationData in
// Data, decoded on demand with Unmarshal, so nesting never recurses here.
type AuthorizationData []ADEntry

func (ad AuthorizationData) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	for _, a := range ad {
		s := e.Open(der.TagSequence)
		f := e.Open(der.Context(0))
		e.Int(int64(a.Type))
		e.Close(f)
		f = e.Open(der.Context(1))
		e.OctetString(a.Data)
		e.Close(f)
		e.Close(s)
	}
	e.Close(seq)
}

func (ad *AuthorizationData) decode(s *cryptobyte.String) error {
	*ad = (*ad)[:0]
	if !der.SequenceOf(s, func(el *cryptobyte.String) bool {
		var seq, f cryptobyte.String
		var t int32
		var a ADEntry
		if !el.ReadASN1(&seq, der.TagSequence) ||
			!der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &t) || !f.Empty() ||
			!der.ReadExplicit(&seq, 1, &f) || !der.ReadOctetString(&f, &a.Data) || !f.Empty() || !seq.Empty() {
			return false
		}
		a.Type = ADType(t)
		*ad = append(*ad, a)
		return true
	}) {
		return malformed("AuthorizationData", "")
	}
	return nil
}

// Marshal returns the DER encoding, sized up front: wrapping a PAC of a
// kilobyte or more would otherwise grow the buffer several times.
func (ad *AuthorizationData) Marshal() ([]byte, error) { return marshal(ad, ad.sizeHint()), nil }

// sizeHint bounds the encoding: each entry adds at most 16 bytes of tags
// and lengths to its data.
func (ad AuthorizationData) sizeHint() int {
	n := 8
	for _, a := range ad {
		n += len(a.Data) + 16
	}
	return n
}

// Unmarshal decodes DER.
func (ad *AuthorizationData) Unmarshal(b []byte) error {
	return unmarshal(b, ad, "AuthorizationData")
}

// Ticket is a Kerberos ticket ([APPLICATION 1]).
//
// Raw holds the bytes a ticket was decoded from. When Raw is set, encode
// writes it verbatim: clients forward tickets they cannot decrypt, and a
// peer's ticket must reach the service byte for byte even if its encoder
// was not strictly DER. Code that builds or changes a ticket leaves Raw nil.
type Ticket struct {
	TktVNO  int32
	Realm   string
	SName   PrincipalName
	EncPart EncryptedData
	Raw     []byte
}

func (t *Ticket) encode(e *der.Encoder) {
	if t.Raw != nil {
		e.Raw(t.Raw)
		return
	}
	app := e.Open(der.Application(int(MsgTicket)))
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	e.Int(int64(t.TktVNO))
	e.Close(f)
	f = e.Open(der.Context(1))
	e.GeneralString(t.Realm)
	e.Close(f)
	f = e.Open(der.Context(2))
	t.SName.encode(e)
	e.Close(f)
	f = e.Open(der.Context(3))
	t.EncPart.encode(e)
	e.Close(f)
	e.Close(seq)
	e.Close(app)
}

func (t *Ticket) decode(s *cryptobyte.String) error {
	start := *s
	var app, seq, f cryptobyte.String
	if !s.ReadASN1(&app, der.Application(int(MsgTicket))) || !app.ReadASN1(&seq, der.TagSequence) || !app.Empty() {
		return malformed("Ticket", "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &t.TktVNO) || !f.Empty() || t.TktVNO != PVNO {
		return malformed("Ticket", "tkt-vno")
	}
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadGeneralString(&f, &t.Realm) || !f.Empty() {
		return malformed("Ticket", "realm")
	}
	if !der.ReadExplicit(&seq, 2, &f) {
		return malformed("Ticket", "sname")
	}
	if err := t.SName.decode(&f); err != nil {
		return err
	}
	if !f.Empty() {
		return malformed("Ticket", "sname")
	}
	if !der.ReadExplicit(&seq, 3, &f) {
		return malformed("Ticket", "enc-part")
	}
	if err := t.EncPart.decode(&f); err != nil {
		return err
	}
	if !f.Empty() || !seq.Empty() {
		return malformed("Ticket", "enc-part")
	}
	t.Raw = start[:len(start)-len(*s)]
	return nil
}

// Marshal returns the DER encoding (Raw when set).
func (t *Ticket) Marshal() ([]byte, error) { return marshal(t, len(t.EncPart.Cipher)+128), nil }

// Unmarshal decodes DER and keeps the input in Raw.
func (t *Ticket) Unmarshal(b []byte) error { return unmarshal(b, t, "Ticket") }

// KDCReqBody is the body of AS-REQ and TGS-REQ. Raw keeps the decoded
// bytes because the TGS authenticator checksum, the FAST req-checksum and
// PKINIT paChecksum are computed over them exactly as sent.
type KDCReqBody struct {
	KDCOptions           Flags
	CName                *PrincipalName
	Realm                string
	SName                *PrincipalName
	From                 time.Time // zero: absent
	Till                 time.Time
	RTime                time.Time // zero: absent
	Nonce                uint32
	EType                []EncType
	Addresses            HostAddresses // nil: absent
	EncAuthorizationData *EncryptedData
	AdditionalTickets    []Ticket // nil: absent
	Raw                  []byte
}

// ReqMem is memory a KDC-REQ decodes into (KDCReq.UnmarshalMem): its
// padata list, its names and its enctype list, as large as usual
// requests need. A server that decodes request after request into the
// same ReqMem allocates none of these; larger ones spill to the heap.
// The decoded request points into it, so it must not be reused or
// cleared while the request is in use.
type ReqMem struct {
	// Known are strings that requests usually hold (a KDC's realm name,
	// "krbtgt"): a realm or name component equal to one of them is that
	// string rather than a copy. Set by the owner; decoding keeps it.
	Known []string

	padata       [4]PAData
	cname, sname PrincipalName
	names        [4]string
	etypes       [8]EncType
}

func (b *KDCReqBody) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	e.BitString32(uint32(b.KDCOptions))
	e.Close(f)
	if b.CName != nil {
		f = e.Open(der.Context(1))
		b.CName.encode(e)
		e.Close(f)
	}
	f = e.Open(der.Context(2))
	e.GeneralString(b.Realm)
	e.Close(f)
	if b.SName != nil {
		f = e.Open(der.Context(3))
		b.SName.encode(e)
		e.Close(f)
	}
	if !b.From.IsZero() {
		f = e.Open(der.Context(4))
		e.KerberosTime(b.From)
		e.Close(f)
	}
	f = e.Open(der.Context(5))
	e.KerberosTime(b.Till)
	e.Close(f)
	if !b.RTime.IsZero() {
		f = e.Open(der.Context(6))
		e.KerberosTime(b.RTime)
		e.Close(f)
	}
	f = e.Open(der.Context(7))
	e.Int(int64(b.Nonce))
	e.Close(f)
	f = e.Open(der.Context(8))
	l := e.Open(der.TagSequence)
	for _, t := range b.EType {
		e.Int(int64(t))
	}
	e.Close(l)
	e.Close(f)
	if b.Addresses != nil {
		f = e.Open(der.Context(9))
		b.Addresses.encode(e)
		e.Close(f)
	}
	if b.EncAuthorizationData != nil {
		f = e.Open(der.Context(10))
		b.EncAuthorizationData.encode(e)
		e.Close(f)
	}
	if b.AdditionalTickets != nil {
		f = e.Open(der.Context(11))
		l := e.Open(der.TagSequence)
		for i := range b.AdditionalTickets {
			b.AdditionalTickets[i].encode(e)
		}
		e.Close(l)
		e.Close(f)
	}
	e.Close(seq)
}

func (b *KDCReqBody) decode(s *cryptobyte.String) error { return b.decodeMem(s, nil) }

// decodeMem is decode putting the names and enctypes in mem when it is
// not nil (KDCReq.UnmarshalMem).
func (b *KDCReqBody) decodeMem(s *cryptobyte.String, mem *ReqMem) error {
	const typ = "KDC-REQ-BODY"
	start := *s
	var seq, f cryptobyte.String
	var ok bool
	var err error
	*b = KDCReqBody{}
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	var opts uint32
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadBitString32(&f, &opts) || !f.Empty() {
		return malformed(typ, "kdc-options")
	}
	b.KDCOptions = Flags(opts)
	if !der.ReadOptionalExplicit(&seq, 1, &f, &ok) {
		return malformed(typ, "cname")
	}
	if ok {
		if mem != nil {
			b.CName = &mem.cname
			err = b.CName.decodeInto(&f, mem.names[:0:2], mem.Known)
		} else {
			b.CName = new(PrincipalName)
			err = b.CName.decode(&f)
		}
		if err != nil {
			return err
		}
		if !f.Empty() {
			return malformed(typ, "cname")
		}
	}
	var known []string
	if mem != nil {
		known = mem.Known
	}
	if !der.ReadExplicit(&seq, 2, &f) || !der.ReadGeneralStringKnown(&f, &b.Realm, known) || !f.Empty() {
		return malformed(typ, "realm")
	}
	if !der.ReadOptionalExplicit(&seq, 3, &f, &ok) {
		return malformed(typ, "sname")
	}
	if ok {
		if mem != nil {
			b.SName = &mem.sname
			err = b.SName.decodeInto(&f, mem.names[2:2:4], mem.Known)
		} else {
			b.SName = new(PrincipalName)
			err = b.SName.decode(&f)
		}
		if err != nil {
			return err
		}
		if !f.Empty() {
			return malformed(typ, "sname")
		}
	}
	if !der.ReadOptionalExplicit(&seq, 4, &f, &ok) || ok && (!der.ReadKerberosTime(&f, &b.From) || !f.Empty()) {
		return malformed(typ, "from")
	}
	if !der.ReadExplicit(&seq, 5, &f) || !der.ReadKerberosTime(&f, &b.Till) || !f.Empty() {
		return malformed(typ, "till")
	}
	if !der.ReadOptionalExplicit(&seq, 6, &f, &ok) || ok && (!der.ReadKerberosTime(&f, &b.RTime) || !f.Empty()) {
		return malformed(typ, "rtime")
	}
	if !der.ReadExplicit(&seq, 7, &f) || !der.ReadUInt32(&f, &b.Nonce) || !f.Empty() {
		return malformed(typ, "nonce")
	}
	if mem != nil {
		b.EType = mem.etypes[:0]
	} else {
		b.EType = make([]EncType, 0, 8)
	}
	var ets cryptobyte.String
	if !der.ReadExplicit(&seq, 8, &f) || !f.ReadASN1(&ets, der.TagSequence) || !f.Empty() {
		return malformed(typ, "etype")
	}
	for !ets.Empty() {
		var t int32
		if !der.ReadInt32(&ets, &t) {
			return malformed(typ, "etype")
		}
		b.EType = append(b.EType, EncType(t))
	}
	if !der.ReadOptionalExplicit(&seq, 9, &f, &ok) {
		return malformed(typ, "addresses")
	}
	if ok {
		b.Addresses = HostAddresses{}
		if err := b.Addresses.decode(&f); err != nil {
			return err
		}
		if !f.Empty() {
			return malformed(typ, "addresses")
		}
	}
	if !der.ReadOptionalExplicit(&seq, 10, &f, &ok) {
		return malformed(typ, "enc-authorization-data")
	}
	if ok {
		b.EncAuthorizationData = new(EncryptedData)
		if err := b.EncAuthorizationData.decode(&f); err != nil {
			return err
		}
		if !f.Empty() {
			return malformed(typ, "enc-authorization-data")
		}
	}
	if !der.ReadOptionalExplicit(&seq, 11, &f, &ok) {
		return malformed(typ, "additional-tickets")
	}
	if ok {
		b.AdditionalTickets = []Ticket{}
		var err error
		if !der.SequenceOf(&f, func(el *cryptobyte.String) bool {
			var t Ticket
			if err = t.decode(el); err != nil {
				return false
			}
			b.AdditionalTickets = append(b.AdditionalTickets, t)
			return true
		}) || !f.Empty() {
			if err != nil {
				return err
			}
			return malformed(typ, "additional-tickets")
		}
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	b.Raw = start[:len(start)-len(*s)]
	return nil
}

// Marshal returns the DER encoding of the fields (not Raw).
func (b *KDCReqBody) Marshal() ([]byte, error) { return marshal(b, 256), nil }

// Unmarshal decodes DER and keeps the input in Raw.
func (b *KDCReqBody) Unmarshal(p []byte) error { return unmarshal(p, b, "KDC-REQ-BODY") }
