package gss

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// Per-message tokens of RFC 4121 4.2 ("CFX" tokens). Both kinds start with
// the same 16-byte header:
//
//	MIC : 04 04 | Flags | FF FF FF FF FF          | SND_SEQ (8, big-endian)
//	Wrap: 05 04 | Flags | FF | EC (2) | RRC (2)   | SND_SEQ (8, big-endian)
//
// A MIC token is the header followed by checksum(Kc, message | header). A
// Wrap token is the header followed by either
//
//	sealed: E(Ke, message | EC filler bytes | header with RRC=0)
//	signed: message | checksum(Kc, message | header with EC=0, RRC=0)
//
// with everything after the header rotated right by RRC bytes. Windows
// rotates so that the trailer (encrypted header copy and HMAC) comes first,
// which lets SSPI encrypt in place; MIT, Heimdal and Warden send RRC=0.
//
// The RFC 1964 token formats (DES, and the RC4 variant of RFC 4757) are
// not implemented: Warden never negotiates those session keys.

// TOK_ID values of RFC 4121 4.2.6 and, to name them in errors, the older
// RFC 1964 ones.
const (
	tokIDMIC        = 0x0404
	tokIDWrap       = 0x0504
	tokIDRFC1964MIC = 0x0101
	tokIDRFC1964Wrp = 0x0201
)

// Flags of RFC 4121 4.2.2. Receivers ignore the reserved bits, as the RFC
// asks; they are covered by the checksum either way.
const (
	flagSentByAcceptor = 0x01
	flagSealed         = 0x02
	flagAcceptorSubkey = 0x04
)

// headerLen is the size of every RFC 4121 per-message token header.
const headerLen = 16

// PerMessageConfig describes an established security context's
// per-message state. The zero values of the optional fields are the
// documented defaults.
type PerMessageConfig struct {
	// Key protects the tokens: the acceptor subkey from the AP-REP if there
	// is one, else the initiator subkey from the authenticator, else the
	// ticket session key (RFC 4121 2). It must be an AES (RFC 3962) or
	// AES-SHA2 (RFC 8009) key. Required.
	Key *kcrypto.Key
	// Initiator is true on the side that sent the AP-REQ. It selects the
	// key usages and the SentByAcceptor flag of outgoing tokens, and the
	// flag that incoming tokens must carry.
	Initiator bool
	// AcceptorSubkey is true when Key is the acceptor's subkey from the
	// AP-REP. Tokens in both directions then carry the AcceptorSubkey flag,
	// and incoming tokens without it are refused.
	AcceptorSubkey bool
	// SendSeq is the first sequence number this side sends: the
	// authenticator's seq-number for the initiator, the AP-REP's for the
	// acceptor (RFC 4121 2; without an AP-REP the acceptor reuses the
	// initiator's number, as MIT does).
	SendSeq uint64
	// RecvSeq is the first sequence number expected from the peer.
	RecvSeq uint64
	// ReplayDetection (GSS_C_REPLAY_FLAG) refuses tokens whose sequence
	// number was already received or is too old to tell.
	ReplayDetection bool
	// Sequencing (GSS_C_SEQUENCE_FLAG) additionally reports tokens that
	// arrive out of order or after a gap (UnseqToken, GapToken). Either
	// flag turns on the receive window; with neither, sequence numbers of
	// incoming tokens are not checked, as RFC 2743 1.2.3 allows.
	Sequencing bool
	// DCEStyle says the context was established DCE-style (GSS flag
	// 0x1000, MS-KILE 3.4.5). Windows then rotates sealed tokens by RRC+EC
	// instead of RRC (MS-KILE 3.4.5.4.1); Unwrap tries that rotation first.
	// Both rotations are tried either way, so this only saves work.
	DCEStyle bool
	// Expiry is when the context expires (the ticket's endtime); zero
	// means never. After it every operation fails with ContextExpired.
	Expiry time.Time
	// Time returns the current time; nil means time.Now.
	Time func() time.Time
	// Rand supplies the confounders of sealed Wrap tokens; nil means
	// crypto/rand.Reader.
	Rand io.Reader
}

