package gss

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/internal/der"
	"github.com/warden-auth/warden/krb5"
)

// SPNEGO tokens (RFC 4178 4.2 with the MS-SPNG additions). The first
// token of a negotiation is a GSS InitialContextToken (RFC 2743 3.1):
//
//	60 <len> 06 06 2b0601050502 | a0 <len> NegTokenInit (or NegTokenInit2)
//
// Every later token is a bare NegotiationToken choice a1 <len>
// NegTokenResp. Unlike the krb5 mechanism's tokens there is no TOK_ID
// after the OID, so krb5.WrapGSSToken does not fit and the framing is
// done here.
//
// Decoding is strict DER through cryptobyte: minimal lengths, no
// indefinite lengths, low tag numbers only. internal/der has no BER
// tolerance switch yet; Windows, MIT, Heimdal, curl and browsers all send
// DER, so none is needed for the peers Warden serves.

// NegState is the negState of a NegTokenResp. Its zero value means the
// field is absent; the wire value is NegState-1.
type NegState uint8

// NegState values (RFC 4178 4.2.2).
const (
	NegStateAbsent   NegState = iota // field omitted
	AcceptCompleted                  // accept-completed (0)
	AcceptIncomplete                 // accept-incomplete (1)
	Reject                           // reject (2)
	RequestMIC                       // request-mic (3)
)

// String returns the RFC 4178 spelling, e.g. "accept-incomplete".
func (s NegState) String() string {
	switch s {
	case NegStateAbsent:
		return "absent"
	case AcceptCompleted:
		return "accept-completed"
	case AcceptIncomplete:
		return "accept-incomplete"
	case Reject:
		return "reject"
	case RequestMIC:
		return "request-mic"
	}
	return "negState(" + strconv.Itoa(int(s)-1) + ")"
}

// NegHintName is the hintName Windows servers put in NegTokenInit2
// (MS-SPNG 3.2.5.2). Receivers ignore negHints.
const NegHintName = "not_defined_in_RFC4178@please_ignore"

// MaxMechTypes bounds the MechTypeList a decoder accepts. Real peers
// offer at most five mechanisms; the cap keeps a hostile list from
// turning a small token into many allocations.
const MaxMechTypes = 64

// NegHints is the negHints field of an MS-SPNG NegTokenInit2.
type NegHints struct {
	HintName    string // GeneralString; "" = absent
	HintAddress []byte // nil = absent; Windows never sends it
}

// NegTokenInit is the initiator's first SPNEGO token (RFC 4178 4.2.1),
// or, with Init2 or NegHints set, the NegTokenInit2 a server sends when it
// starts the negotiation (MS-SPNG 2.2.1). In every []byte field nil means
// the field is absent; a decoded empty field is non-nil.
type NegTokenInit struct {
	// MechTypes are DER OBJECT IDENTIFIERs (06 len ...) in the sender's
	// order of preference, unknown mechanisms included. nil omits the
	// field, which only NegTokenInit2 allows.
	MechTypes [][]byte
	// RawMechTypes is filled by the decoder: the DER MechTypeList (30 ...,
	// without the [0] wrapper) exactly as received. It is the input of
	// the mechListMIC (RFC 4178 5, MS-SPNG 3.1.5.1). The encoder ignores
	// it; for a token being sent, EncodeMechTypeList(MechTypes) gives the
	// same bytes Marshal writes.
	RawMechTypes []byte
	// ReqFlags is the DER BIT STRING (03 ...) of reqFlags as received.
	// Senders omit it and acceptors ignore it (MS-SPNG 3.1.5.3): it is not
	// protected by the mechListMIC.
	ReqFlags []byte
	// MechToken is the optimistic token of MechTypes[0].
	MechToken []byte
	// NegHints is MS-SPNG's negHints; non-nil selects NegTokenInit2.
	NegHints *NegHints
	// Init2 selects the NegTokenInit2 field numbering ([3] negHints,
	// [4] mechListMIC) even without NegHints. The decoder sets it when the
	// token used that numbering.
	Init2 bool
	// MechListMIC is the mechanism's MIC over RawMechTypes.
	MechListMIC []byte
}

// NegTokenResp is every SPNEGO token after the first (RFC 4178 4.2.2).
// In every []byte field nil means the field is absent.
type NegTokenResp struct {
	NegState NegState
	// SupportedMech is a DER OBJECT IDENTIFIER (06 len ...). An acceptor
	// answers with the exact OID bytes the client listed (MS-SPNG 3.2.5).
	SupportedMech []byte
	ResponseToken []byte
	MechListMIC   []byte
}

// --- encoding ---

