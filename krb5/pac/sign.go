package pac

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// SigningKey is a key with the version number it is known by; the kvno
// only appears in error reasons, so an operator can tell a stale keytab
// from a tampered PAC.
type SigningKey struct {
	Key  *kcrypto.Key
	KVNO uint32
	// Role names the key in error reasons ("the krbtgt key (kvno 2,
	// ...)"). Empty means the usual key of the signature: "service" for
	// the server signature, "krbtgt" for the others. Set it to "krbtgt"
	// when verifying the server signature of a TGT's PAC.
	Role string
}

func (k SigningKey) describe(role string) string {
	if k.Key == nil {
		return "the " + role + " key"
	}
	return fmt.Sprintf("the %s key (kvno %d, %v)", role, k.KVNO, k.Key.EType())
}

// SignOptions say which keys sign a PAC (MS-PAC 2.8, pac.md §6).
type SignOptions struct {
	// ServerKey makes the server signature: the long-term key of the
	// ticket's server (the krbtgt key for a TGT).
	ServerKey SigningKey
	// KDCKey (the krbtgt key) makes the KDC signature and, with Ticket,
	// the ticket and full-PAC signatures.
	KDCKey SigningKey
	// Ticket, for service tickets, adds the ticket signature over this
	// EncTicketPart (which must already hold a PAC element, whose content
	// does not matter; see TicketSignatureInput) and the full-PAC
	// signature. Leave it nil for TGTs and kadmin/changepw tickets:
	// Sign then drops any ticket and full signatures the PAC held.
	Ticket *krb5.EncTicketPart
	// RODCIdentifier, with HasRODCIdentifier, is appended to the
	// krbtgt-keyed signatures, as a read-only DC does.
	RODCIdentifier    uint16
	HasRODCIdentifier bool
}

// checksumType returns the PAC checksum type for k: the enctype's
// mandatory checksum (hmac-sha1-96-aes128/256 for the RFC 3962
// enctypes, the RFC 8009 checksums for aes-sha2, hmac-md5 (-138) for
// rc4-hmac) and its length.
func checksumType(k *kcrypto.Key) (krb5.ChecksumType, int, error) {
	t, ok := kcrypto.ChecksumTypeFor(k.EType())
	n, known := SignatureLen(t)
	if !ok || !known {
		return 0, 0, &Error{Kind: KindUnsupported, Offset: -1,
			Reason: fmt.Sprintf("no PAC signature type for %v keys", k.EType())}
	}
	return t, n, nil
}

func placeholder(k *kcrypto.Key, opt *SignOptions, rodc bool) (*SignatureData, error) {
	t, n, err := checksumType(k)
	if err != nil {
		return nil, err
	}
	s := &SignatureData{Type: t, Signature: make([]byte, n)}
	if rodc && opt.HasRODCIdentifier {
		s.RODCIdentifier, s.HasRODCIdentifier = opt.RODCIdentifier, true
	}
	return s, nil
}

