package pac

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Buffer is a PAC buffer this package does not interpret, kept as its
// bytes so that it survives a decode and re-encode unchanged.
type Buffer struct {
	Type BufferType
	Data []byte
}

// BufferInfo is one PAC_INFO_BUFFER: where a buffer sits in the encoded
// PAC. Size is the unpadded length (cbBufferSize).
type BufferInfo struct {
	Type   BufferType
	Offset int
	Size   int
}

// PAC is a decoded or to-be-encoded PACTYPE. A nil field is an absent
// buffer. Encode writes the buffers in the order Windows uses (logon
// info, client info, UPN/DNS, claims, device, attributes, requestor,
// other buffers, then the signatures); Decode accepts any order.
//
// Raw and Layout are the encoded PAC and its buffer table as decoded or
// as produced by Sign; the Verify methods check signatures over Raw, so
// changing the typed fields after decoding does not change what is
// verified. Encode and Sign ignore them.
type PAC struct {
	LogonInfo  *LogonInfo
	ClientInfo *ClientInfo
	UPNDNSInfo *UPNDNSInfo
	// ClientClaims and DeviceClaims are the buffers' NDR bytes (a
	// serialized CLAIMS_SET_METADATA; see DecodeClaims). nil means
	// absent; an empty non-nil slice is the zero-length buffer Windows
	// sends when an account has no claims.
	ClientClaims []byte
	DeviceInfo   *DeviceInfo
	DeviceClaims []byte
	Attributes   *AttributesInfo
	Requestor    *SID

	ServerSignature *SignatureData
	KDCSignature    *SignatureData
	TicketSignature *SignatureData
	FullSignature   *SignatureData

	// Other holds buffers of other types (credential info, S4U
	// delegation info, requestor GUID, future types) in PAC order.
	Other []Buffer

	Raw    []byte
	Layout []BufferInfo
}

const (
	pacHeaderLen  = 8
	infoBufferLen = 16
	pacAlign      = 8
	// maxBuffers bounds cBuffers when encoding; decoding bounds it by
	// the input length.
	maxBuffers = 1 << 12
)

