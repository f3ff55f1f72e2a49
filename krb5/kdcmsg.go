package krb5

import (
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// Field readers shared by the RFC 4120 message types.

func readInt32Field(seq *cryptobyte.String, n int, out *int32, typ, field string) error {
	var f cryptobyte.String
	if !der.ReadExplicit(seq, n, &f) || !der.ReadInt32(&f, out) || !f.Empty() {
		return malformed(typ, field)
	}
	return nil
}

func readUInt32Field(seq *cryptobyte.String, n int, out *uint32, typ, field string) error {
	var f cryptobyte.String
	if !der.ReadExplicit(seq, n, &f) || !der.ReadUInt32(&f, out) || !f.Empty() {
		return malformed(typ, field)
	}
	return nil
}

func readOptUInt32Field(seq *cryptobyte.String, n int, out *uint32, present *bool, typ, field string) error {
	var f cryptobyte.String
	*out = 0
	if !der.ReadOptionalExplicit(seq, n, &f, present) || *present && (!der.ReadUInt32(&f, out) || !f.Empty()) {
		return malformed(typ, field)
	}
	return nil
}

func readStringField(seq *cryptobyte.String, n int, out *string, typ, field string) error {
	var f cryptobyte.String
	if !der.ReadExplicit(seq, n, &f) || !der.ReadGeneralString(&f, out) || !f.Empty() {
		return malformed(typ, field)
	}
	return nil
}

func readTimeField(seq *cryptobyte.String, n int, out *time.Time, typ, field string) error {
	var f cryptobyte.String
	if !der.ReadExplicit(seq, n, &f) || !der.ReadKerberosTime(&f, out) || !f.Empty() {
		return malformed(typ, field)
	}
	return nil
}

func readFlagsField(seq *cryptobyte.String, n int, out *Flags, typ, field string) error {
	var f cryptobyte.String
	var v uint32
	if !der.ReadExplicit(seq, n, &f) || !der.ReadBitString32(&f, &v) || !f.Empty() {
		return malformed(typ, field)
	}
	*out = Flags(v)
	return nil
}

// MessageType returns the Kerberos message type named by the outer
// APPLICATION tag of b, so that a server can dispatch before decoding.
func MessageType(b []byte) (MsgType, bool) {
	if len(b) == 0 || b[0]&0xe0 != 0x60 || b[0]&0x1f == 0x1f {
		return 0, false
	}
	return MsgType(b[0] & 0x1f), true
}

// KDCReq is an AS-REQ ([APPLICATION 10]) or TGS-REQ ([APPLICATION 12]).
// Raw keeps the whole request as received: the RFC 6806 PA-REQ-ENC-PA-REP
// checksum covers it.
type KDCReq struct {
	MsgType MsgType // MsgASReq or MsgTGSReq
	PAData  MethodData
	ReqBody KDCReqBody
	Raw     []byte
}

func (r *KDCReq) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(r.MsgType)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 1, PVNO)
	kmsgExplicitInt(e, 2, int64(r.MsgType))
	if r.PAData != nil {
		kmsgExplicit(e, 3, &r.PAData)
	}
	kmsgExplicit(e, 4, &r.ReqBody)
	e.Close(seq)
	e.Close(app)
}

func (r *KDCReq) decode(s *cryptobyte.String) error { return r.decodeMem(s, nil) }