// EncodeMechTypeList returns the DER MechTypeList (SEQUENCE OF OID) of
// mechs, the bytes an initiator's mechListMIC covers. Each mech must be a
// well-formed DER OID such as []byte(krb5.OIDKRB5).
func EncodeMechTypeList(mechs [][]byte) ([]byte, error) {
	e := der.NewEncoder(nil)
	if err := encodeMechTypeList(e, mechs); err != nil {
		return nil, err
	}
	return e.Bytes(), nil
}

func encodeMechTypeList(e *der.Encoder, mechs [][]byte) error {
	seq := e.Open(der.TagSequence)
	for i, m := range mechs {
		if !krb5.ValidOID(m) {
			return &Error{Code: BadMech, Reason: fmt.Sprintf("mechTypes[%d] is not a DER OBJECT IDENTIFIER: %x", i, m)}
		}
		e.Raw(m)
	}
	e.Close(seq)
	return nil
}

// Marshal returns the token as a GSS InitialContextToken with the SPNEGO
// OID, ready to send (e.g. base64 in "Authorization: Negotiate").
func (t *NegTokenInit) Marshal() ([]byte, error) {
	if t.ReqFlags != nil && !validBitString(t.ReqFlags) {
		return nil, &Error{Code: Failure, Reason: fmt.Sprintf("reqFlags is not a DER BIT STRING: %x", t.ReqFlags)}
	}
	e := der.NewEncoder(make([]byte, 0, 64+len(t.MechToken)+len(t.MechListMIC)+12*len(t.MechTypes)))
	app := e.Open(der.Application(0))
	e.Raw([]byte(krb5.OIDSPNEGO))
	choice := e.Open(der.Context(0))
	seq := e.Open(der.TagSequence)
	if t.MechTypes != nil {
		f := e.Open(der.Context(0))
		if err := encodeMechTypeList(e, t.MechTypes); err != nil {
			return nil, err
		}
		e.Close(f)
	}
	if t.ReqFlags != nil {
		f := e.Open(der.Context(1))
		e.Raw(t.ReqFlags)
		e.Close(f)
	}
	explicitOctets(e, 2, t.MechToken)
	if t.NegHints != nil || t.Init2 {
		if h := t.NegHints; h != nil {
			f := e.Open(der.Context(3))
			hs := e.Open(der.TagSequence)
			if h.HintName != "" {
				g := e.Open(der.Context(0))
				e.GeneralString(h.HintName)
				e.Close(g)
			}
			explicitOctets(e, 1, h.HintAddress)
			e.Close(hs)
			e.Close(f)
		}
		explicitOctets(e, 4, t.MechListMIC)
	} else {
		explicitOctets(e, 3, t.MechListMIC)
	}
	e.Close(seq)
	e.Close(choice)
	e.Close(app)
	return e.Bytes(), nil
}

// Marshal returns the bare negTokenResp choice (a1 ...), the form every
// token after the first takes.
func (t *NegTokenResp) Marshal() ([]byte, error) {
	if t.NegState > RequestMIC {
		return nil, &Error{Code: Failure, Reason: fmt.Sprintf("cannot encode %v", t.NegState)}
	}
	if t.SupportedMech != nil && !krb5.ValidOID(t.SupportedMech) {
		return nil, &Error{Code: BadMech, Reason: fmt.Sprintf("supportedMech is not a DER OBJECT IDENTIFIER: %x", t.SupportedMech)}
	}
	e := der.NewEncoder(make([]byte, 0, 48+len(t.ResponseToken)+len(t.MechListMIC)))
	choice := e.Open(der.Context(1))
	seq := e.Open(der.TagSequence)
	if t.NegState != NegStateAbsent {
		f := e.Open(der.Context(0))
		e.IntTag(der.TagEnum, int64(t.NegState)-1)
		e.Close(f)
	}
	if t.SupportedMech != nil {
		f := e.Open(der.Context(1))
		e.Raw(t.SupportedMech)
		e.Close(f)
	}
	explicitOctets(e, 2, t.ResponseToken)
	explicitOctets(e, 3, t.MechListMIC)
	e.Close(seq)
	e.Close(choice)
	return e.Bytes(), nil
}

// explicitOctets appends [n] OCTET STRING b unless b is nil.
func explicitOctets(e *der.Encoder, n int, b []byte) {
	if b == nil {
		return
	}
	f := e.Open(der.Context(n))
	e.OctetString(b)
	e.Close(f)
}

// --- decoding ---

