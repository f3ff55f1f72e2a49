package pac

import (
	"strconv"
	"time"
)

// BufferType is a PAC_INFO_BUFFER ulType (MS-PAC 2.4).
type BufferType uint32

// Buffer types.
const (
	TypeLogonInfo         BufferType = 1  // KERB_VALIDATION_INFO
	TypeCredentialInfo    BufferType = 2  // PAC_CREDENTIAL_INFO (PKINIT)
	TypeServerChecksum    BufferType = 6  // server signature
	TypeKDCChecksum       BufferType = 7  // KDC (privsvr) signature
	TypeClientInfo        BufferType = 10 // PAC_CLIENT_INFO
	TypeS4UDelegationInfo BufferType = 11 // S4U_DELEGATION_INFO
	TypeUPNDNSInfo        BufferType = 12 // UPN_DNS_INFO
	TypeClientClaims      BufferType = 13 // PAC_CLIENT_CLAIMS_INFO
	TypeDeviceInfo        BufferType = 14 // PAC_DEVICE_INFO
	TypeDeviceClaims      BufferType = 15 // PAC_DEVICE_CLAIMS_INFO
	TypeTicketChecksum    BufferType = 16 // ticket signature
	TypeAttributesInfo    BufferType = 17 // PAC_ATTRIBUTES_INFO
	TypeRequestor         BufferType = 18 // PAC_REQUESTOR
	TypeFullChecksum      BufferType = 19 // extended KDC (full PAC) signature
	TypeRequestorGUID     BufferType = 20 // PAC_REQUESTOR_GUID
)

var bufferTypeNames = map[BufferType]string{
	TypeLogonInfo: "PAC_LOGON_INFO", TypeCredentialInfo: "PAC_CREDENTIAL_INFO",
	TypeServerChecksum: "PAC_SERVER_CHECKSUM", TypeKDCChecksum: "PAC_PRIVSVR_CHECKSUM",
	TypeClientInfo: "PAC_CLIENT_INFO", TypeS4UDelegationInfo: "S4U_DELEGATION_INFO",
	TypeUPNDNSInfo: "UPN_DNS_INFO", TypeClientClaims: "PAC_CLIENT_CLAIMS_INFO",
	TypeDeviceInfo: "PAC_DEVICE_INFO", TypeDeviceClaims: "PAC_DEVICE_CLAIMS_INFO",
	TypeTicketChecksum: "PAC_TICKET_CHECKSUM", TypeAttributesInfo: "PAC_ATTRIBUTES_INFO",
	TypeRequestor: "PAC_REQUESTOR", TypeFullChecksum: "PAC_FULL_CHECKSUM",
	TypeRequestorGUID: "PAC_REQUESTOR_GUID",
}

// String returns the MS-PAC name, e.g. "PAC_LOGON_INFO", or
// "PAC_BUFFER_<n>" for types this package does not know.
func (t BufferType) String() string {
	if s, ok := bufferTypeNames[t]; ok {
		return s
	}
	return "PAC_BUFFER_" + strconv.FormatUint(uint64(t), 10)
}

// FileTime is a Windows FILETIME: 100-nanosecond intervals since
// 1601-01-01 UTC. 0 means "not set" and Never (0x7fffffffffffffff) means
// "never" in the KERB_VALIDATION_INFO times.
type FileTime uint64

// Never is the FILETIME for "never" (no logoff, no forced kick-off, the
// password never has to change).
const Never FileTime = 0x7fffffffffffffff

// filetimeEpochDelta is the number of 100 ns intervals between 1601-01-01
// and 1970-01-01.
const filetimeEpochDelta = 116444736000000000

// NewFileTime converts t; the zero time gives 0 ("not set"). Times before
// 1601 clamp to 0 and times past the FILETIME range to Never.
func NewFileTime(t time.Time) FileTime {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	const maxSec = (int64(Never) - filetimeEpochDelta) / 1e7
	switch {
	case sec < -filetimeEpochDelta/1e7:
		return 0
	case sec >= maxSec:
		return Never
	}
	return FileTime(sec*1e7 + int64(t.Nanosecond()/100) + filetimeEpochDelta)
}

