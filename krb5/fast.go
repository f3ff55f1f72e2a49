package krb5

import (
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// FAST (RFC 6113 5.4) wire types. FAST wraps a KDC request in a tunnel
// keyed by an armor key: the client sends PA-FX-FAST whose value is a
// PA-FX-FAST-REQUEST, the KDC answers with a PA-FX-FAST whose value is a
// PA-FX-FAST-REPLY. The crypto (armor key, checksums, encryption) lives in
// krb5/kcrypto and krb5/kdc; these types only carry bytes.

// KRB-FX-CF2 peppers (RFC 6113 5.1, 5.4.1.1, 5.4.3, 5.4.6; MS-KILE
// 3.3.5.7.4): the strings that make the armor, strengthen, reply and
// challenge keys, the same on the client and the KDC.
const (
	PepperSubkeyArmor     = "subkeyarmor"
	PepperTicketArmor     = "ticketarmor"
	PepperExplicitArmor   = "explicitarmor"
	PepperTGSArmor        = "tgsarmor"
	PepperStrengthenKey   = "strengthenkey"
	PepperReplyKey        = "replykey"
	PepperClientChallenge = "clientchallengearmor"
	PepperKDCChallenge    = "kdcchallengearmor"
	PepperChallengeLT     = "challengelongterm"
)

// KrbFastArmor is KrbFastArmor: the armor that yields the armor key. With
// ArmorType ArmorAPRequest (1), ArmorValue is the DER of an AP-REQ.
type KrbFastArmor struct {
	ArmorType  int32
	ArmorValue []byte
}

func (a *KrbFastArmor) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, int64(a.ArmorType))
	kmsgExplicitOctets(e, 1, a.ArmorValue)
	e.Close(seq)
}

func (a *KrbFastArmor) decode(s *cryptobyte.String) error {
	const typ = "KrbFastArmor"
	var seq, f cryptobyte.String
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &a.ArmorType) || !f.Empty() {
		return malformed(typ, "armor-type")
	}
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadOctetString(&f, &a.ArmorValue) || !f.Empty() || !seq.Empty() {
		return malformed(typ, "armor-value")
	}
	return nil
}

// Marshal returns the DER encoding.
func (a *KrbFastArmor) Marshal() ([]byte, error) { return marshal(a, len(a.ArmorValue)+16), nil }

// Unmarshal decodes DER.
func (a *KrbFastArmor) Unmarshal(b []byte) error { return unmarshal(b, a, "KrbFastArmor") }

// FastArmoredReq is KrbFastArmoredReq as carried in PA-FX-FAST: its
// encoding is the PA-FX-FAST-REQUEST CHOICE, i.e. the SEQUENCE wrapped in
// the armored-data [0] alternative. Marshal and Unmarshal work on that
// whole CHOICE value, which is exactly the padata-value of PA-FX-FAST.
//
// Armor is mandatory for AS requests and absent for implicit TGS armor.
// ReqChecksum (usage 50) covers the outer KDC-REQ-BODY for AS and the
// PA-TGS-REQ AP-REQ for TGS; EncFastReq (usage 51) holds a KrbFastReq.
type FastArmoredReq struct {
	Armor       *KrbFastArmor
	ReqChecksum Checksum
	EncFastReq  EncryptedData
}

func (r *FastArmoredReq) encode(e *der.Encoder) {
	choice := e.Open(der.Context(0))
	seq := e.Open(der.TagSequence)
	if r.Armor != nil {
		kmsgExplicit(e, 0, r.Armor)
	}
	kmsgExplicit(e, 1, &r.ReqChecksum)
	kmsgExplicit(e, 2, &r.EncFastReq)
	e.Close(seq)
	e.Close(choice)
}