// PerMessage makes and checks the RFC 4121 per-message tokens of one
// established security context: MIC tokens (GSS_GetMIC/GSS_VerifyMIC) and
// Wrap tokens (GSS_Wrap/GSS_Unwrap). It is safe for concurrent use: the
// send counter is atomic and the receive window has its own lock.
type PerMessage struct {
	key            *kcrypto.Key
	macLen         int
	cksumType      krb5.ChecksumType
	initiator      bool
	acceptorSubkey bool
	dceStyle       bool
	expiry         time.Time
	now            func() time.Time
	rand           io.Reader

	sendSeq atomic.Uint64
	recv    *SeqWindow // nil: no replay or sequence detection
}

// NewPerMessage returns the per-message state for cfg.Key. It fails with
// NoContext when there is no key and with Unavailable for enctypes that
// have no RFC 4121 token format here (RC4, which uses RFC 4757 tokens).
func NewPerMessage(cfg PerMessageConfig) (*PerMessage, error) {
	if cfg.Key == nil {
		return nil, &Error{Code: NoContext, Reason: "no session key for per-message tokens",
			Hint: "per-message tokens need an established security context"}
	}
	macLen, ok := cfxMACLen(cfg.Key.EType())
	if !ok {
		return nil, &Error{Code: Unavailable,
			Reason: fmt.Sprintf("per-message tokens with a %v session key are not supported", cfg.Key.EType()),
			Hint:   "use an AES enctype (aes256-cts-hmac-sha1-96 or aes256-cts-hmac-sha384-192) for the service and client"}
	}
	cksumType, _ := kcrypto.ChecksumTypeFor(cfg.Key.EType())
	p := &PerMessage{
		key:            cfg.Key,
		macLen:         macLen,
		cksumType:      cksumType,
		initiator:      cfg.Initiator,
		acceptorSubkey: cfg.AcceptorSubkey,
		dceStyle:       cfg.DCEStyle,
		expiry:         cfg.Expiry,
		now:            cfg.Time,
		rand:           cfg.Rand,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.rand == nil {
		p.rand = rand.Reader
	}
	p.sendSeq.Store(cfg.SendSeq)
	if cfg.ReplayDetection || cfg.Sequencing {
		p.recv = NewSeqWindow(cfg.RecvSeq, cfg.Sequencing)
	}
	return p, nil
}

// cfxMACLen is the checksum length of the enctypes that use RFC 4121
// tokens: the truncated HMAC of RFC 3962 (12) and RFC 8009 (16 or 24).
func cfxMACLen(e krb5.EncType) (int, bool) {
	switch e {
	case krb5.ETypeAES128CTSHMACSHA196, krb5.ETypeAES256CTSHMACSHA196:
		return 12, true
	case krb5.ETypeAES128CTSHMACSHA256:
		return 16, true
	case krb5.ETypeAES256CTSHMACSHA384:
		return 24, true
	}
	return 0, false
}

// Key returns the key that protects the tokens.
func (p *PerMessage) Key() *kcrypto.Key { return p.key }

// Initiator reports whether this side initiated the context.
func (p *PerMessage) Initiator() bool { return p.initiator }

// NextSendSeq returns the sequence number the next outgoing token will
// carry.
func (p *PerMessage) NextSendSeq() uint64 { return p.sendSeq.Load() }

// Overhead returns how many bytes Wrap adds to a message: the header and
// checksum, plus for sealed tokens the confounder and the encrypted header
// copy. GSS_Wrap_size_limit is the maximum token size minus this.
func (p *PerMessage) Overhead(confidential bool) int {
	if confidential {
		return headerLen + 16 + headerLen + p.macLen // header | E(conf | msg | header) | HMAC
	}
	return headerLen + p.macLen
}

// usage returns the key usage of RFC 4121 2 for a token sent by the
// initiator (or by the acceptor): the "seal" usage for Wrap tokens, with
// or without confidentiality, the "sign" usage for MIC tokens.
func usage(sentByInitiator, wrap bool) kcrypto.Usage {
	switch {
	case sentByInitiator && wrap:
		return kcrypto.UsageGSSInitiatorSeal
	case sentByInitiator:
		return kcrypto.UsageGSSInitiatorSign
	case wrap:
		return kcrypto.UsageGSSAcceptorSeal
	}
	return kcrypto.UsageGSSAcceptorSign
}

// check refuses operations on a missing or expired context.
func (p *PerMessage) check() error {
	if p == nil || p.key == nil {
		return &Error{Code: NoContext, Reason: "the security context is not established"}
	}
	if !p.expiry.IsZero() {
		if now := p.now(); !now.Before(p.expiry) {
			return &Error{Code: ContextExpired,
				Reason: fmt.Sprintf("the security context expired at %s", p.expiry.UTC().Format(time.RFC3339)),
				Hint:   "establish a new context with a fresh service ticket"}
		}
	}
	return nil
}

// sendFlags are the flags of every token this side sends.
func (p *PerMessage) sendFlags() byte {
	var f byte
	if !p.initiator {
		f |= flagSentByAcceptor
	}
	if p.acceptorSubkey {
		f |= flagAcceptorSubkey
	}
	return f
}

// MakeMIC returns a MIC token over msg (GSS_GetMIC with the default QOP),
// consuming one sequence number.
func (p *PerMessage) MakeMIC(msg []byte) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	seq := p.sendSeq.Add(1) - 1
	var hdr [headerLen]byte
	binary.BigEndian.PutUint16(hdr[0:], tokIDMIC)
	hdr[2] = p.sendFlags()
	hdr[3], hdr[4], hdr[5], hdr[6], hdr[7] = 0xff, 0xff, 0xff, 0xff, 0xff
	binary.BigEndian.PutUint64(hdr[8:], seq)
	ck, err := p.key.Checksum(usage(p.initiator, false), concat(msg, hdr[:]))
	if err != nil {
		return nil, &Error{Code: Failure, Reason: "computing the MIC", Err: err}
	}
	return append(hdr[:], ck.Checksum...), nil
}

