package krb5

import (
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// APReq is KRB_AP_REQ ([APPLICATION 14]). Raw keeps the decoded bytes: the
// FAST req-checksum of a TGS request covers the AP-REQ exactly as sent.
type APReq struct {
	APOptions     Flags
	Ticket        Ticket
	Authenticator EncryptedData
	Raw           []byte
}

func (r *APReq) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgAPReq)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, PVNO)
	kmsgExplicitInt(e, 1, int64(MsgAPReq))
	kmsgExplicitFlags(e, 2, r.APOptions)
	kmsgExplicit(e, 3, &r.Ticket)
	kmsgExplicit(e, 4, &r.Authenticator)
	e.Close(seq)
	e.Close(app)
}

func (r *APReq) decode(s *cryptobyte.String) error {
	const typ = "AP-REQ"
	start := *s
	var seq cryptobyte.String
	if err := kmsgOpenApp(s, MsgAPReq, typ, &seq); err != nil {
		return err
	}
	if err := kmsgHeader(&seq, typ, MsgAPReq); err != nil {
		return err
	}
	if err := readFlagsField(&seq, 2, &r.APOptions, typ, "ap-options"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 3, &r.Ticket, typ, "ticket"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 4, &r.Authenticator, typ, "authenticator"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	r.Raw = start[:len(start)-len(*s)]
	return nil
}

// Marshal returns the DER encoding of the fields (the ticket's Raw is
// reused when set, see Ticket).
func (r *APReq) Marshal() ([]byte, error) {
	return marshal(r, len(r.Ticket.Raw)+len(r.Ticket.EncPart.Cipher)+len(r.Authenticator.Cipher)+128), nil
}

// Unmarshal decodes DER and keeps the input in Raw.
func (r *APReq) Unmarshal(b []byte) error { return unmarshal(b, r, "AP-REQ") }

// Authenticator ([APPLICATION 2]) proves the client holds the ticket's
// session key at CTime.
type Authenticator struct {
	CRealm            string
	CName             PrincipalName
	Cksum             *Checksum
	CUSec             int32
	CTime             time.Time
	Subkey            *EncryptionKey
	SeqNumber         uint32
	HasSeqNumber      bool
	AuthorizationData AuthorizationData // nil: absent
}

func (a *Authenticator) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgAuthenticator)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, PVNO)
	kmsgExplicitString(e, 1, a.CRealm)
	kmsgExplicit(e, 2, &a.CName)
	if a.Cksum != nil {
		kmsgExplicit(e, 3, a.Cksum)
	}
	kmsgExplicitInt(e, 4, int64(a.CUSec))
	kmsgExplicitTime(e, 5, a.CTime)
	if a.Subkey != nil {
		kmsgExplicit(e, 6, a.Subkey)
	}
	if a.HasSeqNumber {
		kmsgExplicitInt(e, 7, int64(a.SeqNumber))
	}
	if a.AuthorizationData != nil {
		kmsgExplicit(e, 8, &a.AuthorizationData)
	}
	e.Close(seq)
	e.Close(app)
}