// Sign sets p's signature buffers and returns the signed PAC, also kept
// in p.Raw and p.Layout (set only on success). Following MS-PAC 2.8 and pac.md §6.1, the
// signature buffers are first laid out zero-filled at their final size,
// then computed in the order ticket → full PAC → server → KDC, each one
// over bytes that already hold the ones before it: another order gives
// signatures that Windows and MIT reject.
func (p *PAC) Sign(opt SignOptions) ([]byte, error) {
	if opt.ServerKey.Key == nil || opt.KDCKey.Key == nil {
		return nil, &Error{Kind: KindUnsupported, Offset: -1, Reason: "signing a PAC needs both the server key and the KDC key"}
	}
	var err error
	if p.ServerSignature, err = placeholder(opt.ServerKey.Key, &opt, false); err != nil {
		return nil, err
	}
	if p.KDCSignature, err = placeholder(opt.KDCKey.Key, &opt, true); err != nil {
		return nil, err
	}
	p.TicketSignature, p.FullSignature = nil, nil
	var ticketInput []byte
	if opt.Ticket != nil {
		if ticketInput, err = TicketSignatureInput(opt.Ticket); err != nil {
			return nil, err
		}
		if p.TicketSignature, err = placeholder(opt.KDCKey.Key, &opt, true); err != nil {
			return nil, err
		}
		if p.FullSignature, err = placeholder(opt.KDCKey.Key, &opt, true); err != nil {
			return nil, err
		}
	}
	raw, layout, err := p.encode()
	if err != nil {
		return nil, err
	}
	at := make(map[BufferType]int, 4) // signature bytes offset of each signature buffer
	for _, bi := range layout {
		at[bi.Type] = bi.Offset + 4
	}
	sign := func(t BufferType, s *SignatureData, k *kcrypto.Key, data []byte) error {
		c, err := k.Checksum(kcrypto.UsagePACSignature, data)
		if err != nil {
			return &Error{Kind: KindUnsupported, Buffer: t, Offset: -1, Reason: fmt.Sprintf("cannot compute the %v", t), Err: err}
		}
		if c.CksumType != s.Type || len(c.Checksum) != len(s.Signature) {
			return &Error{Kind: KindUnsupported, Buffer: t, Offset: -1,
				Reason: fmt.Sprintf("%v key produced a %v checksum of %d bytes, expected %v of %d", k.EType(), c.CksumType, len(c.Checksum), s.Type, len(s.Signature))}
		}
		copy(s.Signature, c.Checksum)
		copy(raw[at[t]:], c.Checksum)
		return nil
	}
	if opt.Ticket != nil {
		if err := sign(TypeTicketChecksum, p.TicketSignature, opt.KDCKey.Key, ticketInput); err != nil {
			return nil, err
		}
		// The server, KDC and full signatures are still zero here,
		// which is exactly the full signature's input.
		if err := sign(TypeFullChecksum, p.FullSignature, opt.KDCKey.Key, raw); err != nil {
			return nil, err
		}
	}
	// Server and KDC signatures are zero, ticket and full ones filled.
	if err := sign(TypeServerChecksum, p.ServerSignature, opt.ServerKey.Key, raw); err != nil {
		return nil, err
	}
	if err := sign(TypeKDCChecksum, p.KDCSignature, opt.KDCKey.Key, p.ServerSignature.Signature); err != nil {
		return nil, err
	}
	p.Raw, p.Layout = raw, layout
	return raw, nil
}

// Which signature a verification concerns, for messages.
var signatureNames = map[BufferType]string{
	TypeServerChecksum: "server signature",
	TypeKDCChecksum:    "KDC signature",
	TypeTicketChecksum: "ticket signature",
	TypeFullChecksum:   "full PAC signature",
}

// rawSignature returns signature buffer t as it is in p.Raw, with its
// layout entry. Verification reads signatures from Raw, not from the
// typed fields, so that it checks exactly what was received.
func (p *PAC) rawSignature(t BufferType) (*SignatureData, BufferInfo, bool) {
	bi, ok := p.find(t)
	if !ok {
		return nil, bi, false
	}
	s, err := unmarshalSignature(t, p.Raw[bi.Offset:bi.Offset+bi.Size])
	return s, bi, err == nil
}

// zeroed returns a copy of p.Raw with the Signature bytes (not the type,
// not the RODC trailer) of the given signature buffers set to zero.
func (p *PAC) zeroed(types ...BufferType) []byte {
	b := append([]byte(nil), p.Raw...)
	for _, t := range types {
		if s, bi, ok := p.rawSignature(t); ok {
			clear(b[bi.Offset+4 : bi.Offset+4+len(s.Signature)])
		}
	}
	return b
}

// verify checks signature buffer t over data with key k.
func (p *PAC) verify(t BufferType, k SigningKey, role string, data func() ([]byte, error)) error {
	name := signatureNames[t]
	if k.Role != "" {
		role = k.Role
	}
	if p.Raw == nil {
		return &Error{Kind: KindMissing, Buffer: t, Offset: -1,
			Reason: fmt.Sprintf("cannot verify the PAC %s: the PAC was neither decoded nor signed", name)}
	}
	s, bi, ok := p.rawSignature(t)
	if !ok {
		return &Error{Kind: KindMissing, Buffer: t, Offset: -1,
			Reason: fmt.Sprintf("PAC has no %s (buffer type %d)", name, uint32(t)),
			Hint:   "the ticket was issued by a KDC that does not add this signature, or the PAC was stripped"}
	}
	if k.Key == nil {
		return &Error{Kind: KindUnsupported, Buffer: t, Offset: -1, Reason: fmt.Sprintf("no %s key to verify the PAC %s", role, name)}
	}
	want, _, err := checksumType(k.Key)
	if err != nil {
		return err
	}
	if s.Type != want {
		return &Error{Kind: KindSignature, Buffer: t, Offset: bi.Offset,
			Reason: fmt.Sprintf("PAC %s is of type %v but %s takes %v", name, s.Type, k.describe(role), want),
			Hint:   "the PAC was signed with a key of another enctype: check the account's keys and the keytab"}
	}
	in, err := data()
	if err != nil {
		return err
	}
	if err := k.Key.VerifyChecksum(kcrypto.UsagePACSignature, in, krb5.Checksum{CksumType: s.Type, Checksum: s.Signature}); err != nil {
		return &Error{Kind: KindSignature, Buffer: t, Offset: bi.Offset,
			Reason: fmt.Sprintf("PAC %s does not verify with %s", name, k.describe(role)),
			Hint:   "the PAC was altered, or the key is not the one the KDC used (stale keytab, wrong kvno)",
			Err:    err}
	}
	return nil
}