// decodeMem is decode putting the padata list, names and enctypes in mem
// when it is not nil (UnmarshalMem).
func (r *KDCReq) decodeMem(s *cryptobyte.String, mem *ReqMem) error {
	const typ = "KDC-REQ"
	start := *s
	t, ok := MessageType(*s)
	if !ok || (t != MsgASReq && t != MsgTGSReq) {
		return malformed(typ, "application tag")
	}
	var seq cryptobyte.String
	if err := kmsgOpenApp(s, t, typ, &seq); err != nil {
		return err
	}
	var v int32
	if err := readInt32Field(&seq, 1, &v, typ, "pvno"); err != nil || v != PVNO {
		return malformed(typ, "pvno")
	}
	if err := readInt32Field(&seq, 2, &v, typ, "msg-type"); err != nil || MsgType(v) != t {
		return malformed(typ, "msg-type")
	}
	r.MsgType = t
	r.PAData = nil
	if mem != nil {
		// The padata into mem, without kmsgOptField's interface call
		// (which would move a MethodData to the heap).
		var f, pas cryptobyte.String
		var has bool
		if !der.ReadOptionalExplicit(&seq, 3, &f, &has) || has && (!f.ReadASN1(&pas, der.TagSequence) || !f.Empty()) {
			return malformed(typ, "padata")
		}
		if has {
			if err := r.PAData.decodeElems(pas, mem.padata[:0]); err != nil {
				return err
			}
		}
	} else {
		var pa MethodData
		if has, err := kmsgOptField(&seq, 3, &pa, typ, "padata"); err != nil {
			return err
		} else if has {
			r.PAData = pa
		}
	}
	// The body directly, not through kmsgField's codec interface, which
	// would move the field's reader to the heap on every request.
	var body cryptobyte.String
	if !der.ReadExplicit(&seq, 4, &body) {
		return malformed(typ, "req-body")
	}
	if err := r.ReqBody.decodeMem(&body, mem); err != nil {
		return err
	}
	if !body.Empty() {
		return malformed(typ, "req-body")
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	r.Raw = start[:len(start)-len(*s)]
	return nil
}

// Marshal returns the DER encoding of the fields (not Raw).
func (r *KDCReq) Marshal() ([]byte, error) { return marshal(r, 512), nil }

// Unmarshal decodes an AS-REQ or TGS-REQ and keeps the input in Raw.
func (r *KDCReq) Unmarshal(b []byte) error { return unmarshal(b, r, "KDC-REQ") }

// UnmarshalMem is Unmarshal without copying the input, decoding into m:
// Raw and the other byte slices of r are views of b, and its padata,
// names and enctypes lie in m (strings are copies, as with Unmarshal).
// Both must stay unchanged for as long as r is used. A KDC that answers
// each request before reusing its buffer and m decodes a usual request
// this way with no copy and few allocations.
func (r *KDCReq) UnmarshalMem(b []byte, m *ReqMem) error {
	// A direct call, not unmarshalAliasing's through the codec
	// interface, keeps s off the heap.
	s := cryptobyte.String(b)
	if err := r.decodeMem(&s, m); err != nil {
		return err
	}
	return trailing(s, "KDC-REQ")
}

// KDCRep is an AS-REP ([APPLICATION 11]) or TGS-REP ([APPLICATION 13]).
type KDCRep struct {
	MsgType MsgType // MsgASRep or MsgTGSRep
	PAData  MethodData
	CRealm  string
	CName   PrincipalName
	Ticket  Ticket
	EncPart EncryptedData
}

func (r *KDCRep) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(r.MsgType)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, PVNO)
	kmsgExplicitInt(e, 1, int64(r.MsgType))
	if r.PAData != nil {
		kmsgExplicit(e, 2, &r.PAData)
	}
	kmsgExplicitString(e, 3, r.CRealm)
	kmsgExplicit(e, 4, &r.CName)
	kmsgExplicit(e, 5, &r.Ticket)
	kmsgExplicit(e, 6, &r.EncPart)
	e.Close(seq)
	e.Close(app)
}

