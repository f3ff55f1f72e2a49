package krb5

import (
	"encoding/binary"
	"strconv"

	"golang.org/x/crypto/cryptobyte"

	"github.com/warden-auth/warden/internal/der"
)

// Windows (MS-KILE) extensions: PA-PAC-OPTIONS, PA-SUPPORTED-ENCTYPES,
// KERB-AD-RESTRICTION-ENTRY, KERB-ERROR-DATA / KERB-EXT-ERROR and
// AD-AUTH-DATA-AP-OPTIONS, plus kpasswd's ChangePasswdData (RFC 3244).
// Several of these are not DER at all but little-endian C structures
// inside an OCTET STRING; the helpers below name that explicitly.

// --- PA-PAC-OPTIONS (MS-KILE 2.2.10) ---

// PACOptions is PA-PAC-OPTIONS ::= SEQUENCE { flags [0] PAC-OPTIONS-FLAGS }
// where the flags are KerberosFlags (PACOpt* bits). The explicit [0] is
// real: a bare BIT STRING is not what Windows sends or accepts.
type PACOptions struct {
	Flags Flags
}

func (p *PACOptions) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitFlags(e, 0, p.Flags)
	e.Close(seq)
}

func (p *PACOptions) decode(s *cryptobyte.String) error {
	var seq, f cryptobyte.String
	var v uint32
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed("PA-PAC-OPTIONS", "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadBitString32(&f, &v) || !f.Empty() || !seq.Empty() {
		return malformed("PA-PAC-OPTIONS", "flags")
	}
	p.Flags = Flags(v)
	return nil
}

// Marshal returns the DER encoding, e.g. claims = 30 09 a0 07 03 05 00 80 00 00 00.
func (p *PACOptions) Marshal() ([]byte, error) { return marshal(p, 11), nil }

// Unmarshal decodes DER.
func (p *PACOptions) Unmarshal(b []byte) error { return unmarshal(b, p, "PA-PAC-OPTIONS") }

// PAData returns the PA-PAC-OPTIONS element carrying p.
func (p PACOptions) PAData() PAData {
	v, _ := p.Marshal()
	return PAData{Type: PAPACOptions, Value: v}
}

// --- PA-SUPPORTED-ENCTYPES (MS-KILE) ---

// EncodeSupportedEnctypes returns the PA-SUPPORTED-ENCTYPES value: the
// bit mask as a raw 4-byte little-endian integer, not DER.
func EncodeSupportedEnctypes(v SupportedEnctypes) []byte {
	return binary.LittleEndian.AppendUint32(make([]byte, 0, 4), uint32(v))
}

// DecodeSupportedEnctypes decodes a PA-SUPPORTED-ENCTYPES value, which
// must be exactly 4 bytes.
func DecodeSupportedEnctypes(b []byte) (SupportedEnctypes, error) {
	if len(b) != 4 {
		return 0, malformed("PA-SUPPORTED-ENCTYPES", "length "+strconv.Itoa(len(b))+", want 4")
	}
	return SupportedEnctypes(binary.LittleEndian.Uint32(b)), nil
}

// --- KERB-AD-RESTRICTION-ENTRY (MS-KILE) ---

// Restriction types of KERB-AD-RESTRICTION-ENTRY.
const (
	// RestrictionTokenInfoIntegrity marks an LSAP_TOKEN_INFO_INTEGRITY
	// restriction, the only type defined.
	RestrictionTokenInfoIntegrity int32 = 0
)

// KerbADRestrictionEntry is KERB-AD-RESTRICTION-ENTRY, carried in
// KERB_AUTH_DATA_TOKEN_RESTRICTIONS (ad-type 141). Marshal writes the bare
// SEQUENCE; MarshalADData writes the SEQUENCE OF wrapper Windows puts in
// the ad-data. Unmarshal accepts both, since peers differ.
type KerbADRestrictionEntry struct {
	RestrictionType int32
	Restriction     []byte
}

func (r *KerbADRestrictionEntry) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 0, int64(r.RestrictionType))
	kmsgExplicitOctets(e, 1, r.Restriction)
	e.Close(seq)
}

