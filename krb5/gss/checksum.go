package gss

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"hash"
)

// Flags are the GSS context flags as carried in the 0x8003 authenticator
// checksum (RFC 4121 4.1.1.1; the Windows additions of RFC 4757 7.1).
type Flags uint32

// Context flags.
const (
	FlagDeleg         Flags = 0x1
	FlagMutual        Flags = 0x2
	FlagReplay        Flags = 0x4
	FlagSequence      Flags = 0x8
	FlagConf          Flags = 0x10
	FlagInteg         Flags = 0x20
	FlagDCEStyle      Flags = 0x1000
	FlagIdentify      Flags = 0x2000
	FlagExtendedError Flags = 0x4000
)

// DefaultFlags are what an initiator asks for unless told otherwise:
// mutual authentication, replay and sequence detection, confidentiality
// and integrity, as MIT's and Windows' HTTP clients do.
const DefaultFlags = FlagMutual | FlagReplay | FlagSequence | FlagConf | FlagInteg

// Has reports whether every flag of f2 is set in f.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// ChannelBindings binds a context to the channel under it (RFC 2744
// gss_channel_bindings_struct). For HTTPS use TLSServerEndPoint.
type ChannelBindings struct {
	InitiatorAddrType uint32
	InitiatorAddr     []byte
	AcceptorAddrType  uint32
	AcceptorAddr      []byte
	ApplicationData   []byte
}

// Hash is the 16-byte Bnd field: MD5 over every field with its length
// (RFC 4121 4.1.1.2). A nil receiver hashes to 16 zero bytes, which means
// "no bindings".
func (cb *ChannelBindings) Hash() [16]byte {
	var out [16]byte
	if cb == nil {
		return out
	}
	h := md5.New()
	var n [4]byte
	put := func(v uint32) { binary.LittleEndian.PutUint32(n[:], v); h.Write(n[:]) }
	put(cb.InitiatorAddrType)
	put(uint32(len(cb.InitiatorAddr)))
	h.Write(cb.InitiatorAddr)
	put(cb.AcceptorAddrType)
	put(uint32(len(cb.AcceptorAddr)))
	h.Write(cb.AcceptorAddr)
	put(uint32(len(cb.ApplicationData)))
	h.Write(cb.ApplicationData)
	copy(out[:], h.Sum(nil))
	return out
}

// TLSServerEndPoint returns the RFC 5929 "tls-server-end-point" bindings
// of a TLS server certificate, the kind Windows Extended Protection and
// MIT use over HTTPS: the certificate hashed with its signature's hash,
// SHA-256 when that is MD5 or SHA-1.
func TLSServerEndPoint(cert *x509.Certificate) *ChannelBindings {
	var h hash.Hash
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = sha512.New384()
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = sha512.New()
	default:
		h = sha256.New()
	}
	h.Write(cert.Raw)
	return &ChannelBindings{ApplicationData: append([]byte("tls-server-end-point:"), h.Sum(nil)...)}
}

// authChecksum is the value of the 0x8003 authenticator checksum.
type authChecksum struct {
	bnd   [16]byte
	flags Flags
	deleg []byte // KRB-CRED when FlagDeleg and DlgOpt 1
}

func (c *authChecksum) marshal() []byte {
	b := make([]byte, 24, 28+len(c.deleg))
	binary.LittleEndian.PutUint32(b[0:], 16)
	copy(b[4:20], c.bnd[:])
	binary.LittleEndian.PutUint32(b[20:], uint32(c.flags))
	if c.deleg != nil {
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(c.deleg)))
		b = append(b, c.deleg...)
	}
	return b
}

// parseAuthChecksum decodes a 0x8003 checksum value. Unknown flags and
// trailing extensions are ignored, as RFC 4121 4.1.1 asks.
func parseAuthChecksum(b []byte) (authChecksum, error) {
	var c authChecksum
	if len(b) < 24 {
		return c, defectiveCksum("is %d bytes, shorter than the 24 of its fixed part", len(b))
	}
	if l := binary.LittleEndian.Uint32(b); l != 16 {
		return c, defectiveCksum("has a channel-binding length of %d, not 16", l)
	}
	copy(c.bnd[:], b[4:20])
	c.flags = Flags(binary.LittleEndian.Uint32(b[20:]))
	if c.flags.Has(FlagDeleg) && len(b) >= 28 {
		opt := binary.LittleEndian.Uint16(b[24:])
		n := int(binary.LittleEndian.Uint16(b[26:]))
		if opt == 1 {
			if len(b) < 28+n {
				return c, defectiveCksum("announces %d bytes of delegated credentials but has %d", n, len(b)-28)
			}
			c.deleg = append([]byte(nil), b[28:28+n]...)
		}
	}
	return c, nil
}

func defectiveCksum(format string, args ...any) *Error {
	return &Error{Code: DefectiveToken, Reason: "the authenticator's GSS checksum " + fmt.Sprintf(format, args...)}
}
