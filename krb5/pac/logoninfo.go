package pac

import (
	"errors"
	"fmt"

	"github.com/warden-auth/warden/internal/ndr"
)

// GroupMembership is a GROUP_MEMBERSHIP: a group RID in some domain (the
// logon domain for GroupIds, ResourceGroupDomainSid for ResourceGroupIds)
// and its SE_GROUP_* attributes.
type GroupMembership struct {
	RID        uint32
	Attributes uint32
}

// SIDAndAttributes is a KERB_SID_AND_ATTRIBUTES: a full SID with its
// SE_GROUP_* attributes.
type SIDAndAttributes struct {
	SID        SID
	Attributes uint32
}

// LogonInfo is KERB_VALIDATION_INFO (buffer type 1, MS-PAC 2.5): the
// user's identity and group memberships. pac.md §4 gives the wire layout
// and the values MS-KILE 3.3.5.6.4.1 asks a KDC to put in each field.
//
// The user's SID is LogonDomainID + UserID; group SIDs are LogonDomainID
// + each GroupIDs RID, each ExtraSIDs SID, and ResourceGroupDomainSID +
// each ResourceGroupIDs RID (see (*LogonInfo).GroupSIDs).
type LogonInfo struct {
	LogonTime          FileTime
	LogoffTime         FileTime // Never unless logon hours or expiry end the session
	KickOffTime        FileTime
	PasswordLastSet    FileTime
	PasswordCanChange  FileTime
	PasswordMustChange FileTime

	EffectiveName      string // sAMAccountName
	FullName           string
	LogonScript        string
	ProfilePath        string
	HomeDirectory      string
	HomeDirectoryDrive string

	LogonCount       uint16
	BadPasswordCount uint16
	UserID           uint32 // user RID
	PrimaryGroupID   uint32 // e.g. 513 Domain Users
	GroupIDs         []GroupMembership

	// UserFlags: Marshal sets UserFlagExtraSIDs when ExtraSIDs is not
	// empty and UserFlagResourceGroups when there are resource groups,
	// because Windows ignores those arrays without the flags.
	UserFlags      UserFlags
	UserSessionKey [16]byte // zero for Kerberos

	LogonServer     string // NetBIOS name of the KDC
	LogonDomainName string // NetBIOS name of the domain
	LogonDomainID   SID    // zero SID: NULL

	Reserved1            [2]uint32
	UserAccountControl   UserAccountControl
	SubAuthStatus        uint32
	LastSuccessfulILogon FileTime
	LastFailedILogon     FileTime
	FailedILogonCount    uint32
	Reserved3            uint32

	ExtraSIDs              []SIDAndAttributes
	ResourceGroupDomainSID SID // zero SID: NULL
	ResourceGroupIDs       []GroupMembership
}

// UserSID returns LogonDomainID + UserID or, when UserID is 0, the first
// ExtraSIDs entry (MS-PAC 2.5); the zero SID if neither exists.
func (li *LogonInfo) UserSID() SID {
	if li.UserID == 0 {
		if len(li.ExtraSIDs) > 0 {
			return li.ExtraSIDs[0].SID
		}
		return SID{}
	}
	s, err := li.LogonDomainID.AppendRID(li.UserID) // fails for a NULL LogonDomainId
	if err != nil {
		return SID{}
	}
	return s
}

// GroupSIDs returns every group SID the PAC grants, in the order MS-PAC
// 2.5 lists them: the primary group, GroupIDs, ExtraSIDs (when the
// LOGON_EXTRA_SIDS flag is set) and resource groups (when
// LOGON_RESOURCE_GROUPS is set). Duplicates are kept.
func (li *LogonInfo) GroupSIDs() []SIDAndAttributes {
	out := make([]SIDAndAttributes, 0, 1+len(li.GroupIDs)+len(li.ExtraSIDs)+len(li.ResourceGroupIDs))
	add := func(dom SID, g GroupMembership) { out = appendGroupSID(out, dom, g) }
	if li.PrimaryGroupID != 0 {
		add(li.LogonDomainID, GroupMembership{RID: li.PrimaryGroupID, Attributes: GroupDefault})
	}
	for _, g := range li.GroupIDs {
		add(li.LogonDomainID, g)
	}
	if li.UserFlags&UserFlagExtraSIDs != 0 {
		for i, x := range li.ExtraSIDs {
			if i == 0 && li.UserID == 0 {
				continue // the user's own SID
			}
			out = append(out, x)
		}
	}
	if li.UserFlags&UserFlagResourceGroups != 0 {
		for _, g := range li.ResourceGroupIDs {
			add(li.ResourceGroupDomainSID, g)
		}
	}
	return out
}

