package pac

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/warden-auth/warden/internal/ndr"
)

// MaxSubAuthorities is the most sub-authorities a SID may have (MS-DTYP
// 2.4.2).
const MaxSubAuthorities = 15

// SID is a Windows security identifier (MS-DTYP 2.4.2), revision 1. It is
// a comparable value, so SIDs can be compared with == and used as map
// keys; the zero value (IsZero) stands for "absent" (a NULL PISID) and
// differs from every real SID, S-1-0 included.
type SID struct {
	set       bool // false only for the zero value
	n         uint8
	authority uint64 // 48 bits
	sub       [MaxSubAuthorities]uint32
}

// NewSID builds a SID from its identifier authority (at most 48 bits) and
// sub-authorities.
func NewSID(authority uint64, subs ...uint32) (SID, error) {
	if authority >= 1<<48 {
		return SID{}, fmt.Errorf("pac: SID identifier authority %d exceeds 48 bits", authority)
	}
	if len(subs) > MaxSubAuthorities {
		return SID{}, fmt.Errorf("pac: SID has %d sub-authorities, at most %d allowed", len(subs), MaxSubAuthorities)
	}
	s := SID{set: true, authority: authority, n: uint8(len(subs))}
	copy(s.sub[:], subs)
	return s, nil
}

// MustParseSID is ParseSID that panics on error, for constants and tests.
func MustParseSID(s string) SID {
	sid, err := ParseSID(s)
	if err != nil {
		panic(err)
	}
	return sid
}

// ParseSID parses the string form "S-1-5-21-1-2-3-1104" (MS-DTYP 2.4.2.1).
// The authority may also be written in hex ("S-1-0x123456789ABC-…"), as
// String does for authorities of 2^32 and above.
func ParseSID(s string) (SID, error) {
	bad := func(why string) (SID, error) {
		return SID{}, fmt.Errorf("pac: invalid SID %q: %s", s, why)
	}
	parts := strings.Split(s, "-")
	if len(parts) < 3 || !strings.EqualFold(parts[0], "S") {
		return bad(`want "S-1-<authority>[-<sub-authority>...]"`)
	}
	if parts[1] != "1" {
		return bad("revision must be 1")
	}
	var auth uint64
	var err error
	if a := parts[2]; len(a) > 2 && (a[:2] == "0x" || a[:2] == "0X") {
		auth, err = strconv.ParseUint(a[2:], 16, 64)
	} else {
		auth, err = strconv.ParseUint(a, 10, 64)
	}
	if err != nil || auth >= 1<<48 {
		return bad("identifier authority is not a 48-bit number")
	}
	subs := parts[3:]
	if len(subs) > MaxSubAuthorities {
		return bad(fmt.Sprintf("more than %d sub-authorities", MaxSubAuthorities))
	}
	sid := SID{set: true, authority: auth, n: uint8(len(subs))}
	for i, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return bad(fmt.Sprintf("sub-authority %q is not a 32-bit number", p))
		}
		sid.sub[i] = uint32(v)
	}
	return sid, nil
}

