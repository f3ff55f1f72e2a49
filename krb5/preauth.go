package krb5

import (
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// PAEncTSEnc is PA-ENC-TS-ENC, the plaintext of PA-ENC-TIMESTAMP and of
// PA-ENCRYPTED-CHALLENGE.
type PAEncTSEnc struct {
	PATimestamp time.Time
	PAUSec      int32
	HasUSec     bool
}

func (p *PAEncTSEnc) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitTime(e, 0, p.PATimestamp)
	if p.HasUSec {
		kmsgExplicitInt(e, 1, int64(p.PAUSec))
	}
	e.Close(seq)
}

func (p *PAEncTSEnc) decode(s *cryptobyte.String) error {
	const typ = "PA-ENC-TS-ENC"
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if err := readTimeField(&seq, 0, &p.PATimestamp, typ, "patimestamp"); err != nil {
		return err
	}
	if err := kmsgOptUsec(&seq, 1, &p.PAUSec, &p.HasUSec, typ, "pausec"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Time returns the timestamp including microseconds.
func (p PAEncTSEnc) Time() time.Time {
	return p.PATimestamp.Add(time.Duration(p.PAUSec) * time.Microsecond)
}

// Marshal returns the DER encoding.
func (p *PAEncTSEnc) Marshal() ([]byte, error) { return marshal(p, 32), nil }

// Unmarshal decodes DER.
func (p *PAEncTSEnc) Unmarshal(b []byte) error { return unmarshal(b, p, "PA-ENC-TS-ENC") }

// UnmarshalAliasing is Unmarshal without copying b, which the result
// does not point into anyway: a decrypted timestamp needs no copy. (It
// calls decode directly rather than through unmarshalAliasing, whose
// codec interface would move the reader to the heap.)
func (p *PAEncTSEnc) UnmarshalAliasing(b []byte) error {
	s := cryptobyte.String(b)
	if err := p.decode(&s); err != nil {
		return err
	}
	return trailing(s, "PA-ENC-TS-ENC")
}

// ETypeInfo2Entry tells a client how to derive its key for one enctype.
// S2KParams nil means absent (the enctype's default iteration count).
type ETypeInfo2Entry struct {
	EType     EncType
	Salt      string
	HasSalt   bool
	S2KParams []byte
}

// ETypeInfo2 is the value of PA-ETYPE-INFO2.
type ETypeInfo2 []ETypeInfo2Entry

func (info *ETypeInfo2) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	for _, en := range *info {
		s := e.Open(der.TagSequence)
		kmsgExplicitInt(e, 0, int64(en.EType))
		if en.HasSalt {
			kmsgExplicitString(e, 1, en.Salt)
		}
		if en.S2KParams != nil {
			kmsgExplicitOctets(e, 2, en.S2KParams)
		}
		e.Close(s)
	}
	e.Close(seq)
}

func (info *ETypeInfo2) decode(s *cryptobyte.String) error {
	const typ = "ETYPE-INFO2"
	*info = (*info)[:0]
	if !der.SequenceOf(s, func(el *cryptobyte.String) bool {
		var seq, f cryptobyte.String
		var en ETypeInfo2Entry
		var t int32
		var ok bool
		if !el.ReadASN1(&seq, der.TagSequence) || readInt32Field(&seq, 0, &t, typ, "") != nil {
			return false
		}
		en.EType = EncType(t)
		if !der.ReadOptionalExplicit(&seq, 1, &f, &en.HasSalt) || en.HasSalt && (!der.ReadGeneralString(&f, &en.Salt) || !f.Empty()) {
			return false
		}
		if !der.ReadOptionalExplicit(&seq, 2, &f, &ok) || ok && (!der.ReadOctetString(&f, &en.S2KParams) || !f.Empty()) {
			return false
		}
		if ok && en.S2KParams == nil {
			en.S2KParams = []byte{}
		}
		*info = append(*info, en)
		return seq.Empty()
	}) {
		return malformed(typ, "")
	}
	return nil
}

// Marshal returns the DER encoding.
func (info *ETypeInfo2) Marshal() ([]byte, error) { return marshal(info, 64), nil }

// Unmarshal decodes DER.
func (info *ETypeInfo2) Unmarshal(b []byte) error { return unmarshal(b, info, "ETYPE-INFO2") }

// AppendMarshal appends the DER encoding to dst. Unlike Marshal, it
// makes no allocation of its own when dst has room: it calls encode
// directly, not through appendMarshal's codec interface, so the encoder
// stays on the stack.
func (info *ETypeInfo2) AppendMarshal(dst []byte) []byte {
	var e der.Encoder
	e.Reset(dst)
	info.encode(&e)
	return e.Bytes()
}

// PAData wraps the value as PA-ETYPE-INFO2.
func (info ETypeInfo2) PAData() PAData {
	b, _ := info.Marshal()
	return PAData{Type: PAETypeInfo2, Value: b}
}

// ETypeInfoEntry is the legacy PA-ETYPE-INFO entry (RFC 4120 5.2.7.4),
// whose salt is an OCTET STRING. Warden only reads it, from old KDCs.
type ETypeInfoEntry struct {
	EType EncType
	Salt  []byte // nil: absent
}

// ETypeInfo is the value of PA-ETYPE-INFO.
type ETypeInfo []ETypeInfoEntry

func (info *ETypeInfo) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	for _, en := range *info {
		s := e.Open(der.TagSequence)
		kmsgExplicitInt(e, 0, int64(en.EType))
		if en.Salt != nil {
			kmsgExplicitOctets(e, 1, en.Salt)
		}
		e.Close(s)
	}
	e.Close(seq)
}