// appendGroupSID appends the SID of group g of domain dom; a NULL domain
// gives none.
func appendGroupSID(out []SIDAndAttributes, dom SID, g GroupMembership) []SIDAndAttributes {
	if s, err := dom.AppendRID(g.RID); err == nil {
		out = append(out, SIDAndAttributes{SID: s, Attributes: g.Attributes})
	}
	return out
}

// Marshal returns the buffer: a serialization stream holding a pointer
// to the KERB_VALIDATION_INFO.
func (li *LogonInfo) Marshal() ([]byte, error) {
	flags := li.UserFlags
	if len(li.ExtraSIDs) > 0 {
		flags |= UserFlagExtraSIDs
	}
	if len(li.ResourceGroupIDs) > 0 {
		flags |= UserFlagResourceGroups
	}
	hint := 512 + 8*len(li.GroupIDs) + 80*len(li.ExtraSIDs) + 8*len(li.ResourceGroupIDs)
	b, err := ndr.Marshal(hint, func(e *ndr.Encoder) {
		e.Pointer(func(e *ndr.Encoder) {
			e.FileTime(uint64(li.LogonTime))
			e.FileTime(uint64(li.LogoffTime))
			e.FileTime(uint64(li.KickOffTime))
			e.FileTime(uint64(li.PasswordLastSet))
			e.FileTime(uint64(li.PasswordCanChange))
			e.FileTime(uint64(li.PasswordMustChange))
			e.UnicodeString("EffectiveName", li.EffectiveName)
			e.UnicodeString("FullName", li.FullName)
			e.UnicodeString("LogonScript", li.LogonScript)
			e.UnicodeString("ProfilePath", li.ProfilePath)
			e.UnicodeString("HomeDirectory", li.HomeDirectory)
			e.UnicodeString("HomeDirectoryDrive", li.HomeDirectoryDrive)
			e.Uint16(li.LogonCount)
			e.Uint16(li.BadPasswordCount)
			e.Uint32(li.UserID)
			e.Uint32(li.PrimaryGroupID)
			putGroups(e, "GroupIds", li.GroupIDs)
			e.Uint32(uint32(flags))
			e.Raw(li.UserSessionKey[:])
			// Windows leaves room for a NUL in these two (and only
			// these two); doing the same makes our encoding of a
			// Windows PAC byte-identical.
			e.UnicodeStringRoomForNUL("LogonServer", li.LogonServer)
			e.UnicodeStringRoomForNUL("LogonDomainName", li.LogonDomainName)
			putSIDPointer(e, "LogonDomainId", li.LogonDomainID)
			e.Uint32(li.Reserved1[0])
			e.Uint32(li.Reserved1[1])
			e.Uint32(uint32(li.UserAccountControl))
			e.Uint32(li.SubAuthStatus)
			e.FileTime(uint64(li.LastSuccessfulILogon))
			e.FileTime(uint64(li.LastFailedILogon))
			e.Uint32(li.FailedILogonCount)
			e.Uint32(li.Reserved3)
			putExtraSIDs(e, li.ExtraSIDs)
			putSIDPointer(e, "ResourceGroupDomainSid", li.ResourceGroupDomainSID)
			putGroups(e, "ResourceGroupIds", li.ResourceGroupIDs)
		})
	})
	if err != nil {
		return nil, &Error{Kind: KindUnsupported, Buffer: TypeLogonInfo, Offset: -1,
			Reason: "cannot encode KERB_VALIDATION_INFO", Err: err}
	}
	return b, nil
}

