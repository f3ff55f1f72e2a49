package krb5

import "strconv"

// PVNO is the Kerberos protocol version number.
const PVNO = 5

// EncType is a Kerberos encryption type number (RFC 3961 8, RFC 8009).
type EncType int32

// Encryption types Warden knows by name. Only the AES families and RC4 are
// implemented; the DES family is named so that errors can say what a peer
// offered.
const (
	ETypeDESCBCCRC           EncType = 1
	ETypeDESCBCMD5           EncType = 3
	ETypeDES3CBCSHA1         EncType = 16
	ETypeAES128CTSHMACSHA196 EncType = 17
	ETypeAES256CTSHMACSHA196 EncType = 18
	ETypeAES128CTSHMACSHA256 EncType = 19
	ETypeAES256CTSHMACSHA384 EncType = 20
	ETypeRC4HMAC             EncType = 23
	ETypeRC4HMACEXP          EncType = 24
)

var etypeNames = map[EncType]string{
	ETypeDESCBCCRC:           "des-cbc-crc",
	ETypeDESCBCMD5:           "des-cbc-md5",
	ETypeDES3CBCSHA1:         "des3-cbc-sha1",
	ETypeAES128CTSHMACSHA196: "aes128-cts-hmac-sha1-96",
	ETypeAES256CTSHMACSHA196: "aes256-cts-hmac-sha1-96",
	ETypeAES128CTSHMACSHA256: "aes128-cts-hmac-sha256-128",
	ETypeAES256CTSHMACSHA384: "aes256-cts-hmac-sha384-192",
	ETypeRC4HMAC:             "arcfour-hmac",
	ETypeRC4HMACEXP:          "arcfour-hmac-exp",
}

// String returns the name MIT krb5 uses for the enctype (e.g.
// "aes256-cts-hmac-sha1-96"), or the number for unknown ones.
func (t EncType) String() string {
	if s, ok := etypeNames[t]; ok {
		return s
	}
	return strconv.Itoa(int(t))
}

// ParseEncType resolves an enctype name as written in krb5.conf or by
// klist -e (also accepting "rc4-hmac" and "aes256-cts"), or a number.
func ParseEncType(s string) (EncType, bool) {
	for t, n := range etypeNames {
		if n == s {
			return t, true
		}
	}
	switch s {
	case "rc4-hmac":
		return ETypeRC4HMAC, true
	case "aes128-cts", "aes128-sha1":
		return ETypeAES128CTSHMACSHA196, true
	case "aes256-cts", "aes256-sha1":
		return ETypeAES256CTSHMACSHA196, true
	case "aes128-sha2":
		return ETypeAES128CTSHMACSHA256, true
	case "aes256-sha2":
		return ETypeAES256CTSHMACSHA384, true
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return EncType(n), true
	}
	return 0, false
}

// ChecksumType is a Kerberos checksum type number.
type ChecksumType int32

// Checksum types.
const (
	CksumHMACSHA196AES128    ChecksumType = 15
	CksumHMACSHA196AES256    ChecksumType = 16
	CksumHMACSHA256128AES128 ChecksumType = 19
	CksumHMACSHA384192AES256 ChecksumType = 20
	CksumHMACMD5             ChecksumType = -138
	CksumGSSAPI              ChecksumType = 0x8003
)

var cksumNames = map[ChecksumType]string{
	CksumHMACSHA196AES128:    "hmac-sha1-96-aes128",
	CksumHMACSHA196AES256:    "hmac-sha1-96-aes256",
	CksumHMACSHA256128AES128: "hmac-sha256-128-aes128",
	CksumHMACSHA384192AES256: "hmac-sha384-192-aes256",
	CksumHMACMD5:             "hmac-md5-arcfour",
	CksumGSSAPI:              "gssapi-0x8003",
}

// String returns the checksum type's spec name.
func (t ChecksumType) String() string {
	if s, ok := cksumNames[t]; ok {
		return s
	}
	return strconv.Itoa(int(t))
}

// NameType is a PrincipalName name-type (RFC 4120 6.2, RFC 6111).
type NameType int32

