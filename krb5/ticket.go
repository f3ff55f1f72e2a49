package krb5

import (
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// TransitedEncoding lists the realms a cross-realm ticket passed through.
// Warden issues tr-type 1 (DOMAIN-X500-COMPRESS) with empty contents.
type TransitedEncoding struct {
	TRType   int32
	Contents []byte
}

func (t *TransitedEncoding) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, int64(t.TRType))
	kmsgExplicitOctets(e, 1, t.Contents)
	e.Close(seq)
}

func (t *TransitedEncoding) decode(s *cryptobyte.String) error {
	const typ = "TransitedEncoding"
	var seq, f cryptobyte.String
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if err := readInt32Field(&seq, 0, &t.TRType, typ, "tr-type"); err != nil {
		return err
	}
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadOctetString(&f, &t.Contents) || !f.Empty() || !seq.Empty() {
		return malformed(typ, "contents")
	}
	return nil
}

// EncTicketPart is the encrypted part of a ticket ([APPLICATION 3]). Raw
// keeps the decoded bytes; the MS-PAC ticket signature is computed over a
// re-encoding with the PAC replaced, so the type must re-encode exactly.
type EncTicketPart struct {
	Flags             Flags
	Key               EncryptionKey
	CRealm            string
	CName             PrincipalName
	Transited         TransitedEncoding
	AuthTime          time.Time
	StartTime         time.Time // zero: absent
	EndTime           time.Time
	RenewTill         time.Time         // zero: absent
	CAddr             HostAddresses     // nil: absent
	AuthorizationData AuthorizationData // nil: absent
	Raw               []byte
}

func (t *EncTicketPart) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgEncTicketPart)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitFlags(e, 0, t.Flags)
	kmsgExplicit(e, 1, &t.Key)
	kmsgExplicitString(e, 2, t.CRealm)
	kmsgExplicit(e, 3, &t.CName)
	kmsgExplicit(e, 4, &t.Transited)
	kmsgExplicitTime(e, 5, t.AuthTime)
	if !t.StartTime.IsZero() {
		kmsgExplicitTime(e, 6, t.StartTime)
	}
	kmsgExplicitTime(e, 7, t.EndTime)
	if !t.RenewTill.IsZero() {
		kmsgExplicitTime(e, 8, t.RenewTill)
	}
	if t.CAddr != nil {
		kmsgExplicit(e, 9, &t.CAddr)
	}
	if t.AuthorizationData != nil {
		kmsgExplicit(e, 10, &t.AuthorizationData)
	}
	e.Close(seq)
	e.Close(app)
}

func (t *EncTicketPart) decode(s *cryptobyte.String) error {
	const typ = "EncTicketPart"
	start := *s
	var seq cryptobyte.String
	if err := kmsgOpenApp(s, MsgEncTicketPart, typ, &seq); err != nil {
		return err
	}
	*t = EncTicketPart{}
	if err := readFlagsField(&seq, 0, &t.Flags, typ, "flags"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 1, &t.Key, typ, "key"); err != nil {
		return err
	}
	if err := readStringField(&seq, 2, &t.CRealm, typ, "crealm"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 3, &t.CName, typ, "cname"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 4, &t.Transited, typ, "transited"); err != nil {
		return err
	}
	if err := readTimeField(&seq, 5, &t.AuthTime, typ, "authtime"); err != nil {
		return err
	}
	if err := kmsgOptTime(&seq, 6, &t.StartTime, typ, "starttime"); err != nil {
		return err
	}
	if err := readTimeField(&seq, 7, &t.EndTime, typ, "endtime"); err != nil {
		return err
	}
	if err := kmsgOptTime(&seq, 8, &t.RenewTill, typ, "renew-till"); err != nil {
		return err
	}
	var ca HostAddresses
	if has, err := kmsgOptField(&seq, 9, &ca, typ, "caddr"); err != nil {
		return err
	} else if has {
		t.CAddr = ca
	}
	var ad AuthorizationData
	if has, err := kmsgOptField(&seq, 10, &ad, typ, "authorization-data"); err != nil {
		return err
	} else if has {
		t.AuthorizationData = ad
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	t.Raw = start[:len(start)-len(*s)]
	return nil
}

// Marshal returns the DER encoding of the fields (not Raw).
func (t *EncTicketPart) Marshal() ([]byte, error) {
	return marshal(t, 192+t.AuthorizationData.sizeHint()), nil
}

// AppendMarshal appends the encoding to dst: the KDC encodes into a
// reused buffer what it is about to encrypt.
func (t *EncTicketPart) AppendMarshal(dst []byte) []byte { return appendMarshal(dst, t) }

// AppendMarshalWith is AppendMarshal with the encoder e (nil: a new one),
// which it resets.
func (t *EncTicketPart) AppendMarshalWith(e *der.Encoder, dst []byte) []byte {
	return appendMarshalWith(e, dst, t)
}

// Unmarshal decodes DER and keeps the input in Raw.
func (t *EncTicketPart) Unmarshal(b []byte) error { return unmarshal(b, t, "EncTicketPart") }