func (r *FastArmoredReq) decode(s *cryptobyte.String) error {
	const typ = "PA-FX-FAST-REQUEST"
	var choice, seq cryptobyte.String
	*r = FastArmoredReq{}
	// Only the armored-data alternative exists; RFC 6113 leaves the CHOICE
	// extensible, but an alternative we do not know cannot be processed.
	if !s.ReadASN1(&choice, der.Context(0)) {
		return malformed(typ, "armored-data")
	}
	if !choice.ReadASN1(&seq, der.TagSequence) || !choice.Empty() {
		return malformed("KrbFastArmoredReq", "")
	}
	const inner = "KrbFastArmoredReq"
	armor := new(KrbFastArmor)
	ok, err := kmsgOptField(&seq, 0, armor, inner, "armor")
	if err != nil {
		return err
	}
	if ok {
		r.Armor = armor
	}
	if err := kmsgField(&seq, 1, &r.ReqChecksum, inner, "req-checksum"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 2, &r.EncFastReq, inner, "enc-fast-req"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(inner, "trailing fields")
	}
	return nil
}

// Marshal returns the PA-FX-FAST-REQUEST encoding (armored-data [0]
// around KrbFastArmoredReq), the padata-value of PA-FX-FAST.
func (r *FastArmoredReq) Marshal() ([]byte, error) {
	n := len(r.EncFastReq.Cipher) + len(r.ReqChecksum.Checksum) + 64
	if r.Armor != nil {
		n += len(r.Armor.ArmorValue) + 16
	}
	return marshal(r, n), nil
}

// Unmarshal decodes a PA-FX-FAST-REQUEST.
func (r *FastArmoredReq) Unmarshal(b []byte) error {
	return unmarshal(b, r, "PA-FX-FAST-REQUEST")
}

// PAData returns the PA-FX-FAST element carrying r.
func (r FastArmoredReq) PAData() (PAData, error) {
	v, err := r.Marshal()
	return PAData{Type: PAFXFast, Value: v}, err
}

// KrbFastReq is the plaintext of enc-fast-req (RFC 6113 5.4.2). Once it
// is decrypted the KDC uses only its PAData and ReqBody, ignoring the outer
// request's body and padata (except PA-FX-FAST and PA-TGS-REQ).
// ReqBody.Raw keeps the inner body bytes, over which the TGS authenticator
// checksum is computed.
type KrbFastReq struct {
	FastOptions Flags
	PAData      MethodData
	ReqBody     KDCReqBody
}

func (r *KrbFastReq) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitFlags(e, 0, r.FastOptions)
	kmsgExplicit(e, 1, &r.PAData)
	kmsgExplicit(e, 2, &r.ReqBody)
	e.Close(seq)
}

