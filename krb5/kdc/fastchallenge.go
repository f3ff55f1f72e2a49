package kdc

import (
	"crypto/subtle"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// PA-ENCRYPTED-CHALLENGE (RFC 6113 5.4.6), the FAST factor for passwords:
// the client encrypts a PA-ENC-TS-ENC with the client challenge key
// CF2(armor key, long-term key, "clientchallengearmor",
// "challengelongterm") (usage 54), and the KDC proves it holds the same
// long-term key with its own timestamp under the KDC challenge key
// (pepper "kdcchallengearmor", usage 55). The long-term key stays the
// reply key; FAST strengthens it.

// maxCF2Half is the longest PRF+ a CF2 asks of its second key: the key
// size of the first key's enctype, at most 32 bytes (AES-256).
const maxCF2Half = 32

// fxHalves are the PRF+ outputs of one long-term key that FAST uses with
// every armor key: cached on the key so that an armored AS exchange
// derives nothing from the long-term key per request.
type fxHalves struct {
	challenge []byte // PRF+(key, "challengelongterm", 32)
	reply     []byte // PRF+(key, "replykey", 32)
}

// halves returns the key's FAST PRF+ outputs, computing them on first use.
func (k *principalKey) halves() (*fxHalves, error) {
	if h := k.fx.Load(); h != nil {
		return h, nil
	}
	kk := k.key()
	c, err := kk.PRFPlus(krb5.PepperChallengeLT, maxCF2Half)
	if err != nil {
		return nil, err
	}
	r, err := kk.PRFPlus(krb5.PepperReplyKey, maxCF2Half)
	if err != nil {
		return nil, err
	}
	h := &fxHalves{challenge: c, reply: r}
	if k.fx.CompareAndSwap(nil, h) {
		return h, nil
	}
	return k.fx.Load(), nil
}

// cf2Half is KRB-FX-CF2(k1, k2, pepper1, p2) given half2 = PRF+(k2, p2)
// of at least the key size of k1's enctype.
func cf2Half(k1 *kcrypto.Key, pepper1 string, half2 []byte, opt kcrypto.Options) (*kcrypto.Key, error) {
	n := kcrypto.KeySize(k1.EType())
	a, err := k1.PRFPlus(pepper1, n)
	if err != nil {
		return nil, err
	}
	subtle.XORBytes(a, a, half2[:n])
	// Random-to-key is the identity for every enctype Warden implements.
	return kcrypto.NewKey(krb5.EncryptionKey{KeyType: k1.EType(), KeyValue: a}, withRC4(opt, k1))
}

// withRC4 allows RC4 when k1 already is an RC4 key: it was accepted
// when it was made, so a key derived from it is too.
func withRC4(opt kcrypto.Options, k1 *kcrypto.Key) kcrypto.Options {
	if k1.EType() == krb5.ETypeRC4HMAC {
		opt.AllowRC4 = true
	}
	return opt
}

// verifyEncChallenge checks the client's PA-ENCRYPTED-CHALLENGE and
// returns the long-term key it was made with, the reply key. The
// ciphertext is under the client challenge key, whose enctype is the
// armor key's, so it does not say which long-term key the client used:
// the key of the enctype ETYPE-INFO2 named first (the request's first
// enctype the account has) is tried first, then the account's others,
// as MIT and Heimdal do.
func (x *exchange) verifyEncChallenge(client *principal, value []byte) (*principalKey, error) {
	fs, k := x.fast, x.k
	ed, err := krb5.DecodeEncryptedChallenge(value)
	if err != nil {
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed, Reason: "malformed PA-ENCRYPTED-CHALLENGE", Err: err}
	}
	if ed.EType != fs.armorKey.EType() {
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed,
			Reason: "PA-ENCRYPTED-CHALLENGE is encrypted with " + ed.EType.String() + ", but the armor key (and so the challenge key) is " + fs.armorKey.EType().String()}
	}
	n := kcrypto.KeySize(fs.armorKey.EType())
	armorHalf, err := fs.armorKey.PRFPlus(krb5.PepperClientChallenge, n)
	if err != nil {
		return nil, err
	}
	first, _ := firstKey(client, x.req.ReqBody.EType)
	try := func(pk *principalKey) ([]byte, *fxHalves, bool) {
		h, err := pk.halves()
		if err != nil {
			return nil, nil, false
		}
		b := make([]byte, n)
		subtle.XORBytes(b, armorHalf, h.challenge[:n])
		ck, err := kcrypto.NewKey(krb5.EncryptionKey{KeyType: fs.armorKey.EType(), KeyValue: b}, withRC4(k.cfg.Crypto, fs.armorKey))
		if err != nil {
			return nil, nil, false
		}
		plain, err := ck.DecryptData(kcrypto.UsageEncChallengeClient, ed)
		return plain, h, err == nil
	}
	var (
		used  *principalKey
		plain []byte
		h     *fxHalves
		ok    bool
	)
	if first != nil {
		if plain, h, ok = try(first); ok {
			used = first
		}
	}
	keys := client.keys()
	for i := 0; used == nil && i < len(keys); i++ {
		pk := &keys[i]
		if pk == first || pk.kvno != client.kvno {
			continue
		}
		if plain, h, ok = try(pk); ok {
			used = pk
		}
	}
	if used == nil {
		x.res.Detail = "wrong password (encrypted challenge)"
		x.recordFailure(client)
		return nil, errPreauthFailed(x.res.Client)
	}
	var ts krb5.PAEncTSEnc
	if err := ts.Unmarshal(plain); err != nil {
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthFailed, Reason: "malformed PA-ENC-TS-ENC in PA-ENCRYPTED-CHALLENGE", Err: err}
	}
	if err := x.checkSkew(ts.Time(), ""); err != nil {
		return nil, err
	}
	if fs.kdcChallenge, err = cf2Half(fs.armorKey, krb5.PepperKDCChallenge, h.challenge, k.cfg.Crypto); err != nil {
		return nil, err
	}
	return used, nil
}

// kdcChallengePAData is the KDC's PA-ENCRYPTED-CHALLENGE: its time under
// the KDC challenge key (usage 55), which tells the client that the KDC
// knows its long-term key.
func (x *exchange) kdcChallengePAData() (krb5.PAData, error) {
	now := x.now
	ts := krb5.PAEncTSEnc{PATimestamp: now.UTC().Truncate(time.Second), PAUSec: int32(now.Nanosecond() / 1000), HasUSec: true}
	plain, err := ts.Marshal()
	if err != nil {
		return krb5.PAData{}, err
	}
	ed, err := x.fast.kdcChallenge.EncryptData(x.k.cfg.Rand, kcrypto.UsageEncChallengeKDC, plain, 0, false)
	if err != nil {
		return krb5.PAData{}, err
	}
	return krb5.EncryptedChallengePAData(ed), nil
}
