package kdc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
)

// TGT PACs on the AS hot path.
//
// Encoding a PAC (NDR marshalling of the logon info, the UPN/DNS info,
// the buffer table) costs more than the rest of an AS exchange. Yet a
// client's TGT PAC differs from one logon to the next in three fields
// only: LogonTime and PAC_CLIENT_INFO.ClientId (both the authtime) and
// the PAC_ATTRIBUTES_INFO flags (what PA-PAC-REQUEST said). So the first
// TGT of a principal encodes its PAC with pac.Sign and keeps the bytes,
// with the signatures zeroed, as a template; later TGTs copy it, patch
// the three fields and compute the two signatures a TGT PAC has — the
// server signature over the PAC with both signatures zeroed, then the
// KDC signature over the server signature (MS-PAC 2.8), exactly what
// pac.Sign does without a ticket signature. The template lives on the
// cached principal and goes with it when the store changes.

// pacTemplate is a client's TGT PAC with the per-logon fields and the
// signatures zeroed, kept as the AD-IF-RELEVANT content that carries it
// in the ticket so that one copy makes the authorization-data element.
type pacTemplate struct {
	// What the template was built for; a request that differs (the
	// client typed its name in another case, the krbtgt key changed
	// enctype) builds a new one.
	name string
	// sumType is the checksum type of both signatures, which the
	// krbtgt key makes, and sigLen their length.
	sumType             krb5.ChecksumType
	sigLen              int
	adData              []byte // DER AuthorizationData{{AD-WIN2K-PAC, PAC}}
	pac                 int    // offset of the PAC in adData; the offsets below are from there
	logonTime, clientID int    // offsets of the FILETIMEs
	attrFlags           int    // offset of the PAC_ATTRIBUTES_INFO flags word
	serverSig, kdcSig   int    // offsets of the signature bytes
	// inline holds adData when it fits, as it does for an account in a
	// few dozen groups: a KDC keeps one template per client it has
	// seen, and one object instead of two is less for the garbage
	// collector to visit.
	inline [inlinePACTemplate]byte
}

// inlinePACTemplate keeps a pacTemplate within the allocator's 1 KiB
// size class.
const inlinePACTemplate = 896

// logonTimeOffset is where LogonTime sits in the logon info buffer: after
// the 16-byte type serialization headers and the 4-byte top-level
// referent (pac.md §3.1, §4).
const logonTimeOffset = 16 + 4

// setTGTPAC puts the signed PAC of a TGT for client in t's
// authorization-data. With a usable template, it puts the template there
// as is and leaves the per-logon fields and the signatures to reply,
// which fills them in the encoded ticket (pacTemplate.fill): the PAC is
// then copied once, by the ticket's encoding.
func (x *exchange) setTGTPAC(t *ticket, client, krbtgt *principal, attrs uint32) error {
	key, ok := krbtgt.ticketKey()
	if !ok {
		return errNoKrbtgtKey()
	}
	sk := pac.SigningKey{Key: key.key(), KVNO: key.kvno}
	ct, _ := kcrypto.ChecksumTypeFor(key.etype)
	name := t.enc.CName.String()
	if name == client.acct.Name {
		name = client.acct.Name // kept by the template: no string of its own
	}
	tp := client.tgtPAC.Load()
	if tp == nil || tp.name != name || tp.sumType != ct {
		p := x.newPAC(client, t.enc.CName, t.enc.AuthTime, attrs, true)
		raw, err := p.Sign(pac.SignOptions{ServerKey: sk, KDCKey: sk})
		if err != nil {
			return err
		}
		ad := pac.ADEntry(raw)
		// The first template of a principal comes from a slab; one that
		// replaces it (the client spelled its name differently) from the
		// heap, so that replacements do not pin slots.
		alloc := cachedPACTemplates.alloc
		if tp != nil {
			alloc = func() *pacTemplate { return new(pacTemplate) }
		}
		if tp = newPACTemplate(alloc, p, name, ad.Data); tp != nil {
			client.tgtPAC.Store(tp)
		}
		t.enc.AuthorizationData = krb5.AuthorizationData{ad}
		return nil
	}
	t.ad[0] = krb5.ADEntry{Type: krb5.ADIfRelevant, Data: tp.adData}
	t.enc.AuthorizationData = t.ad[:]
	t.tgtPACTemplate, x.tgtPACAttrs = tp, attrs
	return nil
}