func (r *KrbFastReq) decode(s *cryptobyte.String) error {
	const typ = "KrbFastReq"
	var seq, f cryptobyte.String
	*r = KrbFastReq{}
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	var opts uint32
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadBitString32(&f, &opts) || !f.Empty() {
		return malformed(typ, "fast-options")
	}
	r.FastOptions = Flags(opts)
	r.PAData = MethodData{}
	if err := kmsgField(&seq, 1, &r.PAData, typ, "padata"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 2, &r.ReqBody, typ, "req-body"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// UnknownCriticalOptions returns the critical FastOptions bits (0-15) set
// in r that this implementation does not understand; a KDC answers a
// non-zero result with KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS (RFC 6113
// 5.4.1). hide-client-names is the only critical option known.
func (r *KrbFastReq) UnknownCriticalOptions() Flags {
	return r.FastOptions & FastOptCriticalMask &^ FastOptHideClientNames
}

// Marshal returns the DER encoding.
func (r *KrbFastReq) Marshal() ([]byte, error) { return marshal(r, 512), nil }

// Unmarshal decodes DER; ReqBody.Raw holds the inner body bytes.
func (r *KrbFastReq) Unmarshal(b []byte) error { return unmarshal(b, r, "KrbFastReq") }

// FastArmoredRep is KrbFastArmoredRep as carried in PA-FX-FAST of a reply
// or KRB-ERROR: Marshal and Unmarshal work on the PA-FX-FAST-REPLY CHOICE
// (armored-data [0] around the SEQUENCE). EncFastRep (usage 52) holds a
// KrbFastResponse.
type FastArmoredRep struct {
	EncFastRep EncryptedData
}

func (r *FastArmoredRep) encode(e *der.Encoder) {
	choice := e.Open(der.Context(0))
	seq := e.Open(der.TagSequence)
	kmsgExplicit(e, 0, &r.EncFastRep)
	e.Close(seq)
	e.Close(choice)
}

func (r *FastArmoredRep) decode(s *cryptobyte.String) error {
	var choice, seq cryptobyte.String
	if !s.ReadASN1(&choice, der.Context(0)) {
		return malformed("PA-FX-FAST-REPLY", "armored-data")
	}
	const inner = "KrbFastArmoredRep"
	if !choice.ReadASN1(&seq, der.TagSequence) || !choice.Empty() {
		return malformed(inner, "")
	}
	if err := kmsgField(&seq, 0, &r.EncFastRep, inner, "enc-fast-rep"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(inner, "trailing fields")
	}
	return nil
}

// Marshal returns the PA-FX-FAST-REPLY encoding.
func (r *FastArmoredRep) Marshal() ([]byte, error) {
	return marshal(r, len(r.EncFastRep.Cipher)+32), nil
}

// Unmarshal decodes a PA-FX-FAST-REPLY.
func (r *FastArmoredRep) Unmarshal(b []byte) error { return unmarshal(b, r, "PA-FX-FAST-REPLY") }

// PAData returns the PA-FX-FAST element carrying r.
func (r FastArmoredRep) PAData() (PAData, error) {
	v, err := r.Marshal()
	return PAData{Type: PAFXFast, Value: v}, err
}

// KrbFastResponse is the plaintext of enc-fast-rep (RFC 6113 5.4.3). In
// an error it carries PA-FX-ERROR and the method hints; on success the KDC
// challenge, StrengthenKey and Finished. Nonce echoes the request nonce.
// A nil StrengthenKey or Finished is absent.
type KrbFastResponse struct {
	PAData        MethodData
	StrengthenKey *EncryptionKey
	Finished      *KrbFastFinished
	Nonce         uint32
}

func (r *KrbFastResponse) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicit(e, 0, &r.PAData)
	if r.StrengthenKey != nil {
		kmsgExplicit(e, 1, r.StrengthenKey)
	}
	if r.Finished != nil {
		kmsgExplicit(e, 2, r.Finished)
	}
	kmsgExplicitInt(e, 3, int64(r.Nonce))
	e.Close(seq)
}

func (r *KrbFastResponse) decode(s *cryptobyte.String) error {
	const typ = "KrbFastResponse"
	var seq, f cryptobyte.String
	*r = KrbFastResponse{}
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	r.PAData = MethodData{}
	if err := kmsgField(&seq, 0, &r.PAData, typ, "padata"); err != nil {
		return err
	}
	key := new(EncryptionKey)
	ok, err := kmsgOptField(&seq, 1, key, typ, "strengthen-key")
	if err != nil {
		return err
	}
	if ok {
		r.StrengthenKey = key
	}
	fin := new(KrbFastFinished)
	if ok, err = kmsgOptField(&seq, 2, fin, typ, "finished"); err != nil {
		return err
	}
	if ok {
		r.Finished = fin
	}
	if !der.ReadExplicit(&seq, 3, &f) || !der.ReadUInt32(&f, &r.Nonce) || !f.Empty() {
		return malformed(typ, "nonce")
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (r *KrbFastResponse) Marshal() ([]byte, error) { return marshal(r, 256), nil }

// Unmarshal decodes DER.
func (r *KrbFastResponse) Unmarshal(b []byte) error { return unmarshal(b, r, "KrbFastResponse") }

// KrbFastFinished binds the FAST reply to the issued ticket (RFC 6113
// 5.4.3): TicketChecksum is over DER(Ticket) with the armor key, usage 53.
// With hide-client-names the real client name appears only here.
// Timestamp is the KDC time the client should adopt.
type KrbFastFinished struct {
	Timestamp      time.Time
	Usec           int32
	CRealm         string
	CName          PrincipalName
	TicketChecksum Checksum
}

func (f *KrbFastFinished) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitTime(e, 0, f.Timestamp)
	kmsgExplicitInt(e, 1, int64(f.Usec))
	kmsgExplicitString(e, 2, f.CRealm)
	kmsgExplicit(e, 3, &f.CName)
	kmsgExplicit(e, 4, &f.TicketChecksum)
	e.Close(seq)
}

func (f *KrbFastFinished) decode(s *cryptobyte.String) error {
	const typ = "KrbFastFinished"
	var seq, fl cryptobyte.String
	*f = KrbFastFinished{}
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if !der.ReadExplicit(&seq, 0, &fl) || !der.ReadKerberosTime(&fl, &f.Timestamp) || !fl.Empty() {
		return malformed(typ, "timestamp")
	}
	if err := kmsgUsec(&seq, 1, &f.Usec, typ, "usec"); err != nil {
		return err
	}
	if !der.ReadExplicit(&seq, 2, &fl) || !der.ReadGeneralString(&fl, &f.CRealm) || !fl.Empty() {
		return malformed(typ, "crealm")
	}
	if err := kmsgField(&seq, 3, &f.CName, typ, "cname"); err != nil {
		return err
	}
	if err := kmsgField(&seq, 4, &f.TicketChecksum, typ, "ticket-checksum"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (f *KrbFastFinished) Marshal() ([]byte, error) { return marshal(f, 128), nil }

// Unmarshal decodes DER.
func (f *KrbFastFinished) Unmarshal(b []byte) error { return unmarshal(b, f, "KrbFastFinished") }

// --- FAST padata helpers ---

// EncryptedChallengePAData returns PA-ENCRYPTED-CHALLENGE (RFC 6113
// 5.4.6): the padata-value is simply the DER EncryptedData of a
// PA-ENC-TS-ENC, encrypted with the client challenge key (usage 54) or
// the KDC challenge key (usage 55). A KDC that only advertises the method
// in a METHOD-DATA hint sends an empty value instead; use
// PAData{Type: PAEncryptedChallenge} for that.
func EncryptedChallengePAData(ed EncryptedData) PAData {
	v, _ := ed.Marshal()
	return PAData{Type: PAEncryptedChallenge, Value: v}
}

// DecodeEncryptedChallenge decodes a PA-ENCRYPTED-CHALLENGE value. An
// empty value (the method hint) is malformed here: only a KDC's hint may
// be empty, and it carries nothing to decrypt.
func DecodeEncryptedChallenge(value []byte) (EncryptedData, error) {
	var ed EncryptedData
	if err := unmarshal(value, &ed, "PA-ENCRYPTED-CHALLENGE"); err != nil {
		return EncryptedData{}, err
	}
	return ed, nil
}

// FXCookiePAData returns PA-FX-COOKIE with an opaque cookie. The KDC makes
// the cookie a sealed blob with an expiry; the client echoes it verbatim
// in its next request (RFC 6113 5.2), so the value is never parsed here.
func FXCookiePAData(cookie []byte) PAData {
	return PAData{Type: PAFXCookie, Value: append([]byte(nil), cookie...)}
}

// FXErrorPAData returns PA-FX-ERROR carrying krbErrorDER, the DER of a
// KRB-ERROR. That inner error must not carry e-data (RFC 6113 5.4.3); the
// outer, unprotected KRB-ERROR repeats its error code.
func FXErrorPAData(krbErrorDER []byte) PAData {
	return PAData{Type: PAFXError, Value: append([]byte(nil), krbErrorDER...)}
}

// FXErrorValue returns the KRB-ERROR DER carried by the first PA-FX-ERROR
// in m, for the caller to decode as a KRB-ERROR. It only checks that the
// value starts like a DER [APPLICATION 30] element whose length spans the
// value exactly, so that obviously wrong data is reported as malformed
// here rather than deep inside the error decoder.
func FXErrorValue(m MethodData) ([]byte, bool, error) {
	p, ok := m.Find(PAFXError)
	if !ok {
		return nil, false, nil
	}
	s := cryptobyte.String(p.Value)
	var body cryptobyte.String
	if !s.ReadASN1(&body, der.Application(int(MsgKRBError))) || !s.Empty() {
		return nil, true, malformed("PA-FX-ERROR", "")
	}
	return p.Value, true, nil
}
