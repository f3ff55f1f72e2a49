package pac

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf16"

	"github.com/warden-auth/warden/krb5"
)

// The buffers in this file are raw little-endian structures, not NDR.

// ClientInfo is PAC_CLIENT_INFO (buffer type 10, MS-PAC 2.7). It binds
// the PAC to its ticket: ClientID is the ticket's authtime and Name the
// client principal name without the realm.
type ClientInfo struct {
	ClientID FileTime
	Name     string
}

// Marshal returns the buffer.
func (ci *ClientInfo) Marshal() ([]byte, error) {
	u := utf16.Encode([]rune(ci.Name))
	if 2*len(u) > math.MaxUint16 {
		return nil, &Error{Kind: KindUnsupported, Buffer: TypeClientInfo, Offset: -1,
			Reason: fmt.Sprintf("PAC_CLIENT_INFO name of %d UTF-16 code units exceeds the 32767 a 16-bit byte length allows", len(u))}
	}
	b := make([]byte, 0, 10+2*len(u))
	b = binary.LittleEndian.AppendUint64(b, uint64(ci.ClientID))
	b = binary.LittleEndian.AppendUint16(b, uint16(2*len(u)))
	return appendUTF16(b, u), nil
}

// Unmarshal decodes the buffer. Bytes after the name are ignored, as MIT
// does.
func (ci *ClientInfo) Unmarshal(b []byte) error {
	if len(b) < 10 {
		return malformedf(TypeClientInfo, 0, fmt.Sprintf("PAC_CLIENT_INFO is %d bytes, need at least 10", len(b)), nil)
	}
	n := int(binary.LittleEndian.Uint16(b[8:]))
	if n%2 != 0 || 10+n > len(b) {
		return malformedf(TypeClientInfo, 8, fmt.Sprintf("PAC_CLIENT_INFO NameLength %d does not fit the %d bytes after the header (or is odd)", n, len(b)-10), nil)
	}
	*ci = ClientInfo{ClientID: FileTime(binary.LittleEndian.Uint64(b)), Name: decodeUTF16(b[10 : 10+n])}
	return nil
}

// UPNDNSFlags are the UPN_DNS_INFO Flags.
type UPNDNSFlags uint32

// UPN_DNS_INFO flags (MS-PAC 2.10).
const (
	// UPNConstructed (U): the account has no userPrincipalName; UPN was
	// built as sAMAccountName@dnsdomain.
	UPNConstructed UPNDNSFlags = 0x1
	// UPNExtended (S): the buffer also carries SamName and SID.
	UPNExtended UPNDNSFlags = 0x2
)

// UPNDNSInfo is UPN_DNS_INFO (buffer type 12, MS-PAC 2.10). With the
// UPNExtended flag it also carries the sAMAccountName and the user's SID
// (UPN_DNS_INFO_EX).
type UPNDNSInfo struct {
	UPN           string
	DNSDomainName string
	// Flags: Marshal adds UPNExtended when SamName or SID is set.
	Flags   UPNDNSFlags
	SamName string
	SID     SID
}

// Marshal returns the buffer. Like Windows, it puts each item at an
// 8-byte aligned offset after the header.
func (u *UPNDNSInfo) Marshal() ([]byte, error) {
	flags := u.Flags
	if u.SamName != "" || !u.SID.IsZero() {
		flags |= UPNExtended
	}
	hdr := 12
	if flags&UPNExtended != 0 {
		hdr = 20
	}
	b := make([]byte, hdr, 128)
	var fields [4][2]uint16 // length, offset
	items := [][]byte{utf16Bytes(u.UPN), utf16Bytes(u.DNSDomainName)}
	if flags&UPNExtended != 0 {
		var sid []byte // a zero SID is written as an empty item
		if !u.SID.IsZero() {
			sid, _ = u.SID.MarshalBinary()
		}
		items = append(items, utf16Bytes(u.SamName), sid)
	}
	for i, it := range items {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		if len(it) > math.MaxUint16 || len(b) > math.MaxUint16 {
			return nil, &Error{Kind: KindUnsupported, Buffer: TypeUPNDNSInfo, Offset: -1,
				Reason: "UPN_DNS_INFO exceeds the 64 KiB its 16-bit offsets address"}
		}
		fields[i] = [2]uint16{uint16(len(it)), uint16(len(b))}
		b = append(b, it...)
	}
	// Pad the end to 8 as well: Samba counts that padding in
	// cbBufferSize, and so does Windows.
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	if len(b) > math.MaxUint16+1 {
		return nil, &Error{Kind: KindUnsupported, Buffer: TypeUPNDNSInfo, Offset: -1,
			Reason: "UPN_DNS_INFO exceeds the 64 KiB its 16-bit offsets address"}
	}
	binary.LittleEndian.PutUint16(b[0:], fields[0][0])
	binary.LittleEndian.PutUint16(b[2:], fields[0][1])
	binary.LittleEndian.PutUint16(b[4:], fields[1][0])
	binary.LittleEndian.PutUint16(b[6:], fields[1][1])
	binary.LittleEndian.PutUint32(b[8:], uint32(flags))
	if flags&UPNExtended != 0 {
		binary.LittleEndian.PutUint16(b[12:], fields[2][0])
		binary.LittleEndian.PutUint16(b[14:], fields[2][1])
		binary.LittleEndian.PutUint16(b[16:], fields[3][0])
		binary.LittleEndian.PutUint16(b[18:], fields[3][1])
	}
	return b, nil
}