// Time returns the time in UTC; 0 gives the zero time. Never gives a
// time in the year 30828, which compares after any real time.
func (f FileTime) Time() time.Time {
	if f == 0 {
		return time.Time{}
	}
	v := int64(f) - filetimeEpochDelta
	return time.Unix(v/1e7, (v%1e7)*100).UTC()
}

// IsNever reports whether f is the "never" value.
func (f FileTime) IsNever() bool { return f == Never }

// UserFlags are the KERB_VALIDATION_INFO UserFlags bits (MS-PAC 2.5,
// pac.md §8.2). Only ExtraSIDs and ResourceGroups matter for Kerberos.
type UserFlags uint32

// UserFlags bits.
const (
	UserFlagGuest          UserFlags = 0x01
	UserFlagNoEncryption   UserFlags = 0x02
	UserFlagLMKey          UserFlags = 0x08
	UserFlagExtraSIDs      UserFlags = 0x20 // LOGON_EXTRA_SIDS: ExtraSids is meaningful
	UserFlagSubAuthKey     UserFlags = 0x40
	UserFlagMachineAccount UserFlags = 0x80
	UserFlagNTLMv2DC       UserFlags = 0x100
	UserFlagResourceGroups UserFlags = 0x200 // LOGON_RESOURCE_GROUPS
	UserFlagProfilePath    UserFlags = 0x400
	UserFlagNTLMv2         UserFlags = 0x800
	UserFlagLMv2           UserFlags = 0x1000
	UserFlagNTLMv2LMv2     UserFlags = 0x2000
)

// UserAccountControl holds the SAM USER_* account control bits
// (MS-SAMR 2.2.1.12) that KERB_VALIDATION_INFO carries. They are not the
// Active Directory userAccountControl (UF_*) bits.
type UserAccountControl uint32

// SAM USER_* bits.
const (
	UserAccountDisabled               UserAccountControl = 0x1
	UserHomeDirectoryRequired         UserAccountControl = 0x2
	UserPasswordNotRequired           UserAccountControl = 0x4
	UserTempDuplicateAccount          UserAccountControl = 0x8
	UserNormalAccount                 UserAccountControl = 0x10
	UserMNSLogonAccount               UserAccountControl = 0x20
	UserInterdomainTrustAccount       UserAccountControl = 0x40
	UserWorkstationTrustAccount       UserAccountControl = 0x80
	UserServerTrustAccount            UserAccountControl = 0x100
	UserDontExpirePassword            UserAccountControl = 0x200
	UserAccountAutoLocked             UserAccountControl = 0x400
	UserEncryptedTextPasswordAllowed  UserAccountControl = 0x800
	UserSmartcardRequired             UserAccountControl = 0x1000
	UserTrustedForDelegation          UserAccountControl = 0x2000
	UserNotDelegated                  UserAccountControl = 0x4000
	UserUseDESKeyOnly                 UserAccountControl = 0x8000
	UserDontRequirePreauth            UserAccountControl = 0x10000
	UserPasswordExpired               UserAccountControl = 0x20000
	UserTrustedToAuthenticateForDeleg UserAccountControl = 0x40000
	UserNoAuthDataRequired            UserAccountControl = 0x80000
	UserPartialSecretsAccount         UserAccountControl = 0x100000
	UserUseAESKeys                    UserAccountControl = 0x200000
)

// Group attributes (SE_GROUP_*) of GROUP_MEMBERSHIP and
// KERB_SID_AND_ATTRIBUTES.
const (
	GroupMandatory        uint32 = 0x1
	GroupEnabledByDefault uint32 = 0x2
	GroupEnabled          uint32 = 0x4
	GroupOwner            uint32 = 0x8
	GroupResource         uint32 = 0x20000000

	// GroupDefault (0x7) is what Windows gives global groups and extra
	// SIDs: mandatory, enabled by default, enabled.
	GroupDefault = GroupMandatory | GroupEnabledByDefault | GroupEnabled
	// GroupDefaultResource (0x20000007) is what Windows gives
	// domain-local (resource) groups.
	GroupDefaultResource = GroupDefault | GroupResource
)

// Well-known RIDs for PrimaryGroupId.
const (
	RIDDomainUsers       uint32 = 513
	RIDDomainComputers   uint32 = 515
	RIDDomainControllers uint32 = 516
	RIDProtectedUsers    uint32 = 525
)