// ParseNegotiationToken decodes any SPNEGO token: a framed
// InitialContextToken yields a *NegTokenInit, a bare negTokenResp a
// *NegTokenResp. A framed token of another mechanism (a client that sent
// a raw krb5 AP-REQ under "Negotiate", say) fails with BadMech, so the
// caller can try that mechanism instead. maxSize bounds len(b); zero or
// negative means krb5.DefaultMaxGSSTokenSize.
func ParseNegotiationToken(b []byte, maxSize int) (*NegTokenInit, *NegTokenResp, error) {
	if len(b) > 0 && b[0] == 0x60 {
		t, err := ParseNegTokenInit(b, maxSize)
		return t, nil, err
	}
	if len(b) > 0 && b[0] == byte(der.Context(1)) {
		t, err := ParseNegTokenResp(b, maxSize)
		return nil, t, err
	}
	if err := checkSize("SPNEGO token", b, maxSize); err != nil {
		return nil, nil, err
	}
	if len(b) == 0 {
		return nil, nil, defective("SPNEGO token", "empty token")
	}
	return nil, nil, defective("SPNEGO token", fmt.Sprintf("starts with %02x, neither an InitialContextToken (60) nor a negTokenResp (a1)", b[0]))
}

// ParseNegTokenInit decodes an InitialContextToken carrying a SPNEGO
// negTokenInit or NegTokenInit2. maxSize bounds len(b); zero or negative
// means krb5.DefaultMaxGSSTokenSize. The input is copied once and the
// fields alias that copy.
func ParseNegTokenInit(b []byte, maxSize int) (*NegTokenInit, error) {
	const typ = "NegTokenInit"
	if err := checkSize(typ, b, maxSize); err != nil {
		return nil, err
	}
	s := cryptobyte.String(append([]byte(nil), b...))
	var app cryptobyte.String
	if !s.ReadASN1(&app, der.Application(0)) || !s.Empty() {
		return nil, defective(typ, "not a GSS InitialContextToken (60 ...) spanning the whole input")
	}
	var mech cryptobyte.String
	if !app.ReadASN1Element(&mech, cbasn1.OBJECT_IDENTIFIER) || !krb5.ValidOID(mech) {
		return nil, defective(typ, "thisMech is not a DER OBJECT IDENTIFIER")
	}
	if string(mech) != krb5.OIDSPNEGO {
		return nil, &Error{Code: BadMech, Reason: "initial token is for mechanism " + MechName(mech) + ", not SPNEGO"}
	}
	var body cryptobyte.String
	if !app.ReadASN1(&body, der.Context(0)) || !app.Empty() {
		return nil, defective(typ, "initial token does not hold exactly one negTokenInit [0]")
	}
	var seq cryptobyte.String
	if !body.ReadASN1(&seq, der.TagSequence) || !body.Empty() {
		return nil, defective(typ, "not a SEQUENCE")
	}
	t := &NegTokenInit{}
	var f cryptobyte.String
	var present bool

	// [0] mechTypes: mandatory in RFC 4178, optional in NegTokenInit2.
	if !seq.ReadOptionalASN1(&f, &present, der.Context(0)) {
		return nil, defective(typ, "mechTypes")
	}
	if present {
		mechs, raw, err := parseMechTypeList(typ, f)
		if err != nil {
			return nil, err
		}
		t.MechTypes, t.RawMechTypes = mechs, raw
	}
	// [1] reqFlags: kept as received, never interpreted.
	if !seq.ReadOptionalASN1(&f, &present, der.Context(1)) {
		return nil, defective(typ, "reqFlags")
	}
	if present {
		if !validBitString(f) {
			return nil, defective(typ, "reqFlags is not one DER BIT STRING")
		}
		t.ReqFlags = f
	}
	// [2] mechToken.
	if !readExplicitOctets(&seq, 2, &t.MechToken) {
		return nil, defective(typ, "mechToken")
	}
	// [3] is mechListMIC in RFC 4178 but negHints in NegTokenInit2; the
	// inner tag (OCTET STRING or SEQUENCE) tells them apart.
	nextExt := 5
	if !seq.ReadOptionalASN1(&f, &present, der.Context(3)) {
		return nil, defective(typ, "field [3]")
	}
	switch {
	case present && f.PeekASN1Tag(der.TagSequence):
		h, err := parseNegHints(f)
		if err != nil {
			return nil, err
		}
		t.NegHints, t.Init2 = h, true
	case present:
		var mic []byte
		if !der.ReadOctetString(&f, &mic) || !f.Empty() {
			return nil, defective(typ, "mechListMIC")
		}
		t.MechListMIC = mic
		nextExt = 4 // RFC 4178 form: [4] would be an extension
	}
	if nextExt == 5 {
		// [4] mechListMIC of NegTokenInit2.
		if !seq.ReadOptionalASN1(&f, &present, der.Context(4)) {
			return nil, defective(typ, "mechListMIC [4]")
		}
		if present {
			var mic []byte
			if !der.ReadOctetString(&f, &mic) || !f.Empty() {
				return nil, defective(typ, "mechListMIC [4]")
			}
			t.MechListMIC, t.Init2 = mic, true
		}
	}
	if err := skipExtensions(typ, seq, nextExt); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseNegTokenResp decodes a bare negTokenResp (a1 ...). maxSize bounds
// len(b); zero or negative means krb5.DefaultMaxGSSTokenSize. The input
// is copied once and the fields alias that copy.
func ParseNegTokenResp(b []byte, maxSize int) (*NegTokenResp, error) {
	const typ = "NegTokenResp"
	if err := checkSize(typ, b, maxSize); err != nil {
		return nil, err
	}
	s := cryptobyte.String(append([]byte(nil), b...))
	var body, seq cryptobyte.String
	if !s.ReadASN1(&body, der.Context(1)) || !s.Empty() {
		return nil, defective(typ, "not a negTokenResp [1] spanning the whole input")
	}
	if !body.ReadASN1(&seq, der.TagSequence) || !body.Empty() {
		return nil, defective(typ, "not a SEQUENCE")
	}
	t := &NegTokenResp{}
	var f cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&f, &present, der.Context(0)) {
		return nil, defective(typ, "negState")
	}
	if present {
		var v int64
		if !der.ReadIntTag(&f, der.TagEnum, &v) || !f.Empty() {
			return nil, defective(typ, "negState is not one ENUMERATED")
		}
		if v < 0 || v > 3 {
			return nil, defective(typ, fmt.Sprintf("negState %d is not defined", v))
		}
		t.NegState = NegState(v + 1)
	}
	if !seq.ReadOptionalASN1(&f, &present, der.Context(1)) {
		return nil, defective(typ, "supportedMech")
	}
	if present {
		var oid cryptobyte.String
		if !f.ReadASN1Element(&oid, cbasn1.OBJECT_IDENTIFIER) || !f.Empty() || !krb5.ValidOID(oid) {
			return nil, defective(typ, "supportedMech is not one DER OBJECT IDENTIFIER")
		}
		t.SupportedMech = oid
	}
	if !readExplicitOctets(&seq, 2, &t.ResponseToken) {
		return nil, defective(typ, "responseToken")
	}
	if !readExplicitOctets(&seq, 3, &t.MechListMIC) {
		return nil, defective(typ, "mechListMIC")
	}
	if err := skipExtensions(typ, seq, 4); err != nil {
		return nil, err
	}
	return t, nil
}