// Unmarshal decodes the buffer using only the offsets and lengths, as
// MS-PAC asks (item placement differs between writers).
func (u *UPNDNSInfo) Unmarshal(b []byte) error {
	if len(b) < 12 {
		return malformedf(TypeUPNDNSInfo, 0, fmt.Sprintf("UPN_DNS_INFO is %d bytes, need at least 12", len(b)), nil)
	}
	var v UPNDNSInfo
	v.Flags = UPNDNSFlags(binary.LittleEndian.Uint32(b[8:]))
	item := func(at int, name string, str bool) ([]byte, error) {
		n := int(binary.LittleEndian.Uint16(b[at:]))
		off := int(binary.LittleEndian.Uint16(b[at+2:]))
		if n == 0 {
			return nil, nil
		}
		if off+n > len(b) {
			return nil, malformedf(TypeUPNDNSInfo, at, fmt.Sprintf("UPN_DNS_INFO %s (offset %d, length %d) extends past the %d-byte buffer", name, off, n, len(b)), nil)
		}
		if str && n%2 != 0 {
			return nil, malformedf(TypeUPNDNSInfo, at, fmt.Sprintf("UPN_DNS_INFO %s has odd length %d", name, n), nil)
		}
		return b[off : off+n], nil
	}
	p, err := item(0, "Upn", true)
	if err != nil {
		return err
	}
	v.UPN = decodeUTF16(p)
	if p, err = item(4, "DnsDomainName", true); err != nil {
		return err
	}
	v.DNSDomainName = decodeUTF16(p)
	if v.Flags&UPNExtended != 0 {
		if len(b) < 20 {
			return malformedf(TypeUPNDNSInfo, 8, fmt.Sprintf("UPN_DNS_INFO has the extended flag but is %d bytes, need at least 20", len(b)), nil)
		}
		if p, err = item(12, "SamName", true); err != nil {
			return err
		}
		v.SamName = decodeUTF16(p)
		if p, err = item(16, "Sid", false); err != nil {
			return err
		}
		if p != nil {
			if err := v.SID.UnmarshalBinary(p); err != nil {
				return malformedf(TypeUPNDNSInfo, int(binary.LittleEndian.Uint16(b[18:])), "UPN_DNS_INFO Sid is malformed", err)
			}
		}
	}
	*u = v
	return nil
}

// Attributes bits of PAC_ATTRIBUTES_INFO (MS-PAC 2.14).
const (
	AttributePACWasRequested       uint32 = 0x1
	AttributePACWasGivenImplicitly uint32 = 0x2
)

const (
	attributesDefinedBits uint32 = 2
	// maxAttributeWords caps FlagsLength in Marshal, which would
	// otherwise allocate up to 512 MiB for a careless value.
	maxAttributeWords = 1024
)

// AttributesInfo is PAC_ATTRIBUTES_INFO (buffer type 17): whether the
// client asked for the PAC (PA-PAC-REQUEST) or got it by default.
type AttributesInfo struct {
	// FlagsLength is the number of meaningful bits; 0 encodes as 2, the
	// bits MS-PAC defines.
	FlagsLength uint32
	// Flags holds the first 32 bits; later words are written as zero
	// and ignored when read.
	Flags uint32
}