func (r *KerbADRestrictionEntry) decode(s *cryptobyte.String) error {
	const typ = "KERB-AD-RESTRICTION-ENTRY"
	var seq, f cryptobyte.String
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadInt32(&f, &r.RestrictionType) || !f.Empty() {
		return malformed(typ, "restriction-type")
	}
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadOctetString(&f, &r.Restriction) || !f.Empty() || !seq.Empty() {
		return malformed(typ, "restriction")
	}
	return nil
}

// Marshal returns the DER encoding of the bare SEQUENCE.
func (r *KerbADRestrictionEntry) Marshal() ([]byte, error) {
	return marshal(r, len(r.Restriction)+16), nil
}

// MarshalADData returns the entry wrapped in a SEQUENCE OF, the form
// Windows places in a KERB_AUTH_DATA_TOKEN_RESTRICTIONS ad-data.
func (r KerbADRestrictionEntry) MarshalADData() []byte {
	e := der.NewEncoder(make([]byte, 0, len(r.Restriction)+20))
	seq := e.Open(der.TagSequence)
	r.encode(e)
	e.Close(seq)
	return e.Bytes()
}

// Unmarshal decodes one entry in either form: the bare SEQUENCE, or a
// SEQUENCE OF holding exactly one entry (Windows). Use
// DecodeADRestrictions for a list.
func (r *KerbADRestrictionEntry) Unmarshal(b []byte) error {
	list, err := DecodeADRestrictions(b)
	if err != nil {
		return err
	}
	if len(list) != 1 {
		return malformed("KERB-AD-RESTRICTION-ENTRY", "want one entry, got "+strconv.Itoa(len(list)))
	}
	*r = list[0]
	return nil
}