// parseMechTypeList reads the content of the [0] mechTypes field: exactly
// one SEQUENCE OF OBJECT IDENTIFIER. raw is that SEQUENCE's full DER.
func parseMechTypeList(typ string, f cryptobyte.String) (mechs [][]byte, raw []byte, err error) {
	var rawEl, list cryptobyte.String
	if !f.ReadASN1Element(&rawEl, der.TagSequence) || !f.Empty() {
		return nil, nil, defective(typ, "mechTypes is not one SEQUENCE OF OBJECT IDENTIFIER")
	}
	el := rawEl
	if !el.ReadASN1(&list, der.TagSequence) {
		return nil, nil, defective(typ, "mechTypes")
	}
	mechs = [][]byte{}
	for !list.Empty() {
		if len(mechs) == MaxMechTypes {
			return nil, nil, defective(typ, fmt.Sprintf("more than %d mechTypes", MaxMechTypes))
		}
		var oid cryptobyte.String
		if !list.ReadASN1Element(&oid, cbasn1.OBJECT_IDENTIFIER) || !krb5.ValidOID(oid) {
			return nil, nil, defective(typ, fmt.Sprintf("mechTypes[%d] is not a DER OBJECT IDENTIFIER", len(mechs)))
		}
		mechs = append(mechs, oid)
	}
	return mechs, rawEl, nil
}

// parseNegHints reads the content of NegTokenInit2's [3] negHints.
func parseNegHints(f cryptobyte.String) (*NegHints, error) {
	const typ = "NegTokenInit2"
	var seq cryptobyte.String
	if !f.ReadASN1(&seq, der.TagSequence) || !f.Empty() {
		return nil, defective(typ, "negHints")
	}
	h := &NegHints{}
	var g cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&g, &present, der.Context(0)) {
		return nil, defective(typ, "negHints.hintName")
	}
	if present && (!der.ReadGeneralString(&g, &h.HintName) || !g.Empty()) {
		return nil, defective(typ, "negHints.hintName")
	}
	if !readExplicitOctets(&seq, 1, &h.HintAddress) {
		return nil, defective(typ, "negHints.hintAddress")
	}
	if err := skipExtensions(typ+" negHints", seq, 2); err != nil {
		return nil, err
	}
	return h, nil
}