// String returns the "S-1-…" form; the zero SID gives "".
func (s SID) String() string {
	if s.IsZero() {
		return ""
	}
	b := make([]byte, 0, 16+11*int(s.n))
	b = append(b, "S-1-"...)
	if s.authority < 1<<32 {
		b = strconv.AppendUint(b, s.authority, 10)
	} else {
		b = append(b, fmt.Sprintf("0x%012X", s.authority)...)
	}
	for _, v := range s.sub[:s.n] {
		b = append(b, '-')
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return string(b)
}

// IsZero reports whether s is the zero SID, which encodes as NULL.
func (s SID) IsZero() bool { return !s.set }

// Authority returns the 48-bit identifier authority (5 for NT AUTHORITY).
func (s SID) Authority() uint64 { return s.authority }

// SubAuthorities returns a copy of the sub-authorities.
func (s SID) SubAuthorities() []uint32 { return append([]uint32(nil), s.sub[:s.n]...) }

// RID returns the last sub-authority (the relative ID of an account SID),
// or 0 when there is none.
func (s SID) RID() uint32 {
	if s.n == 0 {
		return 0
	}
	return s.sub[s.n-1]
}

// AppendRID returns s with rid appended: the SID of an account or group
// rid in the domain s. It fails only when s already has 15
// sub-authorities.
func (s SID) AppendRID(rid uint32) (SID, error) {
	if !s.set {
		return SID{}, fmt.Errorf("pac: cannot append RID %d to the zero SID", rid)
	}
	if s.n >= MaxSubAuthorities {
		return SID{}, fmt.Errorf("pac: cannot append RID %d to %v: it already has %d sub-authorities", rid, s, MaxSubAuthorities)
	}
	s.sub[s.n] = rid
	s.n++
	return s, nil
}

// Domain returns s without its last sub-authority (the domain SID of an
// account SID) and that RID.
func (s SID) Domain() (SID, uint32) {
	if !s.set || s.n == 0 {
		return s, 0
	}
	rid := s.sub[s.n-1]
	s.sub[s.n-1] = 0
	s.n--
	return s, rid
}

// InDomain reports whether s is domain plus exactly one RID.
func (s SID) InDomain(domain SID) bool {
	d, _ := s.Domain()
	return s.set && s.n > 0 && d == domain
}

// Len returns the length of the binary form: 8 + 4 per sub-authority.
func (s SID) Len() int { return 8 + 4*int(s.n) }

// AppendBinary appends the binary form (MS-DTYP 2.4.2.2), the form used by
// UPN_DNS_INFO, PAC_REQUESTOR and objectSid. The zero SID has none.
func (s SID) AppendBinary(b []byte) ([]byte, error) {
	if !s.set {
		return b, fmt.Errorf("pac: the zero SID has no binary form")
	}
	b = append(b, 1, s.n)
	var a [8]byte
	binary.BigEndian.PutUint64(a[:], s.authority)
	b = append(b, a[2:]...)
	for _, v := range s.sub[:s.n] {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b, nil
}

// MarshalBinary returns the binary form (MS-DTYP 2.4.2.2).
func (s SID) MarshalBinary() ([]byte, error) { return s.AppendBinary(make([]byte, 0, s.Len())) }

// UnmarshalBinary decodes the binary form; b must hold exactly one SID.
func (s *SID) UnmarshalBinary(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("pac: binary SID is %d bytes, need at least 8", len(b))
	}
	if b[0] != 1 {
		return fmt.Errorf("pac: binary SID revision %d, want 1", b[0])
	}
	n := int(b[1])
	if n > MaxSubAuthorities {
		return fmt.Errorf("pac: binary SID has %d sub-authorities, at most %d allowed", n, MaxSubAuthorities)
	}
	if len(b) != 8+4*n {
		return fmt.Errorf("pac: binary SID with %d sub-authorities must be %d bytes, got %d", n, 8+4*n, len(b))
	}
	var a [8]byte
	copy(a[2:], b[2:8])
	*s = SID{set: true, authority: binary.BigEndian.Uint64(a[:]), n: uint8(n)}
	for i := range n {
		s.sub[i] = binary.LittleEndian.Uint32(b[8+4*i:])
	}
	return nil
}

// MarshalText returns String(), so SIDs print naturally in JSON and logs.
func (s SID) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the string form; "" gives the zero SID.
func (s *SID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = SID{}
		return nil
	}
	v, err := ParseSID(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

func (s SID) toNDR() ndr.SID {
	var w ndr.SID
	w.Revision = 1
	var a [8]byte
	binary.BigEndian.PutUint64(a[:], s.authority)
	copy(w.IdentifierAuthority[:], a[2:])
	w.SubAuthority = s.sub[:s.n:s.n]
	return w
}

func sidFromNDR(w ndr.SID) SID {
	var a [8]byte
	copy(a[2:], w.IdentifierAuthority[:])
	s := SID{set: true, authority: binary.BigEndian.Uint64(a[:]), n: uint8(len(w.SubAuthority))}
	copy(s.sub[:], w.SubAuthority)
	return s
}

// Well-known SIDs that appear in PACs (MS-DTYP 2.4.2.4, pac.md §8.4).
var (
	// SIDAuthenticationAuthorityAsserted is S-1-18-1, which the KDC adds
	// to ExtraSids for an ordinary (not S4U) authentication.
	SIDAuthenticationAuthorityAsserted = SID{set: true, authority: 18, n: 1, sub: [15]uint32{1}}
	// SIDServiceAsserted is S-1-18-2, added for S4U2self.
	SIDServiceAsserted = SID{set: true, authority: 18, n: 1, sub: [15]uint32{2}}
	// SIDCompoundedAuthentication is S-1-5-21-0-0-0-496.
	SIDCompoundedAuthentication = SID{set: true, authority: 5, n: 5, sub: [15]uint32{21, 0, 0, 0, 496}}
	// SIDClaimsValid is S-1-5-21-0-0-0-497.
	SIDClaimsValid = SID{set: true, authority: 5, n: 5, sub: [15]uint32{21, 0, 0, 0, 497}}
)