// DecodeADRestrictions decodes the ad-data of a
// KERB_AUTH_DATA_TOKEN_RESTRICTIONS element in either form: a bare
// KERB-AD-RESTRICTION-ENTRY, or a SEQUENCE OF them. The two are told apart
// by the first inner tag: an entry starts with [0], a list with SEQUENCE;
// an empty SEQUENCE is an empty list.
func DecodeADRestrictions(b []byte) ([]KerbADRestrictionEntry, error) {
	const typ = "KERB-AD-RESTRICTION-ENTRY"
	in := cryptobyte.String(append([]byte(nil), b...))
	peek := in
	var body cryptobyte.String
	if !peek.ReadASN1(&body, der.TagSequence) {
		return nil, malformed(typ, "")
	}
	var out []KerbADRestrictionEntry
	if body.Empty() || der.Peek(body, der.TagSequence) {
		var err error
		if !der.SequenceOf(&in, func(el *cryptobyte.String) bool {
			var r KerbADRestrictionEntry
			if err = r.decode(el); err != nil {
				return false
			}
			out = append(out, r)
			return true
		}) {
			if err != nil {
				return nil, err
			}
			return nil, malformed(typ, "")
		}
	} else {
		var r KerbADRestrictionEntry
		if err := r.decode(&in); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if !in.Empty() {
		return nil, malformed(typ, "trailing data")
	}
	return out, nil
}

// TokenInfoIntegrity is LSAP_TOKEN_INFO_INTEGRITY (MS-KILE), the
// restriction of type 0: a 40-byte little-endian structure.
type TokenInfoIntegrity struct {
	// Flags: 0 = full token, 1 = UAC-restricted token.
	Flags uint32
	// TokenIL is the integrity level RID (e.g. 0x2000 medium, 0x3000 high).
	TokenIL uint32
	// MachineID identifies the calling machine; a server compares it with
	// its own to detect loopback.
	MachineID [32]byte
}

// TokenInfoIntegrity flag and integrity-level values (MS-KILE).
const (
	TokenInfoFullToken       uint32 = 0
	TokenInfoUACRestricted   uint32 = 1
	TokenILUntrusted         uint32 = 0x0000
	TokenILLow               uint32 = 0x1000
	TokenILMedium            uint32 = 0x2000
	TokenILHigh              uint32 = 0x3000
	TokenILSystem            uint32 = 0x4000
	TokenILProtectedProcess  uint32 = 0x5000
	tokenInfoIntegrityLength        = 40
)

// Marshal returns the 40-byte structure.
func (t TokenInfoIntegrity) Marshal() []byte {
	b := make([]byte, 0, tokenInfoIntegrityLength)
	b = binary.LittleEndian.AppendUint32(b, t.Flags)
	b = binary.LittleEndian.AppendUint32(b, t.TokenIL)
	return append(b, t.MachineID[:]...)
}

// Unmarshal decodes exactly 40 bytes.
func (t *TokenInfoIntegrity) Unmarshal(b []byte) error {
	if len(b) != tokenInfoIntegrityLength {
		return malformed("LSAP_TOKEN_INFO_INTEGRITY", "length "+strconv.Itoa(len(b))+", want 40")
	}
	t.Flags = binary.LittleEndian.Uint32(b)
	t.TokenIL = binary.LittleEndian.Uint32(b[4:])
	copy(t.MachineID[:], b[8:])
	return nil
}

// TokenRestrictionsAD returns the KERB_AUTH_DATA_TOKEN_RESTRICTIONS
// element for t in the form Windows sends (a SEQUENCE OF one entry).
// Clients place it inside AD-IF-RELEVANT.
func TokenRestrictionsAD(t TokenInfoIntegrity) ADEntry {
	r := KerbADRestrictionEntry{RestrictionType: RestrictionTokenInfoIntegrity, Restriction: t.Marshal()}
	return ADEntry{Type: ADTokenRestrictions, Data: r.MarshalADData()}
}

// DecodeTokenRestrictions decodes a KERB_AUTH_DATA_TOKEN_RESTRICTIONS
// ad-data (either form) and returns its first LSAP_TOKEN_INFO_INTEGRITY.
// Entries of unknown restriction types are skipped.
func DecodeTokenRestrictions(adData []byte) (TokenInfoIntegrity, bool, error) {
	list, err := DecodeADRestrictions(adData)
	if err != nil {
		return TokenInfoIntegrity{}, false, err
	}
	for _, r := range list {
		if r.RestrictionType != RestrictionTokenInfoIntegrity {
			continue
		}
		var t TokenInfoIntegrity
		if err := t.Unmarshal(r.Restriction); err != nil {
			return TokenInfoIntegrity{}, false, err
		}
		return t, true, nil
	}
	return TokenInfoIntegrity{}, false, nil
}

// --- KERB-ERROR-DATA and KERB-EXT-ERROR (MS-KILE 2.2.2) ---

// KERB-ERROR-DATA data-type values (MS-KILE 2.2.2).
const (
	// KerbAPErrTypeSkewRecovery accompanies KRB_AP_ERR_SKEW; no value.
	KerbAPErrTypeSkewRecovery int32 = 2
	// KerbErrTypeExtended carries a KERB-EXT-ERROR with an NTSTATUS.
	KerbErrTypeExtended int32 = 3
)

// KerbErrorData is KERB-ERROR-DATA, the e-data Windows puts in KRB-ERROR.
// Tags start at [1]. A nil DataValue is absent; decoding a present but
// empty value yields a non-nil empty slice, so re-encoding is exact.
type KerbErrorData struct {
	DataType  int32
	DataValue []byte
}

func (d *KerbErrorData) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitInt(e, 1, int64(d.DataType))
	if d.DataValue != nil {
		kmsgExplicitOctets(e, 2, d.DataValue)
	}
	e.Close(seq)
}