// readExplicitOctets reads an optional [n] OCTET STRING into *out, which
// stays nil when the field is absent.
func readExplicitOctets(s *cryptobyte.String, n int, out *[]byte) bool {
	var f cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&f, &present, der.Context(n)) {
		return false
	}
	if !present {
		return true
	}
	var v []byte
	if !der.ReadOctetString(&f, &v) || !f.Empty() {
		return false
	}
	*out = v
	return true
}

// skipExtensions accepts what is left of a SEQUENCE when it is only
// well-formed context-tagged fields numbered minTag or higher: RFC 4178
// marks its SEQUENCEs extensible ("..."), so unknown later fields are
// ignored. Anything else (an unknown universal element, or a known field
// out of order) is refused rather than silently dropped.
func skipExtensions(typ string, s cryptobyte.String, minTag int) error {
	for !s.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1Element(&el, &tag) {
			return defective(typ, "trailing bytes are not a DER element")
		}
		if byte(tag)&0xc0 != 0x80 || int(byte(tag)&0x1f) < minTag {
			return defective(typ, fmt.Sprintf("unexpected element with tag %02x (fields out of order or duplicated)", byte(tag)))
		}
	}
	return nil
}

func checkSize(typ string, b []byte, maxSize int) error {
	if maxSize <= 0 {
		maxSize = krb5.DefaultMaxGSSTokenSize
	}
	if len(b) > maxSize {
		return &Error{Code: DefectiveToken,
			Reason: fmt.Sprintf("%s of %d bytes exceeds the limit of %d", typ, len(b), maxSize),
			Hint:   "raise the token size limit if the peer's tickets carry very large PACs"}
	}
	return nil
}

func defective(typ, what string) *Error {
	return &Error{Code: DefectiveToken, Reason: "malformed " + typ + ": " + what}
}

// validBitString reports whether b is exactly one DER BIT STRING element
// with a sane unused-bits octet.
func validBitString(b []byte) bool {
	s := cryptobyte.String(b)
	var c cryptobyte.String
	if !s.ReadASN1(&c, der.TagBitString) || !s.Empty() || len(c) == 0 || c[0] > 7 {
		return false
	}
	return len(c) > 1 || c[0] == 0
}

// MechName returns a short name for a mechanism OID (DER), for reasons
// and logs: "krb5", "ms-krb5", "krb5-u2u", "ntlmssp", "negoex", "spnego",
// or the dotted form of any other OID.
func MechName(oid []byte) string {
	switch string(oid) {
	case krb5.OIDKRB5:
		return "krb5"
	case krb5.OIDMSKRB5:
		return "ms-krb5"
	case krb5.OIDKRB5U2U:
		return "krb5-u2u"
	case krb5.OIDNTLMSSP:
		return "ntlmssp"
	case krb5.OIDNegoEx:
		return "negoex"
	case krb5.OIDSPNEGO:
		return "spnego"
	}
	return OIDString(oid)
}

// OIDString returns the dotted form of a DER OBJECT IDENTIFIER, e.g.
// "1.3.6.1.5.5.2", or "invalid-oid:<hex>" when b is not one.
func OIDString(b []byte) string {
	if !krb5.ValidOID(b) {
		return fmt.Sprintf("invalid-oid:%x", b)
	}
	s := cryptobyte.String(b)
	var c cryptobyte.String
	s.ReadASN1(&c, cbasn1.OBJECT_IDENTIFIER)
	var sb strings.Builder
	var v uint64
	first := true
	for _, x := range c {
		if v > 1<<56 {
			return fmt.Sprintf("invalid-oid:%x", b) // sub-identifier beyond 64 bits
		}
		v = v<<7 | uint64(x&0x7f)
		if x&0x80 != 0 {
			continue
		}
		if first {
			// The first sub-identifier packs two arcs: 40*X + Y (X.690 8.19.4).
			x1 := min(v/40, 2)
			sb.WriteString(strconv.FormatUint(x1, 10))
			sb.WriteByte('.')
			sb.WriteString(strconv.FormatUint(v-40*x1, 10))
			first = false
		} else {
			sb.WriteByte('.')
			sb.WriteString(strconv.FormatUint(v, 10))
		}
		v = 0
	}
	return sb.String()
}
