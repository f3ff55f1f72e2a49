package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"crypto/subtle"
	"encoding/binary"
	"strings"
	"time"

	//lint:ignore SA1019 NTOWFv1 is MD4 by definition (MS-NLMP 3.3.1)
	"golang.org/x/crypto/md4"
)

// NTHash is NTOWFv1: MD4 of the UTF-16LE password, what the AA stores.
func NTHash(password string) [16]byte {
	h := md4.New()
	h.Write(toUTF16(password))
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// ntowfv2 is HMAC-MD5(NT hash, UTF16(UPPER(user) | domain)); the domain
// is used as sent.
func ntowfv2(nt [16]byte, user, domain string) []byte {
	m := hmac.New(md5.New, nt[:])
	m.Write(toUTF16(strings.ToUpper(user) + domain))
	return m.Sum(nil)
}

func hmacMD5(key []byte, parts ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// FILETIME conversion: 100 ns ticks since 1601-01-01.
const filetimeEpoch = 116444736000000000

func toFiletime(t time.Time) uint64 { return uint64(t.UnixNano()/100) + filetimeEpoch }

func fromFiletime(ft uint64) time.Time {
	if ft < filetimeEpoch {
		return time.Unix(0, 0).UTC().Add(-time.Duration(filetimeEpoch-ft) * 100)
	}
	return time.Unix(0, int64(ft-filetimeEpoch)*100).UTC()
}

// blob is the NTLMv2_CLIENT_CHALLENGE inside an NTLMv2 response.
type blob struct {
	timestamp       uint64
	clientChallenge [8]byte
	avPairs         AVPairs
}

// parseBlob decodes the part of an NTLMv2 response after NTProofStr.
func parseBlob(temp []byte) (*blob, error) {
	if len(temp) < 28+4 {
		return nil, invalid("NTLMv2 client challenge of %d bytes is too short", len(temp))
	}
	if temp[0] != 1 || temp[1] != 1 {
		return nil, invalid("NTLMv2 client challenge has RespType %d.%d, not 1.1", temp[0], temp[1])
	}
	b := &blob{timestamp: binary.LittleEndian.Uint64(temp[8:])}
	copy(b.clientChallenge[:], temp[16:24])
	av, err := ParseAVPairs(temp[28:])
	if err != nil {
		return nil, err
	}
	b.avPairs = av
	return b, nil
}

// makeTemp builds the client blob ("temp" in MS-NLMP 3.3.2).
func makeTemp(ts uint64, cc [8]byte, av AVPairs) []byte {
	t := make([]byte, 28, 28+64)
	t[0], t[1] = 1, 1
	binary.LittleEndian.PutUint64(t[8:], ts)
	copy(t[16:], cc[:])
	t = append(t, av.Marshal()...)
	return append(t, 0, 0, 0, 0)
}

// Validation is what a server forwards to the AA to validate an NTLM
// answer: the challenge it issued and the client's response fields,
// exactly as received. It holds no secret.
type Validation struct {
	ServerChallenge [8]byte
	User            string
	Domain          string
	Workstation     string
	NTResponse      []byte
	LMResponse      []byte
}

// Verified is the result of a successful VerifyResponse.
type Verified struct {
	// SessionBaseKey goes back to the server only, over the AA's
	// protected channel; with it the server checks the MIC and derives
	// the session keys.
	SessionBaseKey [16]byte
	// AVPairs are the client's copy of the target info, for the
	// anti-relay checks (server and domain names, target SPN).
	AVPairs   AVPairs
	Timestamp time.Time
	// EmptyDomain reports that the response verified only with an empty
	// domain name (MS-NLMP 3.2.5.1.2 retry).
	EmptyDomain bool
}

// DefaultMaxClockSkew bounds the age of the timestamp in an NTLMv2
// response. Windows allows 36 hours; the challenge is single-use anyway,
// so this guards against responses computed long ago.
const DefaultMaxClockSkew = 36 * time.Hour

// VerifyResponse checks an NTLMv2 response against the user's NT hash;
// the AA runs it, never the application server. NTLMv1 and LM-only
// responses are refused. A wrong password is StatusWrongPassword; the
// server shows every failure as a logon failure.
func VerifyResponse(v *Validation, nt [16]byte, now time.Time, maxSkew time.Duration) (*Verified, error) {
	if len(v.NTResponse) == 0 {
		return nil, errorf(StatusLogonFailure, "anonymous NTLM logons are not accepted")
	}
	if len(v.NTResponse) <= 24 {
		return nil, &Error{Status: StatusNTLMBlocked, Reason: "the client answered with NTLMv1, which is refused",
			Hint: "configure the client for NTLMv2 only (LmCompatibilityLevel 5)"}
	}
	proof, temp := v.NTResponse[:16], v.NTResponse[16:]
	b, err := parseBlob(temp)
	if err != nil {
		return nil, err
	}
	out := &Verified{AVPairs: b.avPairs, Timestamp: fromFiletime(b.timestamp)}
	var key []byte
	for _, dom := range []string{v.Domain, ""} {
		k := ntowfv2(nt, v.User, dom)
		want := hmacMD5(k, v.ServerChallenge[:], temp)
		if subtle.ConstantTimeCompare(want, proof) == 1 {
			key, out.EmptyDomain = k, dom == "" && v.Domain != ""
			break
		}
		if v.Domain == "" {
			break
		}
	}
	if key == nil {
		return nil, errorf(StatusWrongPassword, "the NTLMv2 response of %s\\%s does not match the password", v.Domain, v.User)
	}
	if maxSkew <= 0 {
		maxSkew = DefaultMaxClockSkew
	}
	if d := now.Sub(out.Timestamp); d > maxSkew || -d > maxSkew {
		return nil, &Error{Status: StatusTimeDifference, Reason: "the NTLMv2 response's timestamp " + out.Timestamp.Format(time.RFC3339) + " is too far from the AA's clock",
			Hint: "synchronise the client's clock"}
	}
	copy(out.SessionBaseKey[:], hmacMD5(key, proof))
	return out, nil
}

// Key-derivation magic constants, with their trailing NUL (MS-NLMP 3.4.5).
const (
	clientSignMagic = "session key to client-to-server signing key magic constant\x00"
	serverSignMagic = "session key to server-to-client signing key magic constant\x00"
	clientSealMagic = "session key to client-to-server sealing key magic constant\x00"
	serverSealMagic = "session key to server-to-client sealing key magic constant\x00"
)

func md5Of(parts ...[]byte) []byte {
	h := md5.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// Session is an established NTLM context's message security (MS-NLMP
// 3.4 with extended session security): signing keys, RC4 sealing
// handles that persist across messages, and sequence numbers.
type Session struct {
	exported           [16]byte
	flags              Flags
	sendSign, recvSign []byte
	sendSeal, recvSeal *rc4.Cipher
	sendSeq, recvSeq   uint32
}

func newSession(exported [16]byte, flags Flags, client bool) *Session {
	s := &Session{exported: exported, flags: flags}
	base := exported[:]
	switch {
	case flags.Has(Flag128):
	case flags.Has(Flag56):
		base = base[:7]
	default:
		base = base[:5]
	}
	cs, ss := md5Of(exported[:], []byte(clientSignMagic)), md5Of(exported[:], []byte(serverSignMagic))
	ck, sk := md5Of(base, []byte(clientSealMagic)), md5Of(base, []byte(serverSealMagic))
	c1, _ := rc4.NewCipher(ck)
	c2, _ := rc4.NewCipher(sk)
	if client {
		s.sendSign, s.recvSign, s.sendSeal, s.recvSeal = cs, ss, c1, c2
	} else {
		s.sendSign, s.recvSign, s.sendSeal, s.recvSeal = ss, cs, c2, c1
	}
	return s
}

// SessionKey returns the exported session key (what SMB and friends use).
func (s *Session) SessionKey() [16]byte { return s.exported }

func (s *Session) signature(key []byte, h *rc4.Cipher, seq uint32, msg []byte) []byte {
	var sq [4]byte
	binary.LittleEndian.PutUint32(sq[:], seq)
	ck := hmacMD5(key, sq[:], msg)[:8]
	if s.flags.Has(FlagKeyExch) {
		h.XORKeyStream(ck, ck)
	}
	sig := make([]byte, 16)
	sig[0] = 1
	copy(sig[4:12], ck)
	copy(sig[12:], sq[:])
	return sig
}

// Sign returns the 16-byte signature of msg and advances the sequence.
func (s *Session) Sign(msg []byte) []byte {
	sig := s.signature(s.sendSign, s.sendSeal, s.sendSeq, msg)
	s.sendSeq++
	return sig
}

// Verify checks the peer's signature of msg.
func (s *Session) Verify(msg, sig []byte) error {
	if len(sig) != 16 {
		return errorf(StatusMessageAltered, "signature of %d bytes, not 16", len(sig))
	}
	want := s.signature(s.recvSign, s.recvSeal, s.recvSeq, msg)
	if subtle.ConstantTimeCompare(want, sig) != 1 {
		if binary.LittleEndian.Uint32(sig[12:]) != s.recvSeq {
			return errorf(StatusOutOfSequence, "signature has sequence number %d, expected %d", binary.LittleEndian.Uint32(sig[12:]), s.recvSeq)
		}
		return errorf(StatusMessageAltered, "the message signature does not verify")
	}
	s.recvSeq++
	return nil
}

// Seal encrypts msg and returns it with its signature: the data first,
// then the checksum, on one RC4 stream (MS-NLMP 3.4.3).
func (s *Session) Seal(msg []byte) (sealed, sig []byte) {
	sealed = make([]byte, len(msg))
	s.sendSeal.XORKeyStream(sealed, msg)
	sig = s.signature(s.sendSign, s.sendSeal, s.sendSeq, msg)
	s.sendSeq++
	return sealed, sig
}

// Unseal decrypts and verifies a sealed message.
func (s *Session) Unseal(sealed, sig []byte) ([]byte, error) {
	msg := make([]byte, len(sealed))
	s.recvSeal.XORKeyStream(msg, sealed)
	if err := s.Verify(msg, sig); err != nil {
		return nil, err
	}
	return msg, nil
}

// MakeMIC signs a SPNEGO mechListMIC: the RC4 state is restored
// afterwards while the sequence number stays consumed (MS-SPNG 3.2.5.1).
func (s *Session) MakeMIC(msg []byte) ([]byte, error) {
	saved := *s.sendSeal
	sig := s.Sign(msg)
	*s.sendSeal = saved
	return sig, nil
}

// VerifyMIC checks a SPNEGO mechListMIC, with the same RC4 rule.
func (s *Session) VerifyMIC(msg, sig []byte) error {
	saved := *s.recvSeal
	err := s.Verify(msg, sig)
	*s.recvSeal = saved
	return err
}