// Name types.
const (
	NameTypeUnknown    NameType = 0
	NameTypePrincipal  NameType = 1
	NameTypeSrvInst    NameType = 2
	NameTypeSrvHst     NameType = 3
	NameTypeSrvXHst    NameType = 4
	NameTypeUID        NameType = 5
	NameTypeX500       NameType = 6
	NameTypeSMTP       NameType = 7
	NameTypeEnterprise NameType = 10
	NameTypeWellKnown  NameType = 11
)

var nameTypeNames = map[NameType]string{
	NameTypeUnknown: "KRB5_NT_UNKNOWN", NameTypePrincipal: "KRB5_NT_PRINCIPAL",
	NameTypeSrvInst: "KRB5_NT_SRV_INST", NameTypeSrvHst: "KRB5_NT_SRV_HST",
	NameTypeSrvXHst: "KRB5_NT_SRV_XHST", NameTypeUID: "KRB5_NT_UID",
	NameTypeX500: "KRB5_NT_X500_PRINCIPAL", NameTypeSMTP: "KRB5_NT_SMTP_NAME",
	NameTypeEnterprise: "KRB5_NT_ENTERPRISE_PRINCIPAL", NameTypeWellKnown: "KRB5_NT_WELLKNOWN",
}

// String returns the RFC spelling, e.g. "KRB5_NT_SRV_INST".
func (t NameType) String() string {
	if s, ok := nameTypeNames[t]; ok {
		return s
	}
	return strconv.Itoa(int(t))
}

// MsgType is a Kerberos message type, which is also the message's ASN.1
// APPLICATION tag number (RFC 4120 5.10).
type MsgType int32

// Message types and the application tags of encrypted parts.
const (
	MsgTicket         MsgType = 1
	MsgAuthenticator  MsgType = 2
	MsgEncTicketPart  MsgType = 3
	MsgASReq          MsgType = 10
	MsgASRep          MsgType = 11
	MsgTGSReq         MsgType = 12
	MsgTGSRep         MsgType = 13
	MsgAPReq          MsgType = 14
	MsgAPRep          MsgType = 15
	MsgKRBSafe        MsgType = 20
	MsgKRBPriv        MsgType = 21
	MsgKRBCred        MsgType = 22
	MsgEncASRepPart   MsgType = 25
	MsgEncTGSRepPart  MsgType = 26
	MsgEncAPRepPart   MsgType = 27
	MsgEncKrbPrivPart MsgType = 28
	MsgEncKrbCredPart MsgType = 29
	MsgKRBError       MsgType = 30
)

var msgTypeNames = map[MsgType]string{
	MsgTicket: "Ticket", MsgAuthenticator: "Authenticator", MsgEncTicketPart: "EncTicketPart",
	MsgASReq: "AS-REQ", MsgASRep: "AS-REP", MsgTGSReq: "TGS-REQ", MsgTGSRep: "TGS-REP",
	MsgAPReq: "AP-REQ", MsgAPRep: "AP-REP", MsgKRBSafe: "KRB-SAFE", MsgKRBPriv: "KRB-PRIV",
	MsgKRBCred: "KRB-CRED", MsgEncASRepPart: "EncASRepPart", MsgEncTGSRepPart: "EncTGSRepPart",
	MsgEncAPRepPart: "EncAPRepPart", MsgEncKrbPrivPart: "EncKrbPrivPart",
	MsgEncKrbCredPart: "EncKrbCredPart", MsgKRBError: "KRB-ERROR",
}

// String returns the RFC 4120 name, e.g. "AS-REQ".
func (t MsgType) String() string {
	if s, ok := msgTypeNames[t]; ok {
		return s
	}
	return strconv.Itoa(int(t))
}

// PAType is a PA-DATA padata-type.
type PAType int32

// Padata types in scope for Warden (RFC 4120, 4556, 6113, 6112, 6806,
// 8070, MS-KILE, MS-SFU).
const (
	PATGSReq             PAType = 1
	PAEncTimestamp       PAType = 2
	PAPwSalt             PAType = 3
	PAETypeInfo          PAType = 11
	PAPKASReqOld         PAType = 14
	PAPKASRepOld         PAType = 15
	PAPKASReq            PAType = 16
	PAPKASRep            PAType = 17
	PAETypeInfo2         PAType = 19
	PASvrReferralInfo    PAType = 20
	PAPACRequest         PAType = 128
	PAForUser            PAType = 129
	PAForX509User        PAType = 130
	PAFXCookie           PAType = 133
	PAFXFast             PAType = 136
	PAFXError            PAType = 137
	PAEncryptedChallenge PAType = 138
	PAPKINITKX           PAType = 147
	PAReqEncPARep        PAType = 149
	PAASFreshness        PAType = 150
	PASupportedEnctypes  PAType = 165
	PAPACOptions         PAType = 167
)