// VerifyMIC checks a MIC token over msg (GSS_VerifyMIC). A nil result
// means the token is authentic and in sequence. With Sequencing, an
// authentic token that arrived out of order yields an UnseqToken or
// GapToken error (see IsOutOfSequence); a replayed or too old one yields
// DuplicateToken or OldToken.
func (p *PerMessage) VerifyMIC(msg, token []byte) error {
	if err := p.check(); err != nil {
		return err
	}
	if err := p.checkHeader(token, tokIDMIC); err != nil {
		return err
	}
	if token[3] != 0xff || token[4] != 0xff || token[5] != 0xff || token[6] != 0xff || token[7] != 0xff {
		return newError(DefectiveToken, "MIC token filler is not FF FF FF FF FF")
	}
	if token[2]&flagSealed != 0 {
		return newError(DefectiveToken, "MIC token has the Sealed flag set")
	}
	if n := len(token) - headerLen; n != p.macLen {
		return newError(DefectiveToken, fmt.Sprintf("MIC token checksum is %d bytes, want %d for %v", n, p.macLen, p.key.EType()))
	}
	u := usage(!p.initiator, false)
	err := p.key.VerifyChecksum(u, concat(msg, token[:headerLen]), krb5.Checksum{CksumType: p.cksumType, Checksum: token[headerLen:]})
	if err != nil {
		return badMIC("MIC does not verify", err)
	}
	return p.checkSeq(token)
}