// Unmarshal decodes the buffer. Every count must agree with the array it
// sizes, and a non-zero count needs a non-NULL array.
func (li *LogonInfo) Unmarshal(b []byte) error {
	var v LogonInfo
	err := ndr.Unmarshal(b, "KERB_VALIDATION_INFO", func(d *ndr.Decoder) {
		topLevel(d, "KERB_VALIDATION_INFO", func(d *ndr.Decoder) {
			v.LogonTime = FileTime(d.FileTime())
			v.LogoffTime = FileTime(d.FileTime())
			v.KickOffTime = FileTime(d.FileTime())
			v.PasswordLastSet = FileTime(d.FileTime())
			v.PasswordCanChange = FileTime(d.FileTime())
			v.PasswordMustChange = FileTime(d.FileTime())
			d.UnicodeString("EffectiveName", &v.EffectiveName)
			d.UnicodeString("FullName", &v.FullName)
			d.UnicodeString("LogonScript", &v.LogonScript)
			d.UnicodeString("ProfilePath", &v.ProfilePath)
			d.UnicodeString("HomeDirectory", &v.HomeDirectory)
			d.UnicodeString("HomeDirectoryDrive", &v.HomeDirectoryDrive)
			d.Field("LogonCount")
			v.LogonCount = d.Uint16()
			v.BadPasswordCount = d.Uint16()
			v.UserID = d.Uint32()
			v.PrimaryGroupID = d.Uint32()
			getGroups(d, "GroupIds", &v.GroupIDs)
			d.Field("UserFlags")
			v.UserFlags = UserFlags(d.Uint32())
			d.Raw(v.UserSessionKey[:])
			d.UnicodeString("LogonServer", &v.LogonServer)
			d.UnicodeString("LogonDomainName", &v.LogonDomainName)
			getSIDPointer(d, "LogonDomainId", &v.LogonDomainID)
			d.Field("Reserved1")
			v.Reserved1[0] = d.Uint32()
			v.Reserved1[1] = d.Uint32()
			v.UserAccountControl = UserAccountControl(d.Uint32())
			v.SubAuthStatus = d.Uint32()
			v.LastSuccessfulILogon = FileTime(d.FileTime())
			v.LastFailedILogon = FileTime(d.FileTime())
			v.FailedILogonCount = d.Uint32()
			v.Reserved3 = d.Uint32()
			getExtraSIDs(d, &v.ExtraSIDs)
			getSIDPointer(d, "ResourceGroupDomainSid", &v.ResourceGroupDomainSID)
			getGroups(d, "ResourceGroupIds", &v.ResourceGroupIDs)
		})
	})
	if err != nil {
		return ndrError(TypeLogonInfo, "KERB_VALIDATION_INFO", err)
	}
	*li = v
	return nil
}

// topLevel reads the top-level unique pointer of a PAC NDR buffer and
// then, deferred, the structure f reads. A NULL top-level pointer leaves
// nothing to decode, which no writer produces.
func topLevel(d *ndr.Decoder, what string, f func(d *ndr.Decoder)) {
	if !d.Pointer(what, f) {
		d.Fail(what, "top-level pointer is NULL")
	}
}

// ndrError wraps a decoding error of buffer t. The NDR detail goes into
// the Reason (ndr is internal, so callers could not match its type).
func ndrError(t BufferType, what string, err error) *Error {
	var ne *ndr.Error
	if errors.As(err, &ne) {
		field := ""
		if ne.Field != "" && ne.Field != what {
			field = ne.Field + ": "
		}
		return malformedf(t, ne.Offset, fmt.Sprintf("malformed %s: %s%s (at byte %d of the buffer)", what, field, ne.Reason, ne.Offset), nil)
	}
	return malformedf(t, -1, "malformed "+what, err)
}

// putGroups writes a count and a pointer to GROUP_MEMBERSHIP[count].
func putGroups(e *ndr.Encoder, field string, g []GroupMembership) {
	ndr.PutArray(e, field, g, func(e *ndr.Encoder, g []GroupMembership) {
		for _, m := range g {
			e.Uint32(m.RID)
			e.Uint32(m.Attributes)
		}
	})
}

// getGroups reads a count and a pointer to GROUP_MEMBERSHIP[count].
func getGroups(d *ndr.Decoder, field string, dst *[]GroupMembership) {
	ndr.GetArray(d, field, 8, dst, func(d *ndr.Decoder, g []GroupMembership) {
		for i := range g {
			g[i].RID = d.Uint32()
			g[i].Attributes = d.Uint32()
		}
	})
}

func putSIDPointer(e *ndr.Encoder, field string, s SID) {
	if s.IsZero() {
		e.Pointer(nil)
		return
	}
	w := s.toNDR()
	e.Pointer(func(e *ndr.Encoder) { e.SID(field, w) })
}

func getSIDPointer(d *ndr.Decoder, field string, dst *SID) {
	d.Pointer(field, func(d *ndr.Decoder) {
		if w := d.SID(field); d.Err() == nil {
			*dst = sidFromNDR(w)
		}
	})
}

// putExtraSIDs writes the ExtraSids count and pointer to
// KERB_SID_AND_ATTRIBUTES[count] (of the logon and the device info).
func putExtraSIDs(e *ndr.Encoder, s []SIDAndAttributes) {
	ndr.PutArray(e, "ExtraSids", s, func(e *ndr.Encoder, s []SIDAndAttributes) {
		for _, x := range s {
			putSIDPointer(e, "ExtraSids.Sid", x.SID)
			e.Uint32(x.Attributes)
		}
	})
}

// getExtraSIDs reads what putExtraSIDs writes; each SID follows the
// array.
func getExtraSIDs(d *ndr.Decoder, dst *[]SIDAndAttributes) {
	ndr.GetArray(d, "ExtraSids", 8, dst, func(d *ndr.Decoder, s []SIDAndAttributes) {
		for i := range s {
			getSIDPointer(d, "ExtraSids.Sid", &s[i].SID) // filled in as the pointee is read
			s[i].Attributes = d.Uint32()
		}
	})
}