// Decode parses a PACTYPE and every buffer it interprets. The buffer
// table must be sound: version 0, every buffer 8-byte aligned, after the
// table, inside the PAC and not overlapping another; a second buffer of
// an interpreted type is rejected (an attacker's extra copy must not be
// able to shadow the signed one). Buffers of other types are kept in
// Other.
func Decode(b []byte) (*PAC, error) {
	if len(b) < pacHeaderLen {
		return nil, malformedf(0, 0, fmt.Sprintf("PAC is %d bytes, need at least %d", len(b), pacHeaderLen), nil)
	}
	n := binary.LittleEndian.Uint32(b)
	if v := binary.LittleEndian.Uint32(b[4:]); v != 0 {
		return nil, malformedf(0, 4, fmt.Sprintf("PAC version %d, want 0", v), nil)
	}
	if uint64(n) > uint64(len(b)-pacHeaderLen)/infoBufferLen {
		return nil, malformedf(0, 0, fmt.Sprintf("PAC claims %d buffers but %d bytes hold at most %d buffer descriptors", n, len(b), (len(b)-pacHeaderLen)/infoBufferLen), nil)
	}
	if n == 0 {
		return nil, malformedf(0, 0, "PAC has no buffers", nil)
	}
	dataStart := pacHeaderLen + infoBufferLen*int(n)
	p := &PAC{Raw: append([]byte(nil), b...), Layout: make([]BufferInfo, n)}
	for i := range p.Layout {
		at := pacHeaderLen + infoBufferLen*i
		t := BufferType(binary.LittleEndian.Uint32(p.Raw[at:]))
		size := binary.LittleEndian.Uint32(p.Raw[at+4:])
		off := binary.LittleEndian.Uint64(p.Raw[at+8:])
		switch {
		case off%pacAlign != 0:
			return nil, malformedf(t, at+8, fmt.Sprintf("%v buffer offset %d is not a multiple of 8", t, off), nil)
		case off < uint64(dataStart):
			return nil, malformedf(t, at+8, fmt.Sprintf("%v buffer offset %d lies inside the %d-byte buffer table", t, off, dataStart), nil)
		case off+uint64(size) > uint64(len(b)):
			return nil, malformedf(t, at+4, fmt.Sprintf("%v buffer (offset %d, size %d) extends past the end of the %d-byte PAC", t, off, size, len(b)), nil)
		}
		p.Layout[i] = BufferInfo{Type: t, Offset: int(off), Size: int(size)}
	}
	if err := checkOverlap(p.Layout); err != nil {
		return nil, err
	}
	seen := make(map[BufferType]bool, n)
	for _, bi := range p.Layout {
		data := p.Raw[bi.Offset : bi.Offset+bi.Size : bi.Offset+bi.Size]
		if err := p.decodeBuffer(bi, data, seen); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkOverlap rejects buffers that share bytes. Zero-length buffers
// cover nothing and cannot overlap.
func checkOverlap(l []BufferInfo) error {
	idx := make([]int, 0, len(l))
	for i, bi := range l {
		if bi.Size > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return l[a].Offset - l[b].Offset })
	for k := 1; k < len(idx); k++ {
		prev, cur := l[idx[k-1]], l[idx[k]]
		if prev.Offset+prev.Size > cur.Offset {
			return malformedf(cur.Type, cur.Offset, fmt.Sprintf("%v buffer (offset %d, size %d) overlaps %v buffer (offset %d)",
				prev.Type, prev.Offset, prev.Size, cur.Type, cur.Offset), nil)
		}
	}
	return nil
}

// interpreted reports whether the PAC struct has a field for type t.
func interpreted(t BufferType) bool {
	switch t {
	case TypeLogonInfo, TypeClientInfo, TypeUPNDNSInfo, TypeClientClaims, TypeDeviceInfo, TypeDeviceClaims,
		TypeAttributesInfo, TypeRequestor, TypeServerChecksum, TypeKDCChecksum, TypeTicketChecksum, TypeFullChecksum:
		return true
	}
	return false
}

// decodeBuffer decodes one buffer into p, turning offsets in buffer
// errors into offsets in the PAC.
func (p *PAC) decodeBuffer(bi BufferInfo, data []byte, seen map[BufferType]bool) error {
	t := bi.Type
	if interpreted(t) {
		if seen[t] {
			return malformedf(t, bi.Offset, fmt.Sprintf("PAC holds more than one %v buffer", t), nil)
		}
		seen[t] = true
	}
	var err error
	switch t {
	case TypeLogonInfo:
		p.LogonInfo = new(LogonInfo)
		err = p.LogonInfo.Unmarshal(data)
	case TypeClientInfo:
		p.ClientInfo = new(ClientInfo)
		err = p.ClientInfo.Unmarshal(data)
	case TypeUPNDNSInfo:
		p.UPNDNSInfo = new(UPNDNSInfo)
		err = p.UPNDNSInfo.Unmarshal(data)
	case TypeClientClaims:
		p.ClientClaims = append([]byte{}, data...)
	case TypeDeviceInfo:
		p.DeviceInfo = new(DeviceInfo)
		err = p.DeviceInfo.Unmarshal(data)
	case TypeDeviceClaims:
		p.DeviceClaims = append([]byte{}, data...)
	case TypeAttributesInfo:
		p.Attributes = new(AttributesInfo)
		err = p.Attributes.Unmarshal(data)
	case TypeRequestor:
		var s SID
		if e := s.UnmarshalBinary(data); e != nil {
			err = malformedf(t, 0, "PAC_REQUESTOR is not a SID", e)
		}
		p.Requestor = &s
	case TypeServerChecksum:
		p.ServerSignature, err = unmarshalSignature(t, data)
	case TypeKDCChecksum:
		p.KDCSignature, err = unmarshalSignature(t, data)
	case TypeTicketChecksum:
		p.TicketSignature, err = unmarshalSignature(t, data)
	case TypeFullChecksum:
		p.FullSignature, err = unmarshalSignature(t, data)
	default:
		p.Other = append(p.Other, Buffer{Type: t, Data: append([]byte{}, data...)})
	}
	if e, ok := err.(*Error); ok {
		e.Reason = fmt.Sprintf("%s (in the %v buffer at PAC offset %d)", e.Reason, t, bi.Offset)
		if e.Offset >= 0 {
			e.Offset += bi.Offset
		}
		return e
	}
	return err
}

// Encode returns the PACTYPE with every present buffer, signatures as
// they are in the struct (Sign fills them in). It does not change p.
func (p *PAC) Encode() ([]byte, error) {
	b, _, err := p.encode()
	return b, err
}

func (p *PAC) buffers() ([]Buffer, error) {
	var out []Buffer
	add := func(t BufferType, m interface{ Marshal() ([]byte, error) }) error {
		b, err := m.Marshal()
		if err != nil {
			return err
		}
		out = append(out, Buffer{Type: t, Data: b})
		return nil
	}
	type entry struct {
		t       BufferType
		present bool
		m       interface{ Marshal() ([]byte, error) }
	}
	for _, e := range []entry{
		{TypeLogonInfo, p.LogonInfo != nil, p.LogonInfo},
		{TypeClientInfo, p.ClientInfo != nil, p.ClientInfo},
		{TypeUPNDNSInfo, p.UPNDNSInfo != nil, p.UPNDNSInfo},
		{TypeClientClaims, p.ClientClaims != nil, rawBuffer(p.ClientClaims)},
		{TypeDeviceInfo, p.DeviceInfo != nil, p.DeviceInfo},
		{TypeDeviceClaims, p.DeviceClaims != nil, rawBuffer(p.DeviceClaims)},
		{TypeAttributesInfo, p.Attributes != nil, p.Attributes},
		{TypeRequestor, p.Requestor != nil, sidBuffer{p.Requestor}},
	} {
		if e.present {
			if err := add(e.t, e.m); err != nil {
				return nil, err
			}
		}
	}
	for _, o := range p.Other {
		if interpreted(o.Type) {
			return nil, &Error{Kind: KindUnsupported, Buffer: o.Type, Offset: -1,
				Reason: fmt.Sprintf("PAC.Other holds a %v buffer; set the typed field instead", o.Type)}
		}
		out = append(out, Buffer{Type: o.Type, Data: o.Data})
	}
	for _, e := range []struct {
		t BufferType
		s *SignatureData
	}{
		{TypeServerChecksum, p.ServerSignature},
		{TypeKDCChecksum, p.KDCSignature},
		{TypeTicketChecksum, p.TicketSignature},
		{TypeFullChecksum, p.FullSignature},
	} {
		if e.s != nil {
			if err := add(e.t, e.s); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

type rawBuffer []byte

func (r rawBuffer) Marshal() ([]byte, error) { return r, nil }

type sidBuffer struct{ s *SID }

func (s sidBuffer) Marshal() ([]byte, error) { return s.s.MarshalBinary() }

func align8(n int) int { return (n + pacAlign - 1) &^ (pacAlign - 1) }

// encode lays the buffers out: the table, then each buffer at the next
// 8-byte boundary, zero padding between buffers and after the last.
func (p *PAC) encode() ([]byte, []BufferInfo, error) {
	bufs, err := p.buffers()
	if err != nil {
		return nil, nil, err
	}
	if len(bufs) == 0 {
		return nil, nil, &Error{Kind: KindUnsupported, Offset: -1, Reason: "PAC has no buffers to encode"}
	}
	if len(bufs) > maxBuffers {
		return nil, nil, &Error{Kind: KindUnsupported, Offset: -1, Reason: fmt.Sprintf("PAC has %d buffers, more than %d", len(bufs), maxBuffers)}
	}
	if last := bufs[len(bufs)-1]; len(last.Data) == 0 {
		// MS-KILE 3.3.5.6.4: a PAC must not end with an empty buffer.
		return nil, nil, &Error{Kind: KindUnsupported, Buffer: last.Type, Offset: -1,
			Reason: fmt.Sprintf("PAC would end with an empty %v buffer", last.Type)}
	}
	off := align8(pacHeaderLen + infoBufferLen*len(bufs))
	layout := make([]BufferInfo, len(bufs))
	for i, bf := range bufs {
		if len(bf.Data) > math.MaxUint32 {
			return nil, nil, &Error{Kind: KindUnsupported, Buffer: bf.Type, Offset: -1, Reason: fmt.Sprintf("%v buffer exceeds 4 GiB", bf.Type)}
		}
		layout[i] = BufferInfo{Type: bf.Type, Offset: off, Size: len(bf.Data)}
		off = align8(off + len(bf.Data))
	}
	b := make([]byte, off)
	binary.LittleEndian.PutUint32(b, uint32(len(bufs)))
	for i, bi := range layout {
		at := pacHeaderLen + infoBufferLen*i
		binary.LittleEndian.PutUint32(b[at:], uint32(bi.Type))
		binary.LittleEndian.PutUint32(b[at+4:], uint32(bi.Size))
		binary.LittleEndian.PutUint64(b[at+8:], uint64(bi.Offset))
		copy(b[bi.Offset:], bufs[i].Data)
	}
	return b, layout, nil
}

// find returns the layout entry of buffer type t, if it lies within Raw
// (Raw and Layout are exported, so they are checked, not trusted).
func (p *PAC) find(t BufferType) (BufferInfo, bool) {
	for _, bi := range p.Layout {
		if bi.Type == t {
			ok := bi.Offset >= 0 && bi.Size >= 0 && bi.Offset <= len(p.Raw) && bi.Size <= len(p.Raw)-bi.Offset
			return bi, ok
		}
	}
	return BufferInfo{}, false
}