// checkHeader checks what MIC and Wrap tokens share: length, TOK_ID, the
// direction flag and the AcceptorSubkey flag.
func (p *PerMessage) checkHeader(token []byte, want uint16) error {
	kind := "MIC"
	if want == tokIDWrap {
		kind = "Wrap"
	}
	if len(token) < headerLen {
		return newError(DefectiveToken, fmt.Sprintf("%s token is %d bytes, shorter than its 16-byte header", kind, len(token)))
	}
	switch id := binary.BigEndian.Uint16(token); id {
	case want:
	case tokIDRFC1964MIC, tokIDRFC1964Wrp:
		return &Error{Code: DefectiveToken,
			Reason: fmt.Sprintf("RFC 1964 token (TOK_ID %04x) where an RFC 4121 %s token was expected", id, kind),
			Hint:   "the peer protects messages as for a DES or RC4 session key; Warden uses only AES session keys"}
	default:
		return newError(DefectiveToken, fmt.Sprintf("TOK_ID %04x is not an RFC 4121 %s token (%04x)", id, kind, want))
	}
	flags := token[2]
	if fromAcceptor := flags&flagSentByAcceptor != 0; fromAcceptor != p.initiator {
		// The peer's own token coming back to it, a reflection attack
		// (RFC 4121 4.2.2); MIT reports it as GSS_S_BAD_SIG as well.
		who := "initiator"
		if fromAcceptor {
			who = "acceptor"
		}
		return &Error{Code: BadMIC, Reason: fmt.Sprintf("%s token was sent by the %s, i.e. by this side: reflected", kind, who)}
	}
	if has := flags&flagAcceptorSubkey != 0; has != p.acceptorSubkey {
		if has {
			return &Error{Code: DefectiveToken, Reason: kind + " token claims an acceptor subkey, but the context has none",
				Hint: "the peers disagree about the AP-REP subkey"}
		}
		return &Error{Code: DefectiveToken, Reason: kind + " token lacks the AcceptorSubkey flag, but the context uses the acceptor's subkey",
			Hint: "the peers disagree about the AP-REP subkey"}
	}
	return nil
}

// checkSeq runs the receive window on a verified token's SND_SEQ.
func (p *PerMessage) checkSeq(token []byte) error {
	if p.recv == nil {
		return nil
	}
	return p.recv.Check(binary.BigEndian.Uint64(token[8:16]))
}

func badMIC(reason string, err error) error {
	return &Error{Code: BadMIC, Reason: reason,
		Hint: "the token was altered in transit, or the peers hold different session keys", Err: err}
}

// Wrap returns a Wrap token carrying msg (GSS_Wrap with the default QOP),
// encrypted when confidential is true and integrity-protected only
// otherwise, consuming one sequence number. Tokens are emitted with RRC 0
// and, sealed, EC 0: AES in CTS mode needs no padding, and with both zero
// every reading of the rotation rules (RFC 4121, MS-KILE) agrees.
func (p *PerMessage) Wrap(msg []byte, confidential bool) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	seq := p.sendSeq.Add(1) - 1
	var hdr [headerLen]byte
	binary.BigEndian.PutUint16(hdr[0:], tokIDWrap)
	hdr[2] = p.sendFlags()
	hdr[3] = 0xff
	binary.BigEndian.PutUint64(hdr[8:], seq)
	u := usage(p.initiator, true)
	if confidential {
		hdr[2] |= flagSealed
		// EC = 0, RRC = 0: the encrypted copy of the header equals hdr.
		ct, err := p.key.Encrypt(p.rand, u, concat(msg, hdr[:]))
		if err != nil {
			return nil, &Error{Code: Failure, Reason: "encrypting the Wrap token", Err: err}
		}
		return concat(hdr[:], ct), nil
	}
	// The checksum covers the header with EC and RRC zero (RFC 4121
	// 4.2.4); the header sent then carries EC = checksum length.
	ck, err := p.key.Checksum(u, concat(msg, hdr[:]))
	if err != nil {
		return nil, &Error{Code: Failure, Reason: "computing the Wrap checksum", Err: err}
	}
	binary.BigEndian.PutUint16(hdr[4:], uint16(len(ck.Checksum)))
	out := make([]byte, 0, headerLen+len(msg)+len(ck.Checksum))
	out = append(out, hdr[:]...)
	out = append(out, msg...)
	return append(out, ck.Checksum...), nil
}