var paTypeNames = map[PAType]string{
	PATGSReq: "PA-TGS-REQ", PAEncTimestamp: "PA-ENC-TIMESTAMP", PAPwSalt: "PA-PW-SALT",
	PAETypeInfo: "PA-ETYPE-INFO", PAPKASReqOld: "PA-PK-AS-REQ_OLD", PAPKASRepOld: "PA-PK-AS-REP_OLD",
	PAPKASReq: "PA-PK-AS-REQ", PAPKASRep: "PA-PK-AS-REP", PAETypeInfo2: "PA-ETYPE-INFO2",
	PASvrReferralInfo: "PA-SVR-REFERRAL-INFO", PAPACRequest: "PA-PAC-REQUEST",
	PAForUser: "PA-FOR-USER", PAForX509User: "PA-FOR-X509-USER", PAFXCookie: "PA-FX-COOKIE",
	PAFXFast: "PA-FX-FAST", PAFXError: "PA-FX-ERROR", PAEncryptedChallenge: "PA-ENCRYPTED-CHALLENGE",
	PAPKINITKX: "PA-PKINIT-KX", PAReqEncPARep: "PA-REQ-ENC-PA-REP", PAASFreshness: "PA-AS-FRESHNESS",
	PASupportedEnctypes: "PA-SUPPORTED-ENCTYPES", PAPACOptions: "PA-PAC-OPTIONS",
}

// String returns the spec name, e.g. "PA-ENC-TIMESTAMP".
func (t PAType) String() string {
	if s, ok := paTypeNames[t]; ok {
		return s
	}
	return strconv.Itoa(int(t))
}

// ADType is an authorization-data ad-type.
type ADType int32

// Authorization data types (RFC 4120 7.5.4, RFC 6113, MS-KILE, MS-PAC).
const (
	ADIfRelevant             ADType = 1
	ADKDCIssued              ADType = 4
	ADAndOr                  ADType = 5
	ADMandatoryForKDC        ADType = 8
	ADInitialVerifiedCAs     ADType = 9
	ADAuthenticationStrength ADType = 70
	ADFXFastArmor            ADType = 71
	ADFXFastUsed             ADType = 72
	ADWin2KPAC               ADType = 128
	ADTokenRestrictions      ADType = 141
	ADLocal                  ADType = 142
	ADAPOptions              ADType = 143
	ADTargetPrincipal        ADType = 144
)

var adTypeNames = map[ADType]string{
	ADIfRelevant: "AD-IF-RELEVANT", ADKDCIssued: "AD-KDC-ISSUED", ADAndOr: "AD-AND-OR",
	ADMandatoryForKDC: "AD-MANDATORY-FOR-KDC", ADInitialVerifiedCAs: "AD-INITIAL-VERIFIED-CAS",
	ADAuthenticationStrength: "AD-authentication-strength", ADFXFastArmor: "AD-fx-fast-armor",
	ADFXFastUsed: "AD-fx-fast-used", ADWin2KPAC: "AD-WIN2K-PAC",
	ADTokenRestrictions: "KERB-AUTH-DATA-TOKEN-RESTRICTIONS", ADLocal: "KERB-LOCAL",
	ADAPOptions: "AD-AUTH-DATA-AP-OPTIONS", ADTargetPrincipal: "KERB-AUTH-DATA-CLIENT-TARGET",
}

// String returns the spec name, e.g. "AD-WIN2K-PAC".
func (t ADType) String() string {
	if s, ok := adTypeNames[t]; ok {
		return s
	}
	return strconv.Itoa(int(t))
}

// Flags is a 32-bit KerberosFlags word; bit n of the ASN.1 BIT STRING is
// the value 0x80000000>>n.
type Flags uint32

// Bit returns the mask of BIT STRING bit n.
func Bit(n int) Flags { return Flags(0x80000000) >> uint(n) }

// Has reports whether every bit of m is set.
func (f Flags) Has(m Flags) bool { return f&m == m }