func (info *ETypeInfo) decode(s *cryptobyte.String) error {
	const typ = "ETYPE-INFO"
	*info = (*info)[:0]
	if !der.SequenceOf(s, func(el *cryptobyte.String) bool {
		var seq, f cryptobyte.String
		var en ETypeInfoEntry
		var t int32
		var ok bool
		if !el.ReadASN1(&seq, der.TagSequence) || readInt32Field(&seq, 0, &t, typ, "") != nil {
			return false
		}
		en.EType = EncType(t)
		if !der.ReadOptionalExplicit(&seq, 1, &f, &ok) || ok && (!der.ReadOctetString(&f, &en.Salt) || !f.Empty()) {
			return false
		}
		if ok && en.Salt == nil {
			en.Salt = []byte{}
		}
		*info = append(*info, en)
		return seq.Empty()
	}) {
		return malformed(typ, "")
	}
	return nil
}

// Marshal returns the DER encoding.
func (info *ETypeInfo) Marshal() ([]byte, error) { return marshal(info, 64), nil }

// Unmarshal decodes DER.
func (info *ETypeInfo) Unmarshal(b []byte) error { return unmarshal(b, info, "ETYPE-INFO") }

// PACRequest is KERB-PA-PAC-REQUEST (MS-KILE 2.2.3): whether the client
// wants a PAC in its tickets.
type PACRequest struct {
	IncludePAC bool
}

func (p *PACRequest) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	f := e.Open(der.Context(0))
	e.Bool(p.IncludePAC)
	e.Close(f)
	e.Close(seq)
}

func (p *PACRequest) decode(s *cryptobyte.String) error {
	const typ = "KERB-PA-PAC-REQUEST"
	var seq, f cryptobyte.String
	if !s.ReadASN1(&seq, der.TagSequence) || !der.ReadExplicit(&seq, 0, &f) ||
		!der.ReadBool(&f, &p.IncludePAC) || !f.Empty() || !seq.Empty() {
		return malformed(typ, "include-pac")
	}
	return nil
}

// Marshal returns the DER encoding.
func (p *PACRequest) Marshal() ([]byte, error) { return marshal(p, 8), nil }

// Unmarshal decodes DER.
func (p *PACRequest) Unmarshal(b []byte) error { return unmarshal(b, p, "KERB-PA-PAC-REQUEST") }

// PAData wraps the value as PA-PAC-REQUEST.
func (p PACRequest) PAData() PAData {
	b, _ := p.Marshal()
	return PAData{Type: PAPACRequest, Value: b}
}