// Unwrap checks a Wrap token (GSS_Unwrap) and returns the message and
// whether it was encrypted. Any RRC is accepted. With Sequencing, an
// authentic token that arrived out of order returns the message together
// with an UnseqToken or GapToken error (see IsOutOfSequence); every other
// error returns no message.
func (p *PerMessage) Unwrap(token []byte) (msg []byte, confidential bool, err error) {
	if err := p.check(); err != nil {
		return nil, false, err
	}
	if err := p.checkHeader(token, tokIDWrap); err != nil {
		return nil, false, err
	}
	if token[3] != 0xff {
		return nil, false, newError(DefectiveToken, fmt.Sprintf("Wrap token filler is %02x, want ff", token[3]))
	}
	ec := int(binary.BigEndian.Uint16(token[4:]))
	rrc := int(binary.BigEndian.Uint16(token[6:]))
	body := token[headerLen:]
	if len(body) == 0 {
		return nil, false, newError(DefectiveToken, "Wrap token has no body")
	}
	confidential = token[2]&flagSealed != 0
	if confidential {
		msg, err = p.unseal(token[:headerLen], body, ec, rrc)
	} else {
		msg, err = p.unsign(token[:headerLen], body, ec, rrc)
	}
	if err != nil {
		return nil, false, err
	}
	if err := p.checkSeq(token); err != nil {
		if IsOutOfSequence(err) {
			return msg, confidential, err
		}
		return nil, false, err
	}
	return msg, confidential, nil
}

// rotations returns the left rotations to try on a received body. RFC 4121
// 4.2.5 rotates by RRC; MS-KILE 3.4.5.4.1 has Windows rotate by RRC+EC in
// DCE style, and peers disagree about when that applies. Only a token made
// with the session key survives the integrity check, so trying the other
// rotation after a failure accepts nothing a single rule would refuse
// from an attacker; it costs one more checksum on bad tokens only.
func (p *PerMessage) rotations(ec, rrc int) []int {
	if ec == 0 {
		return []int{rrc}
	}
	if p.dceStyle {
		return []int{rrc + ec, rrc}
	}
	return []int{rrc, rrc + ec}
}

// unseal decrypts a sealed Wrap body and checks the encrypted header copy.
func (p *PerMessage) unseal(hdr, body []byte, ec, rrc int) ([]byte, error) {
	u := usage(!p.initiator, true)
	var firstErr error
	for _, r := range p.rotations(ec, rrc) {
		pt, err := p.key.Decrypt(u, rotateLeft(body, r))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if len(pt) < ec+headerLen {
			return nil, newError(DefectiveToken, fmt.Sprintf("sealed Wrap token decrypts to %d bytes, too short for EC %d and the header copy", len(pt), ec))
		}
		// The copy must match what was sent except RRC, which the sender
		// sets to zero inside (RFC 4121 4.2.4) but which MIT also does not
		// check; EC must match because it says how much filler to drop.
		inner := pt[len(pt)-headerLen:]
		if !hmac.Equal(inner[0:6], hdr[0:6]) || !hmac.Equal(inner[8:16], hdr[8:16]) {
			return nil, badMIC("the encrypted header of the sealed Wrap token does not match its clear header", nil)
		}
		return pt[:len(pt)-headerLen-ec], nil
	}
	return nil, badMIC("sealed Wrap token does not decrypt", firstErr)
}