func (a *Authenticator) decode(s *cryptobyte.String) error {
	const typ = "Authenticator"
	var seq cryptobyte.String
	if err := kmsgOpenApp(s, MsgAuthenticator, typ, &seq); err != nil {
		return err
	}
	*a = Authenticator{}
	var v int32
	if err := readInt32Field(&seq, 0, &v, typ, "authenticator-vno"); err != nil || v != PVNO {
		return malformed(typ, "authenticator-vno")
	}
	if err := readStringField(&seq, 1, &a.CRealm, typ, "crealm"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 2, &a.CName, typ, "cname"); err != nil {
		return err
	}
	var ck Checksum
	if has, err := kmsgOptField(&seq, 3, &ck, typ, "cksum"); err != nil {
		return err
	} else if has {
		a.Cksum = &ck
	}
	if err := kmsgUsec(&seq, 4, &a.CUSec, typ, "cusec"); err != nil {
		return err
	}
	if err := readTimeField(&seq, 5, &a.CTime, typ, "ctime"); err != nil {
		return err
	}
	var sk EncryptionKey
	if has, err := kmsgOptField(&seq, 6, &sk, typ, "subkey"); err != nil {
		return err
	} else if has {
		a.Subkey = &sk
	}
	if err := readOptUInt32Field(&seq, 7, &a.SeqNumber, &a.HasSeqNumber, typ, "seq-number"); err != nil {
		return err
	}
	var ad AuthorizationData
	if has, err := kmsgOptField(&seq, 8, &ad, typ, "authorization-data"); err != nil {
		return err
	} else if has {
		a.AuthorizationData = ad
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Time returns CTime plus CUSec.
func (a Authenticator) Time() time.Time {
	return a.CTime.Add(time.Duration(a.CUSec) * time.Microsecond)
}

// Marshal returns the DER encoding.
func (a *Authenticator) Marshal() ([]byte, error) { return marshal(a, 256), nil }

// Unmarshal decodes DER.
func (a *Authenticator) Unmarshal(b []byte) error { return unmarshal(b, a, "Authenticator") }

// APRep is KRB_AP_REP ([APPLICATION 15]), the server's proof for mutual
// authentication.
type APRep struct {
	EncPart EncryptedData
}

func (r *APRep) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgAPRep)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, PVNO)
	kmsgExplicitInt(e, 1, int64(MsgAPRep))
	kmsgExplicit(e, 2, &r.EncPart)
	e.Close(seq)
	e.Close(app)
}

func (r *APRep) decode(s *cryptobyte.String) error {
	const typ = "AP-REP"
	var seq cryptobyte.String
	if err := kmsgOpenApp(s, MsgAPRep, typ, &seq); err != nil {
		return err
	}
	if err := kmsgHeader(&seq, typ, MsgAPRep); err != nil {
		return err
	}
	if err := kmsgField(&seq, 2, &r.EncPart, typ, "enc-part"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (r *APRep) Marshal() ([]byte, error) { return marshal(r, len(r.EncPart.Cipher)+32), nil }

// Unmarshal decodes DER.
func (r *APRep) Unmarshal(b []byte) error { return unmarshal(b, r, "AP-REP") }

// EncAPRepPart ([APPLICATION 27]) echoes the authenticator's time and
// may carry the acceptor's subkey and initial sequence number.
type EncAPRepPart struct {
	CTime        time.Time
	CUSec        int32
	Subkey       *EncryptionKey
	SeqNumber    uint32
	HasSeqNumber bool
}

func (p *EncAPRepPart) encode(e *der.Encoder) {
	app := e.Open(der.Application(int(MsgEncAPRepPart)))
	seq := e.Open(der.TagSequence)
	kmsgExplicitTime(e, 0, p.CTime)
	kmsgExplicitInt(e, 1, int64(p.CUSec))
	if p.Subkey != nil {
		kmsgExplicit(e, 2, p.Subkey)
	}
	if p.HasSeqNumber {
		kmsgExplicitInt(e, 3, int64(p.SeqNumber))
	}
	e.Close(seq)
	e.Close(app)
}

func (p *EncAPRepPart) decode(s *cryptobyte.String) error {
	const typ = "EncAPRepPart"
	var seq cryptobyte.String
	if err := kmsgOpenApp(s, MsgEncAPRepPart, typ, &seq); err != nil {
		return err
	}
	*p = EncAPRepPart{}
	if err := readTimeField(&seq, 0, &p.CTime, typ, "ctime"); err != nil {
		return err
	}
	if err := kmsgUsec(&seq, 1, &p.CUSec, typ, "cusec"); err != nil {
		return err
	}
	var sk EncryptionKey
	if has, err := kmsgOptField(&seq, 2, &sk, typ, "subkey"); err != nil {
		return err
	} else if has {
		p.Subkey = &sk
	}
	if err := readOptUInt32Field(&seq, 3, &p.SeqNumber, &p.HasSeqNumber, typ, "seq-number"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (p *EncAPRepPart) Marshal() ([]byte, error) { return marshal(p, 96), nil }

// Unmarshal decodes DER.
func (p *EncAPRepPart) Unmarshal(b []byte) error { return unmarshal(b, p, "EncAPRepPart") }