// VerifyServerSignature checks the server signature with the key of the
// ticket's server (the service key; krbtgt for a TGT): a checksum over
// the whole PAC with the server and KDC Signature bytes zeroed.
func (p *PAC) VerifyServerSignature(k SigningKey) error {
	return p.verify(TypeServerChecksum, k, "service", func() ([]byte, error) {
		return p.zeroed(TypeServerChecksum, TypeKDCChecksum), nil
	})
}

// VerifyKDCSignature checks the KDC signature, a checksum over the server
// signature's bytes, with the krbtgt key. Verify the server signature
// too: this one only vouches for it.
func (p *PAC) VerifyKDCSignature(k SigningKey) error {
	return p.verify(TypeKDCChecksum, k, "krbtgt", func() ([]byte, error) {
		s, _, ok := p.rawSignature(TypeServerChecksum)
		if !ok {
			return nil, &Error{Kind: KindMissing, Buffer: TypeServerChecksum, Offset: -1,
				Reason: "PAC has no server signature for the KDC signature to cover"}
		}
		return s.Signature, nil
	})
}

// VerifyFullSignature checks the full-PAC signature with the krbtgt key:
// a checksum over the PAC with the server, KDC and full Signature bytes
// zeroed.
func (p *PAC) VerifyFullSignature(k SigningKey) error {
	return p.verify(TypeFullChecksum, k, "krbtgt", func() ([]byte, error) {
		return p.zeroed(TypeServerChecksum, TypeKDCChecksum, TypeFullChecksum), nil
	})
}

// VerifyTicketSignature checks the ticket signature with the krbtgt key
// over etp, the decrypted ticket this PAC came from (see
// TicketSignatureInput).
func (p *PAC) VerifyTicketSignature(etp *krb5.EncTicketPart, k SigningKey) error {
	return p.verify(TypeTicketChecksum, k, "krbtgt", func() ([]byte, error) {
		return TicketSignatureInput(etp)
	})
}

// VerifyClientInfo checks that PAC_CLIENT_INFO binds the PAC to the
// ticket it came in (MS-PAC 2.7, MS-KILE 3.4.5.3): ClientId equal to the
// ticket's authtime and the name equal, ignoring case, to the client
// name without realm. A mismatch means the PAC was moved from another
// ticket.
func (p *PAC) VerifyClientInfo(authTime time.Time, cname krb5.PrincipalName) error {
	ci := p.ClientInfo
	if ci == nil {
		return &Error{Kind: KindMissing, Buffer: TypeClientInfo, Offset: -1, Reason: "PAC has no PAC_CLIENT_INFO"}
	}
	if want := NewFileTime(authTime.Truncate(time.Second)); ci.ClientID != want {
		return &Error{Kind: KindMismatch, Buffer: TypeClientInfo, Offset: -1,
			Reason: fmt.Sprintf("PAC_CLIENT_INFO ClientId %v does not match the ticket's authtime %v",
				ci.ClientID.Time().Format(time.RFC3339Nano), authTime.UTC().Format(time.RFC3339))}
	}
	if name := cname.String(); !strings.EqualFold(ci.Name, name) {
		return &Error{Kind: KindMismatch, Buffer: TypeClientInfo, Offset: -1,
			Reason: fmt.Sprintf("PAC_CLIENT_INFO name %q does not match the ticket's client %q", ci.Name, name)}
	}
	return nil
}

// Equal reports whether two signatures are the same (constant time in
// the signature bytes).
func (s *SignatureData) Equal(o *SignatureData) bool {
	if s == nil || o == nil {
		return s == o
	}
	return s.Type == o.Type && s.HasRODCIdentifier == o.HasRODCIdentifier && s.RODCIdentifier == o.RODCIdentifier &&
		subtle.ConstantTimeCompare(s.Signature, o.Signature) == 1
}