// unsign verifies an integrity-only Wrap body: message | checksum.
func (p *PerMessage) unsign(hdr, body []byte, ec, rrc int) ([]byte, error) {
	if ec != p.macLen {
		return nil, newError(DefectiveToken, fmt.Sprintf("integrity-only Wrap token has EC %d, want the %v checksum length %d", ec, p.key.EType(), p.macLen))
	}
	if len(body) < ec {
		return nil, newError(DefectiveToken, fmt.Sprintf("integrity-only Wrap token body is %d bytes, shorter than its %d-byte checksum", len(body), ec))
	}
	// The checksum was computed over the header with EC and RRC zero.
	var h [headerLen]byte
	copy(h[:], hdr)
	h[4], h[5], h[6], h[7] = 0, 0, 0, 0
	u := usage(!p.initiator, true)
	var firstErr error
	for _, r := range p.rotations(ec, rrc) {
		b := rotateLeft(body, r)
		data, sum := b[:len(b)-ec], b[len(b)-ec:]
		err := p.key.VerifyChecksum(u, concat(data, h[:]), krb5.Checksum{CksumType: p.cksumType, Checksum: sum})
		if err == nil {
			return data, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, badMIC("integrity-only Wrap token checksum does not verify", firstErr)
}

// rotateLeft returns a new slice holding b rotated left by n bytes (mod
// len(b)), undoing the sender's right rotation by RRC. Any n is valid,
// including n > len(b). The result never aliases b.
func rotateLeft(b []byte, n int) []byte {
	out := make([]byte, len(b))
	if len(b) == 0 {
		return out
	}
	n %= len(b)
	copy(out, b[n:])
	copy(out[len(b)-n:], b[:n])
	return out
}

// concat returns a | b in a new slice.
func concat(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// seqWindowSize is how many sequence numbers below the highest received
// one the window remembers. RFC 2743 leaves the size to the
// implementation; 128 tolerates the reordering of a busy multiplexed
// connection while staying two machine words.
const seqWindowSize = 128

// SeqWindow checks the sequence numbers of received per-message tokens
// (RFC 4121 4.2.6, RFC 2743 1.2.3): it refuses a number seen before
// (DuplicateToken) or too old to tell (OldToken) and, when sequencing is
// on, reports numbers that arrive late (UnseqToken) or after a gap
// (GapToken). Numbers are 64-bit and compared modulo 2^64, so the counter
// may wrap. Only call Check for tokens whose integrity was verified: the
// window records what it is given.
//
// A SeqWindow is safe for concurrent use.
type SeqWindow struct {
	mu         sync.Mutex
	sequencing bool
	next       uint64                     // one past the highest number received
	filled     uint64                     // how many numbers below next are tracked (at most seqWindowSize)
	seen       [seqWindowSize / 64]uint64 // bit i: next-1-i was received
}

// NewSeqWindow returns a window expecting first as the peer's first
// sequence number. Numbers before first are OldToken. sequencing selects
// whether out-of-order arrival is reported (GSS_C_SEQUENCE_FLAG) or only
// replays are refused (GSS_C_REPLAY_FLAG alone).
func NewSeqWindow(first uint64, sequencing bool) *SeqWindow {
	return &SeqWindow{next: first, sequencing: sequencing}
}

// Check records seq and reports where it falls. nil means expected (or
// acceptable without sequencing). DuplicateToken and OldToken mean the
// token must be refused; UnseqToken and GapToken (only with sequencing)
// mean it is authentic but out of order, and it has been recorded.
func (w *SeqWindow) Check(seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d := seq - w.next; int64(d) >= 0 {
		// At or ahead of the expected number: slide the window so that seq
		// becomes the newest entry.
		w.shift(d + 1)
		w.seen[0] |= 1
		w.next = seq + 1
		w.filled = min(w.filled+d+1, seqWindowSize)
		if d == 0 || !w.sequencing {
			return nil
		}
		return &Error{Code: GapToken,
			Reason: fmt.Sprintf("sequence number %d skips %d token(s): expected %d", seq, d, seq-d)}
	}
	age := w.next - 1 - seq // 0 is the newest number received
	if age >= w.filled {
		return &Error{Code: OldToken,
			Reason: fmt.Sprintf("sequence number %d is older than the replay window (newest %d, %d tracked)", seq, w.next-1, w.filled),
			Hint:   "a very late or replayed token; it cannot be told from a replay and is refused"}
	}
	word, bit := age/64, age%64
	if w.seen[word]&(1<<bit) != 0 {
		return &Error{Code: DuplicateToken,
			Reason: fmt.Sprintf("sequence number %d was already received: replayed token", seq)}
	}
	w.seen[word] |= 1 << bit
	if !w.sequencing {
		return nil
	}
	return &Error{Code: UnseqToken,
		Reason: fmt.Sprintf("sequence number %d arrived after %d", seq, w.next-1)}
}

// shift ages every entry by s positions, dropping those that leave the
// window.
func (w *SeqWindow) shift(s uint64) {
	const words = len(w.seen)
	if s >= seqWindowSize {
		w.seen = [words]uint64{}
		return
	}
	ws, bs := int(s/64), uint(s%64)
	for i := words - 1; i >= 0; i-- {
		var v uint64
		if j := i - ws; j >= 0 {
			v = w.seen[j] << bs
			if bs != 0 && j > 0 {
				v |= w.seen[j-1] >> (64 - bs)
			}
		}
		w.seen[i] = v
	}
}
