package kdc

import (
	"bytes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// PA-FX-COOKIE (RFC 6113 5.2): the KDC keeps no state between the rounds
// of a FAST conversation, so the cookie it hands out with
// PREAUTH_REQUIRED is sealed state that the client echoes. It is sealed
// with the realm's krbtgt key (key usage 513, MIT's cookie usage), so
// that any AA node of the realm can open it, and says: when it was
// issued, to which client, in which armored conversation (a digest of
// the armor key). A cookie presented by another client or under another
// armor is a replay; an armored conversation's cookie in an unarmored
// request is a downgrade; an old one has expired.
//
//	cookie    = sealed (sealed.go), magic "WDC1"
//	plaintext = flags (1) | issued (unix seconds, i64 BE) | armor digest (16) | client name

const (
	cookieMagic    = "WDC1"
	usageFXCookie  = kcrypto.Usage(513)
	cookieArmored  = 0x01
	cookieMaxBytes = 1024
	// cookieLifetime bounds a conversation: PREAUTH_REQUIRED, then the
	// user types a password, then the request with the challenge.
	cookieLifetime = 15 * time.Minute
)

// fxCookie is an opened PA-FX-COOKIE.
type fxCookie struct {
	armored bool
	issued  time.Time
	armor   [16]byte
	client  string
}

// newCookie seals a cookie for the current armored conversation with the
// krbtgt's newest key.
func (x *exchange) newCookie() (krb5.PAData, error) {
	plain := make([]byte, 0, 25+len(x.res.Client))
	var flags byte
	var digest [16]byte
	if x.fast != nil {
		flags |= cookieArmored
		digest = x.fast.armorDigest
	}
	plain = append(plain, flags)
	plain = binary.BigEndian.AppendUint64(plain, uint64(x.now.Unix()))
	plain = append(plain, digest[:]...)
	plain = append(plain, x.res.Client...)
	v, err := x.sealKrbtgt(cookieMagic, usageFXCookie, plain)
	if err != nil {
		return krb5.PAData{}, err
	}
	return krb5.FXCookiePAData(v), nil
}

// checkCookie verifies the request's PA-FX-COOKIE, if it carries one of
// ours. Cookies of other formats are ignored: RFC 6113 makes them
// opaque, and only this KDC's can mean anything here.
func (x *exchange) checkCookie() error {
	pa, ok := x.req.PAData.Find(krb5.PAFXCookie)
	if !ok || !bytes.HasPrefix(pa.Value, []byte(cookieMagic)) {
		return nil
	}
	c, err := x.openCookie(pa.Value)
	if err != nil {
		return err
	}
	if age := x.now.Sub(c.issued); age > cookieLifetime || age < -x.k.cfg.MaxSkew {
		return &krb5.Error{Code: krb5.KDCErrPreauthExpired,
			Reason: "the FAST cookie expired (issued " + c.issued.UTC().Format(time.RFC3339) + ", valid " + cookieLifetime.String() + ")",
			Hint:   "start the login again"}
	}
	if c.armored && x.fast == nil {
		x.res.Detail = "FAST downgrade: an armored conversation's cookie in an unarmored request"
		return &krb5.Error{Code: krb5.KDCErrPolicy,
			Reason: "FAST downgrade refused: this conversation began armored, so the request must be armored too",
			Hint:   "something between the client and the KDC removed the FAST armor, or the client dropped it"}
	}
	if !strings.EqualFold(c.client, x.res.Client) {
		return &krb5.Error{Code: krb5.KRBAPErrRepeat,
			Reason: "the FAST cookie was issued to another client: a replayed cookie"}
	}
	if x.fast != nil && (!c.armored || subtle.ConstantTimeCompare(c.armor[:], x.fast.armorDigest[:]) != 1) {
		return &krb5.Error{Code: krb5.KRBAPErrRepeat,
			Reason: "the FAST cookie belongs to another armored conversation (another armor key): a replayed cookie",
			Hint:   "a client keeps one armor for the whole conversation"}
	}
	return nil
}

// openCookie unseals one of this KDC's cookies.
func (x *exchange) openCookie(v []byte) (*fxCookie, error) {
	plain, err := x.openKrbtgt(v, cookieMagic, usageFXCookie, cookieMaxBytes)
	switch {
	case errors.Is(err, errSealedKeyGone):
		return nil, &krb5.Error{Code: krb5.KDCErrPreauthExpired,
			Reason: "the FAST cookie was sealed with a krbtgt key this KDC no longer holds",
			Hint:   "start the login again"}
	case err == nil && len(plain) < 25, errors.Is(err, errSealedBad):
		return nil, &krb5.Error{Code: krb5.KRBAPErrModified,
			Reason: "the FAST cookie was not sealed by this realm's KDC, or was altered"}
	case err != nil:
		return nil, err
	}
	c := &fxCookie{
		armored: plain[0]&cookieArmored != 0,
		issued:  time.Unix(int64(binary.BigEndian.Uint64(plain[1:9])), 0),
		client:  string(plain[25:]),
	}
	copy(c.armor[:], plain[9:25])
	return c, nil
}