// fill finishes the PAC that setTGTPAC left as the bare template tp in a
// TGT: in encTkt, the encoded EncTicketPart, whose authorization-data is
// that template alone (so its last bytes are tp.adData), it sets the
// per-logon fields and the signatures, made with key, the krbtgt key the
// TGT is encrypted with.
func (tp *pacTemplate) fill(encTkt []byte, key *kcrypto.Key, authTime time.Time, attrs uint32) error {
	at := len(encTkt) - len(tp.adData)
	if at < 0 || !bytes.Equal(encTkt[at:], tp.adData) {
		return errors.New("kdc: the TGT PAC template is not at the end of the encoded ticket")
	}
	b := encTkt[at+tp.pac:]
	ft := uint64(pac.NewFileTime(authTime))
	binary.LittleEndian.PutUint64(b[tp.logonTime:], ft)
	binary.LittleEndian.PutUint64(b[tp.clientID:], ft)
	binary.LittleEndian.PutUint32(b[tp.attrFlags:], attrs)
	// MS-PAC 2.8: the server signature over the PAC with both signatures
	// zero, then the KDC signature over the server signature.
	// The checksum type is the key's (setTGTPAC made tp for it).
	var sum [64]byte
	sig := key.AppendChecksum(sum[:0], kcrypto.UsagePACSignature, b)
	if len(sig) != tp.sigLen {
		return &krb5.Error{Code: krb5.KDCErrSumTypeNoSupp, Reason: "PAC server signature has an unexpected length"}
	}
	serverSig := b[tp.serverSig : tp.serverSig+tp.sigLen]
	copy(serverSig, sig)
	sig = key.AppendChecksum(sum[:0], kcrypto.UsagePACSignature, serverSig)
	if len(sig) != tp.sigLen {
		return &krb5.Error{Code: krb5.KDCErrSumTypeNoSupp, Reason: "PAC KDC signature has an unexpected length"}
	}
	copy(b[tp.kdcSig:], sig)
	return nil
}