func (d *KerbErrorData) decode(s *cryptobyte.String) error {
	const typ = "KERB-ERROR-DATA"
	var seq, f cryptobyte.String
	var ok bool
	*d = KerbErrorData{}
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if !der.ReadExplicit(&seq, 1, &f) || !der.ReadInt32(&f, &d.DataType) || !f.Empty() {
		return malformed(typ, "data-type")
	}
	if !der.ReadOptionalExplicit(&seq, 2, &f, &ok) || ok && (!der.ReadOctetString(&f, &d.DataValue) || !f.Empty()) {
		return malformed(typ, "data-value")
	}
	if ok && d.DataValue == nil {
		d.DataValue = []byte{}
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (d *KerbErrorData) Marshal() ([]byte, error) { return marshal(d, len(d.DataValue)+16), nil }

// Unmarshal decodes DER.
func (d *KerbErrorData) Unmarshal(b []byte) error { return unmarshal(b, d, "KERB-ERROR-DATA") }

// NTStatus is a Windows NTSTATUS code as carried in KERB-EXT-ERROR.
type NTStatus uint32

// NTSTATUS values a KDC commonly returns (MS-ERREF; see spec kerberos.md section 10).
const (
	StatusSuccess                      NTStatus = 0x00000000
	StatusNoSuchUser                   NTStatus = 0xC0000064
	StatusWrongPassword                NTStatus = 0xC000006A
	StatusLogonFailure                 NTStatus = 0xC000006D
	StatusAccountRestriction           NTStatus = 0xC000006E
	StatusInvalidLogonHours            NTStatus = 0xC000006F
	StatusInvalidWorkstation           NTStatus = 0xC0000070
	StatusPasswordExpired              NTStatus = 0xC0000071
	StatusAccountDisabled              NTStatus = 0xC0000072
	StatusAccountExpired               NTStatus = 0xC0000193
	StatusPasswordMustChange           NTStatus = 0xC0000224
	StatusAccountLockedOut             NTStatus = 0xC0000234
	StatusSmartcardLogonRequired       NTStatus = 0xC00002FA
	StatusPKINITFailure                NTStatus = 0xC0000320
	StatusNoSecrets                    NTStatus = 0xC0000371
	StatusAuthenticationFirewallFailed NTStatus = 0xC0000413
	StatusNTLMBlocked                  NTStatus = 0xC0000418
)

var ntStatusNames = map[NTStatus]string{
	StatusSuccess: "STATUS_SUCCESS", StatusNoSuchUser: "STATUS_NO_SUCH_USER",
	StatusWrongPassword: "STATUS_WRONG_PASSWORD", StatusLogonFailure: "STATUS_LOGON_FAILURE",
	StatusAccountRestriction: "STATUS_ACCOUNT_RESTRICTION", StatusInvalidLogonHours: "STATUS_INVALID_LOGON_HOURS",
	StatusInvalidWorkstation: "STATUS_INVALID_WORKSTATION", StatusPasswordExpired: "STATUS_PASSWORD_EXPIRED",
	StatusAccountDisabled: "STATUS_ACCOUNT_DISABLED", StatusAccountExpired: "STATUS_ACCOUNT_EXPIRED",
	StatusPasswordMustChange: "STATUS_PASSWORD_MUST_CHANGE", StatusAccountLockedOut: "STATUS_ACCOUNT_LOCKED_OUT",
	StatusSmartcardLogonRequired: "STATUS_SMARTCARD_LOGON_REQUIRED", StatusPKINITFailure: "STATUS_PKINIT_FAILURE",
	StatusNoSecrets: "STATUS_NO_SECRETS", StatusAuthenticationFirewallFailed: "STATUS_AUTHENTICATION_FIREWALL_FAILED",
	StatusNTLMBlocked: "STATUS_NTLM_BLOCKED",
}

// String returns the Windows name, e.g. "STATUS_LOGON_FAILURE", or the
// value in hex.
func (s NTStatus) String() string {
	if n, ok := ntStatusNames[s]; ok {
		return n
	}
	return "0x" + strconv.FormatUint(uint64(s), 16)
}

// KerbExtError is KERB-EXT-ERROR (MS-KILE): three little-endian
// 32-bit words, not DER. Flags 1 says Status holds an NTSTATUS.
type KerbExtError struct {
	Status   NTStatus
	Reserved uint32
	Flags    uint32
}

// KerbExtErrorFlagStatus is the KERB-EXT-ERROR flags value Windows sends.
const KerbExtErrorFlagStatus uint32 = 1

// NewKerbExtError returns the error word a KDC sends: reserved 0, flags 1.
func NewKerbExtError(status NTStatus) KerbExtError {
	return KerbExtError{Status: status, Flags: KerbExtErrorFlagStatus}
}

// Marshal returns the 12 raw bytes.
func (x KerbExtError) Marshal() []byte {
	b := make([]byte, 0, 12)
	b = binary.LittleEndian.AppendUint32(b, uint32(x.Status))
	b = binary.LittleEndian.AppendUint32(b, x.Reserved)
	return binary.LittleEndian.AppendUint32(b, x.Flags)
}

// Unmarshal decodes exactly 12 bytes. Reserved and Flags are kept as
// sent, not checked: they carry no meaning a receiver could act on.
func (x *KerbExtError) Unmarshal(b []byte) error {
	if len(b) != 12 {
		return malformed("KERB-EXT-ERROR", "length "+strconv.Itoa(len(b))+", want 12")
	}
	x.Status = NTStatus(binary.LittleEndian.Uint32(b))
	x.Reserved = binary.LittleEndian.Uint32(b[4:])
	x.Flags = binary.LittleEndian.Uint32(b[8:])
	return nil
}

// ExtendedErrorData returns the DER KERB-ERROR-DATA a KDC puts in a
// KRB-ERROR's e-data to report status (data-type 3, KERB-EXT-ERROR).
func ExtendedErrorData(status NTStatus) []byte {
	d := KerbErrorData{DataType: KerbErrTypeExtended, DataValue: NewKerbExtError(status).Marshal()}
	b, _ := d.Marshal()
	return b
}

// --- AD-AUTH-DATA-AP-OPTIONS (MS-KILE) ---

// AD-AUTH-DATA-AP-OPTIONS bits.
const (
	// KerbAPOptionsCBT: the client supports channel bindings.
	KerbAPOptionsCBT uint32 = 0x4000
	// KerbAPOptionsUnverifiedTargetName: the target name came from an
	// unverified source.
	KerbAPOptionsUnverifiedTargetName uint32 = 0x8000
)

// EncodeADAPOptions returns the AD-AUTH-DATA-AP-OPTIONS ad-data: a raw
// little-endian 32-bit value.
func EncodeADAPOptions(v uint32) []byte {
	return binary.LittleEndian.AppendUint32(make([]byte, 0, 4), v)
}

// DecodeADAPOptions decodes an AD-AUTH-DATA-AP-OPTIONS ad-data, which
// must be exactly 4 bytes.
func DecodeADAPOptions(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, malformed("AD-AUTH-DATA-AP-OPTIONS", "length "+strconv.Itoa(len(b))+", want 4")
	}
	return binary.LittleEndian.Uint32(b), nil
}

// --- kpasswd ChangePasswdData (RFC 3244 2) ---

// ChangePasswdData is the KRB-PRIV user-data of a version 0xFF80 kpasswd
// request ("set password"). With TargName nil the caller changes its own
// password. An empty TargRealm is absent (no realm is empty), so a
// present empty targrealm is refused on decode.
type ChangePasswdData struct {
	NewPasswd []byte
	TargName  *PrincipalName
	TargRealm string
}

func (c *ChangePasswdData) encode(e *der.Encoder) {
	seq := e.Open(der.TagSequence)
	kmsgExplicitOctets(e, 0, c.NewPasswd)
	if c.TargName != nil {
		kmsgExplicit(e, 1, c.TargName)
	}
	if c.TargRealm != "" {
		kmsgExplicitString(e, 2, c.TargRealm)
	}
	e.Close(seq)
}

func (c *ChangePasswdData) decode(s *cryptobyte.String) error {
	const typ = "ChangePasswdData"
	var seq, f cryptobyte.String
	var err error
	*c = ChangePasswdData{}
	if !s.ReadASN1(&seq, der.TagSequence) {
		return malformed(typ, "")
	}
	if !der.ReadExplicit(&seq, 0, &f) || !der.ReadOctetString(&f, &c.NewPasswd) || !f.Empty() {
		return malformed(typ, "newpasswd")
	}
	if c.TargName, err = kmsgOptPrincipal(&seq, 1, typ, "targname"); err != nil {
		return err
	}
	if err = kmsgOptRealm(&seq, 2, &c.TargRealm, typ, "targrealm"); err != nil {
		return err
	}
	if !seq.Empty() {
		return malformed(typ, "trailing fields")
	}
	return nil
}

// Marshal returns the DER encoding.
func (c *ChangePasswdData) Marshal() ([]byte, error) { return marshal(c, len(c.NewPasswd)+96), nil }

// Unmarshal decodes DER.
func (c *ChangePasswdData) Unmarshal(b []byte) error { return unmarshal(b, c, "ChangePasswdData") }