// DomainGroupMembership is a DOMAIN_GROUP_MEMBERSHIP: groups of one
// (other) domain, by RID.
type DomainGroupMembership struct {
	DomainID SID
	GroupIDs []GroupMembership
}

// DeviceInfo is PAC_DEVICE_INFO (buffer type 14, MS-PAC 2.12): the
// device's identity and groups, added to service tickets under compound
// identity (FAST armor with a computer TGT).
type DeviceInfo struct {
	UserID          uint32 // device (computer account) RID
	PrimaryGroupID  uint32 // e.g. 515 Domain Computers
	AccountDomainID SID
	AccountGroupIDs []GroupMembership
	ExtraSIDs       []SIDAndAttributes
	DomainGroups    []DomainGroupMembership
}

// DeviceSID returns AccountDomainID + UserID, the computer's SID; the
// zero SID when the domain is NULL.
func (di *DeviceInfo) DeviceSID() SID {
	s, err := di.AccountDomainID.AppendRID(di.UserID)
	if err != nil {
		return SID{}
	}
	return s
}

// GroupSIDs returns every group SID of the device (MS-PAC 2.12): the
// primary group, AccountGroupIds, ExtraSids and each DomainGroup's
// groups. Duplicates are kept.
func (di *DeviceInfo) GroupSIDs() []SIDAndAttributes {
	out := make([]SIDAndAttributes, 0, 1+len(di.AccountGroupIDs)+len(di.ExtraSIDs))
	add := func(dom SID, g GroupMembership) { out = appendGroupSID(out, dom, g) }
	if di.PrimaryGroupID != 0 {
		add(di.AccountDomainID, GroupMembership{RID: di.PrimaryGroupID, Attributes: GroupDefault})
	}
	for _, g := range di.AccountGroupIDs {
		add(di.AccountDomainID, g)
	}
	out = append(out, di.ExtraSIDs...)
	for _, dg := range di.DomainGroups {
		for _, g := range dg.GroupIDs {
			add(dg.DomainID, g)
		}
	}
	return out
}

// Marshal returns the buffer: a serialization stream holding a pointer
// to the PAC_DEVICE_INFO.
func (di *DeviceInfo) Marshal() ([]byte, error) {
	b, err := ndr.Marshal(128+8*len(di.AccountGroupIDs)+80*len(di.ExtraSIDs)+64*len(di.DomainGroups), func(e *ndr.Encoder) {
		e.Pointer(func(e *ndr.Encoder) {
			e.Uint32(di.UserID)
			e.Uint32(di.PrimaryGroupID)
			putSIDPointer(e, "AccountDomainId", di.AccountDomainID)
			putGroups(e, "AccountGroupIds", di.AccountGroupIDs)
			putExtraSIDs(e, di.ExtraSIDs)
			ndr.PutArray(e, "DomainGroup", di.DomainGroups, func(e *ndr.Encoder, dg []DomainGroupMembership) {
				for _, g := range dg {
					putSIDPointer(e, "DomainGroup.DomainId", g.DomainID)
					putGroups(e, "DomainGroup.GroupIds", g.GroupIDs)
				}
			})
		})
	})
	if err != nil {
		return nil, &Error{Kind: KindUnsupported, Buffer: TypeDeviceInfo, Offset: -1,
			Reason: "cannot encode PAC_DEVICE_INFO", Err: err}
	}
	return b, nil
}

// Unmarshal decodes the buffer.
func (di *DeviceInfo) Unmarshal(b []byte) error {
	var v DeviceInfo
	err := ndr.Unmarshal(b, "PAC_DEVICE_INFO", func(d *ndr.Decoder) {
		topLevel(d, "PAC_DEVICE_INFO", func(d *ndr.Decoder) {
			d.Field("UserId")
			v.UserID = d.Uint32()
			v.PrimaryGroupID = d.Uint32()
			getSIDPointer(d, "AccountDomainId", &v.AccountDomainID)
			getGroups(d, "AccountGroupIds", &v.AccountGroupIDs)
			getExtraSIDs(d, &v.ExtraSIDs)
			ndr.GetArray(d, "DomainGroup", 12, &v.DomainGroups, func(d *ndr.Decoder, g []DomainGroupMembership) {
				for i := range g {
					getSIDPointer(d, "DomainGroup.DomainId", &g[i].DomainID)
					getGroups(d, "DomainGroup.GroupIds", &g[i].GroupIDs)
				}
			})
		})
	})
	if err != nil {
		return ndrError(TypeDeviceInfo, "PAC_DEVICE_INFO", err)
	}
	*di = v
	return nil
}