// Marshal returns the buffer.
func (a *AttributesInfo) Marshal() ([]byte, error) {
	n := a.FlagsLength
	if n == 0 {
		n = attributesDefinedBits
	}
	words := (uint64(n) + 31) / 32
	if words > maxAttributeWords {
		return nil, &Error{Kind: KindUnsupported, Buffer: TypeAttributesInfo, Offset: -1,
			Reason: fmt.Sprintf("PAC_ATTRIBUTES_INFO FlagsLength %d is unreasonably large", n)}
	}
	b := make([]byte, 4+4*words)
	binary.LittleEndian.PutUint32(b, n)
	binary.LittleEndian.PutUint32(b[4:], a.Flags)
	return b, nil
}

// Unmarshal decodes the buffer, which must hold exactly the words
// FlagsLength calls for.
func (a *AttributesInfo) Unmarshal(b []byte) error {
	if len(b) < 4 {
		return malformedf(TypeAttributesInfo, 0, fmt.Sprintf("PAC_ATTRIBUTES_INFO is %d bytes, need at least 4", len(b)), nil)
	}
	n := binary.LittleEndian.Uint32(b)
	words := (uint64(n) + 31) / 32
	if 4+4*words != uint64(len(b)) {
		return malformedf(TypeAttributesInfo, 0, fmt.Sprintf("PAC_ATTRIBUTES_INFO FlagsLength %d needs %d bytes, buffer is %d", n, 4+4*words, len(b)), nil)
	}
	*a = AttributesInfo{FlagsLength: n}
	if words > 0 {
		a.Flags = binary.LittleEndian.Uint32(b[4:])
	}
	return nil
}

// SignatureData is PAC_SIGNATURE_DATA (buffer types 6, 7, 16, 19; MS-PAC
// 2.8): a checksum type, the checksum, and, in PACs an RODC signed, the
// RODC's identifier.
type SignatureData struct {
	Type      krb5.ChecksumType
	Signature []byte
	// RODCIdentifier is present (HasRODCIdentifier) only when a
	// read-only DC signed: the high 16 bits of its krbtgt kvno.
	RODCIdentifier    uint16
	HasRODCIdentifier bool
}

// SignatureLen returns the checksum length a PAC signature of type t
// has, and whether t is known (pac.md §5.3).
func SignatureLen(t krb5.ChecksumType) (int, bool) {
	switch t {
	case krb5.CksumHMACMD5:
		return 16, true
	case krb5.CksumHMACSHA196AES128, krb5.CksumHMACSHA196AES256:
		return 12, true
	case krb5.CksumHMACSHA256128AES128:
		return 16, true
	case krb5.CksumHMACSHA384192AES256:
		return 24, true
	}
	return 0, false
}

// Marshal returns the buffer.
func (s *SignatureData) Marshal() ([]byte, error) {
	b := make([]byte, 0, 4+len(s.Signature)+2)
	b = binary.LittleEndian.AppendUint32(b, uint32(s.Type))
	b = append(b, s.Signature...)
	if s.HasRODCIdentifier {
		b = binary.LittleEndian.AppendUint16(b, s.RODCIdentifier)
	}
	return b, nil
}

// unmarshalSignature decodes buffer t. The signature length follows from
// the type; 2 more bytes are the RODC identifier. For a type this
// package does not know, the rest of the buffer is the signature.
func unmarshalSignature(t BufferType, b []byte) (*SignatureData, error) {
	if len(b) < 4 {
		return nil, malformedf(t, 0, fmt.Sprintf("%v is %d bytes, need at least 4", t, len(b)), nil)
	}
	s := &SignatureData{Type: krb5.ChecksumType(int32(binary.LittleEndian.Uint32(b)))}
	rest := b[4:]
	n, known := SignatureLen(s.Type)
	switch {
	case !known:
		n = len(rest)
	case len(rest) == n:
	case len(rest) == n+2:
		s.HasRODCIdentifier = true
		s.RODCIdentifier = binary.LittleEndian.Uint16(rest[n:])
	default:
		return nil, malformedf(t, 4, fmt.Sprintf("%v of type %v holds %d bytes, want %d (or %d with an RODC identifier)", t, s.Type, len(rest), n, n+2), nil)
	}
	s.Signature = append([]byte(nil), rest[:n]...)
	return s, nil
}

func utf16Bytes(s string) []byte { return appendUTF16(nil, utf16.Encode([]rune(s))) }

func appendUTF16(b []byte, u []uint16) []byte {
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// decodeUTF16 decodes UTF-16LE; len(b) is even (callers check).
func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
