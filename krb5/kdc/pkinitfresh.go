package kdc

import (
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// PKINIT freshness tokens (RFC 8070): a client that sends an empty
// PA-AS-FRESHNESS gets a token with PREAUTH_REQUIRED and signs it inside
// its PKAuthenticator, proving the signature was made after the KDC
// issued the token (a smart card's signature cannot be made in advance
// and replayed later). The token is sealed like the FAST cookie
// (sealed.go, magic "WDF1"), and says when and to which client it was
// issued:
//
//	plaintext = issued (unix seconds, i64 BE) | client name

const (
	freshMagic    = "WDF1"
	usageFreshTok = kcrypto.Usage(514) // private to Warden's KDC, next to the cookie's 513
	freshMaxBytes = 1024
	// freshLifetime covers a PIN prompt between PREAUTH_REQUIRED and
	// the signed request.
	freshLifetime = 10 * time.Minute
)

// freshnessHint returns a PA-AS-FRESHNESS with a new token when the
// request asked for one (an empty PA-AS-FRESHNESS, RFC 8070 4).
func (x *exchange) freshnessHint() (krb5.PAData, bool) {
	if x.k.pkinit == nil {
		return krb5.PAData{}, false
	}
	if _, asked := x.req.PAData.Find(krb5.PAASFreshness); !asked {
		return krb5.PAData{}, false
	}
	plain := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(x.res.Client)), uint64(x.now.Unix()))
	plain = append(plain, x.res.Client...)
	v, err := x.sealKrbtgt(freshMagic, usageFreshTok, plain)
	if err != nil {
		return krb5.PAData{}, false
	}
	return krb5.PAData{Type: krb5.PAASFreshness, Value: v}, true
}

// checkFreshness verifies a PKAuthenticator's freshness token: sealed
// by this realm's KDC, for this client, within freshLifetime. It reports
// whether a valid token was present; an absent one is accepted.
func (x *exchange) checkFreshness(token []byte) (bool, error) {
	if token == nil {
		return false, nil
	}
	bad := &krb5.Error{Code: krb5.KDCErrPreauthFailed,
		Reason: "the PKINIT freshness token was not issued by this realm's KDC, or was altered"}
	plain, err := x.openKrbtgt(token, freshMagic, usageFreshTok, freshMaxBytes)
	switch {
	case errors.Is(err, errSealedKeyGone):
		return false, &krb5.Error{Code: krb5.KDCErrPreauthExpired,
			Reason: "the PKINIT freshness token was sealed with a krbtgt key this KDC no longer holds; start the login again"}
	case err == nil && len(plain) < 8, errors.Is(err, errSealedBad):
		return false, bad
	case err != nil:
		return false, err
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(plain[:8])), 0)
	if age := x.now.Sub(issued); age > freshLifetime || age < -x.k.cfg.MaxSkew {
		return false, &krb5.Error{Code: krb5.KDCErrPreauthExpired,
			Reason: "the PKINIT freshness token expired (issued " + issued.UTC().Format(time.RFC3339) + ", valid " + freshLifetime.String() + "); start the login again"}
	}
	if !strings.EqualFold(string(plain[8:]), x.res.Client) {
		return false, &krb5.Error{Code: krb5.KDCErrPreauthFailed,
			Reason: "the PKINIT freshness token was issued to another client"}
	}
	return true, nil
}