// KDCOptions bits (RFC 4120 5.4.1, RFC 6806, RFC 6112, MS-SFU).
const (
	KDCOptForwardable           = Flags(0x40000000)
	KDCOptForwarded             = Flags(0x20000000)
	KDCOptProxiable             = Flags(0x10000000)
	KDCOptProxy                 = Flags(0x08000000)
	KDCOptAllowPostdate         = Flags(0x04000000)
	KDCOptPostdated             = Flags(0x02000000)
	KDCOptRenewable             = Flags(0x00800000)
	KDCOptCNameInAddlTkt        = Flags(0x00020000)
	KDCOptCanonicalize          = Flags(0x00010000)
	KDCOptRequestAnonymous      = Flags(0x00008000)
	KDCOptDisableTransitedCheck = Flags(0x00000020)
	KDCOptRenewableOK           = Flags(0x00000010)
	KDCOptEncTktInSkey          = Flags(0x00000008)
	KDCOptRenew                 = Flags(0x00000002)
	KDCOptValidate              = Flags(0x00000001)
)

// TicketFlags bits (RFC 4120 5.3, RFC 6806, RFC 6112).
const (
	TktFlagForwardable            = Flags(0x40000000)
	TktFlagForwarded              = Flags(0x20000000)
	TktFlagProxiable              = Flags(0x10000000)
	TktFlagProxy                  = Flags(0x08000000)
	TktFlagMayPostdate            = Flags(0x04000000)
	TktFlagPostdated              = Flags(0x02000000)
	TktFlagInvalid                = Flags(0x01000000)
	TktFlagRenewable              = Flags(0x00800000)
	TktFlagInitial                = Flags(0x00400000)
	TktFlagPreAuthent             = Flags(0x00200000)
	TktFlagHWAuthent              = Flags(0x00100000)
	TktFlagTransitedPolicyChecked = Flags(0x00080000)
	TktFlagOKAsDelegate           = Flags(0x00040000)
	TktFlagEncPARep               = Flags(0x00010000)
	TktFlagAnonymous              = Flags(0x00008000)
)

// APOptions bits (RFC 4120 5.5.1).
const (
	APOptUseSessionKey  = Flags(0x40000000)
	APOptMutualRequired = Flags(0x20000000)
)

// FastOptions bits (RFC 6113 5.4.1). Bits 0-15 are critical.
const (
	FastOptHideClientNames    = Flags(0x40000000)
	FastOptKDCFollowReferrals = Flags(0x00008000)
	FastOptCriticalMask       = Flags(0xffff0000)
)

// PA-PAC-OPTIONS bits (MS-KILE 2.2.10).
const (
	PACOptClaims        = Flags(0x80000000)
	PACOptBranchAware   = Flags(0x40000000)
	PACOptForwardToFull = Flags(0x20000000)
	PACOptResourceBCD   = Flags(0x10000000)
)

// SupportedEnctypes are the msDS-SupportedEncryptionTypes bits carried in
// PA-SUPPORTED-ENCTYPES (MS-KILE 2.2.7).
type SupportedEnctypes uint32

// Supported-enctypes bits.
const (
	SETDESCBCCRC                      SupportedEnctypes = 0x1
	SETDESCBCMD5                      SupportedEnctypes = 0x2
	SETRC4HMAC                        SupportedEnctypes = 0x4
	SETAES128                         SupportedEnctypes = 0x8
	SETAES256                         SupportedEnctypes = 0x10
	SETAES256SK                       SupportedEnctypes = 0x20
	SETFASTSupported                  SupportedEnctypes = 0x10000
	SETCompoundIdentity               SupportedEnctypes = 0x20000
	SETClaimsSupported                SupportedEnctypes = 0x40000
	SETResourceSIDCompressionDisabled SupportedEnctypes = 0x80000
)

// Armor types (RFC 6113 5.4.1).
const ArmorAPRequest int32 = 1

// Address types (RFC 4120 7.5.3).
const (
	AddrIPv4        int32 = 2
	AddrDirectional int32 = 3
	AddrChaosNet    int32 = 5
	AddrXNS         int32 = 6
	AddrISO         int32 = 7
	AddrDECNetIV    int32 = 12
	AddrAppleTalk   int32 = 16
	AddrNetBIOS     int32 = 20
	AddrIPv6        int32 = 24
)