func (r *KDCRep) decode(s *cryptobyte.String) error {
	const typ = "KDC-REP"
	t, ok := MessageType(*s)
	if !ok || (t != MsgASRep && t != MsgTGSRep) {
		return malformed(typ, "application tag")
	}
	var seq cryptobyte.String
	if err := kmsgOpenApp(s, t, typ, &seq); err != nil {
		return err
	}
	var v int32
	if err := readInt32Field(&seq, 0, &v, typ, "pvno"); err != nil || v != PVNO {
		return malformed(typ, "pvno")
	}
	if err := readInt32Field(&seq, 1, &v, typ, "msg-type"); err != nil || MsgType(v) != t {
		return malformed(typ, "msg-type")
	}
	r.MsgType = t
	r.PAData = nil
	var pa MethodData
	if has, err := kmsgOptField(&seq, 2, &pa, typ, "padata"); err != nil {
		return err
	} else if has {
		r.PAData = pa
	}
	if err := readStringField(&seq, 3, &r.CRealm, typ, "crealm"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 4, &r.CName, typ, "cname"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 5, &r.Ticket, typ, "ticket"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 6, &r.EncPart, typ, "enc-part"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (r *KDCRep) Marshal() ([]byte, error) {
	return marshal(r, r.sizeHint()), nil
}

// AppendMarshal appends the encoding to dst: a server that reuses its
// reply buffers encodes straight into them.
func (r *KDCRep) AppendMarshal(dst []byte) []byte { return r.AppendMarshalWith(nil, dst) }

// AppendMarshalWith is AppendMarshal with the encoder e (nil: a new one),
// which it resets: see appendMarshalWith.
func (r *KDCRep) AppendMarshalWith(e *der.Encoder, dst []byte) []byte {
	return appendMarshalWith(e, slices.Grow(dst, r.sizeHint()), r)
}

func (r *KDCRep) sizeHint() int {
	return len(r.Ticket.EncPart.Cipher) + len(r.Ticket.Raw) + len(r.EncPart.Cipher) + 256
}

// Unmarshal decodes an AS-REP or TGS-REP.
func (r *KDCRep) Unmarshal(b []byte) error { return unmarshal(b, r, "KDC-REP") }

// LastReqEntry is one element of LastReq.
type LastReqEntry struct {
	Type  int32
	Value time.Time
}

// EncKDCRepPart is the plaintext of a KDC reply's enc-part. Tag records
// whether it was EncASRepPart (25) or EncTGSRepPart (26): Windows KDCs
// send 26 in AS replies, so both are accepted for either exchange, and the
// tag is kept so a decoded value re-encodes to the same bytes.
type EncKDCRepPart struct {
	Tag             MsgType // MsgEncASRepPart or MsgEncTGSRepPart
	Key             EncryptionKey
	LastReq         []LastReqEntry
	Nonce           uint32
	KeyExpiration   time.Time // zero: absent
	Flags           Flags
	AuthTime        time.Time
	StartTime       time.Time // zero: absent
	EndTime         time.Time
	RenewTill       time.Time // zero: absent
	SRealm          string
	SName           PrincipalName
	CAddr           HostAddresses // nil: absent
	EncryptedPAData MethodData    // nil: absent (RFC 6806)
}

func (p *EncKDCRepPart) encode(e *der.Encoder) {
	tag := p.Tag
	if tag == 0 {
		tag = MsgEncASRepPart
	}
	app := e.Open(der.Application(int(tag)))
	seq := e.Open(der.TagSequence)
	kmsgExplicit(e, 0, &p.Key)
	f := e.Open(der.Context(1))
	l := e.Open(der.TagSequence)
	for _, lr := range p.LastReq {
		s := e.Open(der.TagSequence)
		kmsgExplicitInt(e, 0, int64(lr.Type))
		kmsgExplicitTime(e, 1, lr.Value)
		e.Close(s)
	}
	e.Close(l)
	e.Close(f)
	kmsgExplicitInt(e, 2, int64(p.Nonce))
	if !p.KeyExpiration.IsZero() {
		kmsgExplicitTime(e, 3, p.KeyExpiration)
	}
	kmsgExplicitFlags(e, 4, p.Flags)
	kmsgExplicitTime(e, 5, p.AuthTime)
	if !p.StartTime.IsZero() {
		kmsgExplicitTime(e, 6, p.StartTime)
	}
	kmsgExplicitTime(e, 7, p.EndTime)
	if !p.RenewTill.IsZero() {
		kmsgExplicitTime(e, 8, p.RenewTill)
	}
	kmsgExplicitString(e, 9, p.SRealm)
	kmsgExplicit(e, 10, &p.SName)
	if p.CAddr != nil {
		kmsgExplicit(e, 11, &p.CAddr)
	}
	if p.EncryptedPAData != nil {
		kmsgExplicit(e, 12, &p.EncryptedPAData)
	}
	e.Close(seq)
	e.Close(app)
}

func (p *EncKDCRepPart) decode(s *cryptobyte.String) error {
	const typ = "EncKDCRepPart"
	t, ok := MessageType(*s)
	if !ok || (t != MsgEncASRepPart && t != MsgEncTGSRepPart) {
		return malformed(typ, "application tag")
	}
	var seq, f cryptobyte.String
	if err := kmsgOpenApp(s, t, typ, &seq); err != nil {
		return err
	}
	*p = EncKDCRepPart{Tag: t}
	if err := kmsgField(&seq, 0, &p.Key, typ, "key"); err != nil {
		return err
	}
	if !der.ReadExplicit(&seq, 1, &f) || !der.SequenceOf(&f, func(el *cryptobyte.String) bool {
		var lr cryptobyte.String
		var entry LastReqEntry
		if !el.ReadASN1(&lr, der.TagSequence) ||
			readInt32Field(&lr, 0, &entry.Type, typ, "") != nil ||
			readTimeField(&lr, 1, &entry.Value, typ, "") != nil || !lr.Empty() {
			return false
		}
		p.LastReq = append(p.LastReq, entry)
		return true
	}) || !f.Empty() {
		return malformed(typ, "last-req")
	}
	if err := readUInt32Field(&seq, 2, &p.Nonce, typ, "nonce"); err != nil {
		return err
	}
	if err := kmsgOptTime(&seq, 3, &p.KeyExpiration, typ, "key-expiration"); err != nil {
		return err
	}
	if err := readFlagsField(&seq, 4, &p.Flags, typ, "flags"); err != nil {
		return err
	}
	if err := readTimeField(&seq, 5, &p.AuthTime, typ, "authtime"); err != nil {
		return err
	}
	if err := kmsgOptTime(&seq, 6, &p.StartTime, typ, "starttime"); err != nil {
		return err
	}
	if err := readTimeField(&seq, 7, &p.EndTime, typ, "endtime"); err != nil {
		return err
	}
	if err := kmsgOptTime(&seq, 8, &p.RenewTill, typ, "renew-till"); err != nil {
		return err
	}
	if err := readStringField(&seq, 9, &p.SRealm, typ, "srealm"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 10, &p.SName, typ, "sname"); err != nil {
		return err
	}
	var ca HostAddresses
	if has, err := kmsgOptField(&seq, 11, &ca, typ, "caddr"); err != nil {
		return err
	} else if has {
		p.CAddr = ca
	}
	var pa MethodData
	if has, err := kmsgOptField(&seq, 12, &pa, typ, "encrypted-pa-data"); err != nil {
		return err
	} else if has {
		p.EncryptedPAData = pa
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (p *EncKDCRepPart) Marshal() ([]byte, error) { return marshal(p, 256), nil }

// AppendMarshal appends the encoding to dst.
func (p *EncKDCRepPart) AppendMarshal(dst []byte) []byte { return appendMarshal(dst, p) }

// AppendMarshalWith is AppendMarshal with the encoder e (nil: a new one),
// which it resets.
func (p *EncKDCRepPart) AppendMarshalWith(e *der.Encoder, dst []byte) []byte {
	return appendMarshalWith(e, dst, p)
}

// Unmarshal decodes an EncASRepPart or EncTGSRepPart.
func (p *EncKDCRepPart) Unmarshal(b []byte) error { return unmarshal(b, p, "EncKDCRepPart") }
