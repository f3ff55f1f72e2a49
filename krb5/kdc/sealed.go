package kdc

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// State the KDC hands a client to echo later (the FAST cookie, PKINIT
// freshness tokens) is sealed with the realm's krbtgt key, so that any
// AA node of the realm can open it and nobody else can read or forge it:
//
//	sealed = magic (4) | kvno (u32 BE) | enctype (i32 BE) | ciphertext

const sealedHeader = 12

// errSealedKeyGone: the krbtgt key that sealed the state is no longer
// held (rotated out); errSealedBad: not ours, or altered.
var (
	errSealedKeyGone = errors.New("sealed with a krbtgt key this KDC no longer holds")
	errSealedBad     = errors.New("not sealed by this realm's KDC, or altered")
)

// sealKrbtgt seals plain under usage with the krbtgt's newest key.
func (x *exchange) sealKrbtgt(magic string, usage kcrypto.Usage, plain []byte) ([]byte, error) {
	tgs, err := x.k.krbtgt(x.ctx)
	if err != nil {
		return nil, err
	}
	pk, ok := tgs.ticketKey()
	if !ok {
		return nil, errNoKrbtgtKey()
	}
	ct, err := pk.key().Encrypt(x.k.cfg.Rand, usage, plain)
	if err != nil {
		return nil, err
	}
	v := make([]byte, 0, sealedHeader+len(ct))
	v = append(v, magic...)
	v = binary.BigEndian.AppendUint32(v, pk.kvno)
	v = binary.BigEndian.AppendUint32(v, uint32(pk.etype))
	return append(v, ct...), nil
}

// openKrbtgt opens what sealKrbtgt sealed with magic and usage, refusing
// more than maxLen bytes. Its errors are errSealedKeyGone, errSealedBad,
// or the store's.
func (x *exchange) openKrbtgt(v []byte, magic string, usage kcrypto.Usage, maxLen int) ([]byte, error) {
	if len(v) < sealedHeader || len(v) > maxLen || !bytes.HasPrefix(v, []byte(magic)) {
		return nil, errSealedBad
	}
	kvno := binary.BigEndian.Uint32(v[4:8])
	etype := krb5.EncType(int32(binary.BigEndian.Uint32(v[8:12])))
	tgs, err := x.k.krbtgt(x.ctx)
	if err != nil {
		return nil, err
	}
	pk, ok := tgs.key(etype, kvno)
	if !ok || kvno == 0 {
		return nil, errSealedKeyGone
	}
	plain, err := pk.key().Decrypt(usage, v[sealedHeader:])
	if err != nil {
		return nil, errSealedBad
	}
	return plain, nil
}