// newPACTemplate turns a TGT PAC signed by pac.Sign (p, with its Raw and
// Layout) and the AD-IF-RELEVANT content that carries it into a template,
// made in a zero pacTemplate from alloc only once the layout is found to
// be the expected one. Otherwise it returns nil (the caller then signs
// every PAC in full).
func newPACTemplate(alloc func() *pacTemplate, p *pac.PAC, name string, adData []byte) *pacTemplate {
	// The PAC is the content of the innermost OCTET STRING, which ends
	// the encoding.
	base := len(adData) - len(p.Raw)
	if base < 0 || !bytes.Equal(adData[base:], p.Raw) {
		return nil
	}
	ss, ks := p.ServerSignature, p.KDCSignature
	if ss.Type != ks.Type || len(ss.Signature) != len(ks.Signature) {
		return nil // not one key for both
	}
	l := pacTemplate{name: name, pac: base, sumType: ss.Type, sigLen: len(ss.Signature)}
	found := 0
	for _, bi := range p.Layout {
		switch bi.Type {
		case pac.TypeLogonInfo:
			l.logonTime, found = bi.Offset+logonTimeOffset, found+1
		case pac.TypeClientInfo:
			l.clientID, found = bi.Offset, found+1
		case pac.TypeAttributesInfo:
			l.attrFlags, found = bi.Offset+4, found+1
		case pac.TypeServerChecksum:
			l.serverSig, found = bi.Offset+4, found+1
		case pac.TypeKDCChecksum:
			l.kdcSig, found = bi.Offset+4, found+1
		case pac.TypeTicketChecksum, pac.TypeFullChecksum:
			return nil
		}
	}
	if found != 5 {
		return nil
	}
	// Check the offsets against what was encoded there.
	b := p.Raw
	le64 := func(off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	if le64(l.logonTime) != uint64(p.LogonInfo.LogonTime) || le64(l.clientID) != uint64(p.ClientInfo.ClientID) ||
		binary.LittleEndian.Uint32(b[l.attrFlags:]) != p.Attributes.Flags {
		return nil
	}
	tp := alloc()
	*tp = l
	if len(adData) <= len(tp.inline) {
		tp.adData = tp.inline[:copy(tp.inline[:], adData):len(adData)]
	} else {
		tp.adData = bytes.Clone(adData)
	}
	b = tp.adData[base:]
	clear(b[tp.serverSig : tp.serverSig+tp.sigLen])
	clear(b[tp.kdcSig : tp.kdcSig+tp.sigLen])
	return tp
}

// servicePACTemplate is the PAC of the service tickets made from one TGT
// PAC, with its four signatures zeroed. The buffers are the TGT's (less
// the attributes and requestor), the same for every service whose key
// makes the same checksum type; only the signatures differ from ticket
// to ticket.
type servicePACTemplate struct {
	serverType, kdcType                   krb5.ChecksumType
	raw                                   []byte
	serverSig, kdcSig, ticketSig, fullSig int // offsets of the signature bytes
	serverLen, kdcLen                     int // the ticket and full signatures are KDC-keyed too
}

// signServicePAC signs t.pac for a service ticket (opt.Ticket set) through
// the template of the TGT PAC it came from, making the template with
// pac.Sign the first time. The signatures are computed as pac.Sign does
// (MS-PAC 2.8, pac.md §6.1): ticket, full PAC, server, KDC.
func (x *exchange) signServicePAC(t *ticket, opt pac.SignOptions) ([]byte, error) {
	st, _ := kcrypto.ChecksumTypeFor(opt.ServerKey.Key.EType())
	kt, _ := kcrypto.ChecksumTypeFor(opt.KDCKey.Key.EType())
	slot := &t.pacFrom.svc
	if t.noClaims {
		slot = &t.pacFrom.svcNoClaims
	}
	tp := slot.Load()
	if tp == nil || tp.serverType != st || tp.kdcType != kt {
		p, err := servicePAC(t.pacFrom, t.noClaims)
		if err != nil {
			return nil, err
		}
		raw, err := p.Sign(opt)
		if err != nil {
			return nil, err
		}
		if tp = newServicePACTemplate(p); tp != nil {
			slot.Store(tp)
		}
		return raw, nil
	}
	in, err := pac.TicketSignatureInput(opt.Ticket)
	if err != nil {
		return nil, err
	}
	b := bytes.Clone(tp.raw)
	// Each input is a view of b where it covers the PAC, so it holds the
	// signatures computed before it.
	for _, s := range []struct {
		key  *kcrypto.Key
		data []byte
		at   int
		n    int
	}{
		{opt.KDCKey.Key, in, tp.ticketSig, tp.kdcLen},
		{opt.KDCKey.Key, b, tp.fullSig, tp.kdcLen},
		{opt.ServerKey.Key, b, tp.serverSig, tp.serverLen},
		{opt.KDCKey.Key, b[tp.serverSig : tp.serverSig+tp.serverLen], tp.kdcSig, tp.kdcLen},
	} {
		c, err := s.key.Checksum(kcrypto.UsagePACSignature, s.data)
		if err != nil {
			return nil, err
		}
		if len(c.Checksum) != s.n {
			return nil, &krb5.Error{Code: krb5.KDCErrSumTypeNoSupp, Reason: "PAC signature has an unexpected length"}
		}
		copy(b[s.at:], c.Checksum)
	}
	return b, nil
}

// newServicePACTemplate makes the template from a service-ticket PAC
// signed by pac.Sign, or returns nil for an unexpected layout.
func newServicePACTemplate(p *pac.PAC) *servicePACTemplate {
	if p.ServerSignature == nil || p.KDCSignature == nil || p.TicketSignature == nil || p.FullSignature == nil {
		return nil
	}
	tp := &servicePACTemplate{serverType: p.ServerSignature.Type, kdcType: p.KDCSignature.Type,
		serverLen: len(p.ServerSignature.Signature), kdcLen: len(p.KDCSignature.Signature), raw: bytes.Clone(p.Raw)}
	if len(p.TicketSignature.Signature) != tp.kdcLen || len(p.FullSignature.Signature) != tp.kdcLen {
		return nil
	}
	found := 0
	for _, bi := range p.Layout {
		at := bi.Offset + 4
		switch bi.Type {
		case pac.TypeServerChecksum:
			tp.serverSig = at
		case pac.TypeKDCChecksum:
			tp.kdcSig = at
		case pac.TypeTicketChecksum:
			tp.ticketSig = at
		case pac.TypeFullChecksum:
			tp.fullSig = at
		default:
			continue
		}
		found++
	}
	if found != 4 {
		return nil
	}
	clear(tp.raw[tp.serverSig : tp.serverSig+tp.serverLen])
	clear(tp.raw[tp.kdcSig : tp.kdcSig+tp.kdcLen])
	clear(tp.raw[tp.ticketSig : tp.ticketSig+tp.kdcLen])
	clear(tp.raw[tp.fullSig : tp.fullSig+tp.kdcLen])
	return tp
}
