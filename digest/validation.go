package digest

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/warden-auth/warden/auth"
)

// Validation is what a server forwards to the AA: every input of the
// client's response and nothing secret. The AA recomputes the response
// from its stored H(A1) (Verify).
type Validation struct {
	Algorithm Algorithm
	// Username is the name as the client sent it (username, or username*
	// decoded), or the userhash in hex when UserHash is set.
	Username string
	UserHash bool
	Realm    string
	Nonce    string
	CNonce   string
	NC       string // 8 hex digits, as sent
	QOP      string // "auth" or "auth-int"
	Method   string
	URI      string
	// EntityHash is H(entity-body) in hex for qop=auth-int, "" otherwise.
	EntityHash string
	Response   string // lowercase hex
}

// Limits on the fields of a Validation. Nonces and cnonces are opaque
// strings; ours are 43 characters, curl's cnonces 48, but other clients
// and servers use more.
const (
	maxNonce    = 256
	maxUsername = 512
	maxRealm    = 256
	maxMethod   = 32
	maxURI      = 8 << 10
)

// Check refuses a Validation that no client could have made: unknown
// algorithm or qop, values of the wrong shape or over the limits. The AA
// runs it on what servers send.
func (v *Validation) Check() error {
	switch {
	case !v.Algorithm.Valid():
		return errorf(UnsupportedAlgorithm, "unknown algorithm")
	case v.QOP != "auth" && v.QOP != "auth-int":
		return errorf(UnsupportedQOP, "qop %s: only auth and auth-int are supported", quoteShort(v.QOP))
	case v.Username == "" || len(v.Username) > maxUsername || !utf8.ValidString(v.Username):
		return badHeader("the user name is empty, longer than %d bytes or not UTF-8", maxUsername)
	case v.UserHash && !isHex(v.Username, 2*v.Algorithm.Size()):
		return badHeader("a userhash must be %d hex digits", 2*v.Algorithm.Size())
	case v.Realm == "" || len(v.Realm) > maxRealm:
		return badHeader("the realm is empty or longer than %d bytes", maxRealm)
	case v.Nonce == "" || len(v.Nonce) > maxNonce:
		return badHeader("the nonce is empty or longer than %d bytes", maxNonce)
	case v.CNonce == "" || len(v.CNonce) > maxNonce:
		return badHeader("the cnonce is empty or longer than %d bytes", maxNonce)
	case !isHex(v.NC, 8) || v.NC == "00000000":
		return badHeader("nc must be 8 hex digits from 00000001")
	case v.Method == "" || len(v.Method) > maxMethod || !isToken(v.Method):
		return badHeader("the method is not an HTTP method")
	case v.URI == "" || len(v.URI) > maxURI:
		return badHeader("the uri is empty or longer than %d bytes", maxURI)
	case v.QOP == "auth-int" && !isHex(v.EntityHash, 2*v.Algorithm.Size()):
		return badHeader("qop=auth-int needs the entity-body hash (%d hex digits)", 2*v.Algorithm.Size())
	case v.QOP == "auth" && v.EntityHash != "":
		return badHeader("an entity-body hash belongs to qop=auth-int only")
	case !isHex(v.Response, 2*v.Algorithm.Size()):
		return badHeader("the response must be %d hex digits for %s", 2*v.Algorithm.Size(), v.Algorithm)
	}
	return nil
}

// Expected computes the response and the rspauth (RFC 7616 3.4.1, 3.5)
// from ha1, the hex H(username ":" realm ":" password). The client uses
// it to answer, the AA to verify; rspauth is the same computation with
// an empty method in A2.
func (v *Validation) Expected(ha1 string) (response, rspauth string) {
	a := v.Algorithm
	if a.Sess() {
		ha1 = a.H(ha1, v.Nonce, v.CNonce)
	}
	var ha2, ha2Auth string
	if v.QOP == "auth-int" {
		ha2, ha2Auth = a.H(v.Method, v.URI, v.EntityHash), a.H("", v.URI, v.EntityHash)
	} else {
		ha2, ha2Auth = a.H(v.Method, v.URI), a.H("", v.URI)
	}
	return a.H(ha1, v.Nonce, v.NC, v.CNonce, v.QOP, ha2), a.H(ha1, v.Nonce, v.NC, v.CNonce, v.QOP, ha2Auth)
}

// Verify recomputes the response from the stored H(A1) (raw bytes, as
// the account DB keeps it) and compares in constant time. It returns the
// rspauth for the Authentication-Info header; a mismatch is WrongPassword.
// The work does not depend on whether the response matches.
func (v *Validation) Verify(ha1 []byte) (rspauth string, err error) {
	if err := v.Check(); err != nil {
		return "", err
	}
	if len(ha1) != v.Algorithm.Size() {
		return "", errorf(AccountRestriction, "the stored H(A1) is %d bytes, %s needs %d", len(ha1), v.Algorithm.Base(), v.Algorithm.Size())
	}
	want, rsp := v.Expected(hex.EncodeToString(ha1))
	// Check let only hex through; strings.ToLower copies nothing when it
	// is already lowercase.
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(v.Response))) != 1 {
		return "", errorf(WrongPassword, "the response does not match the password")
	}
	return rsp, nil
}

// Verdict is the AA's answer to a successful validation: who the user is
// and the rspauth that proves to the client that the server asked an AA
// knowing its H(A1).
type Verdict struct {
	Identity auth.Identity
	RspAuth  string
}

// Validator has a response checked where the secrets are: the AA
// (*passthrough.Client over HTTPS), or the AA's own service in-process.
// Refusals are *Error values; LogonFailure for both unknown user and
// wrong password.
type Validator interface {
	ValidateDigest(ctx context.Context, v *Validation) (*Verdict, error)
}

// ValidatorFunc adapts a function to Validator.
type ValidatorFunc func(ctx context.Context, v *Validation) (*Verdict, error)

// ValidateDigest calls f.
func (f ValidatorFunc) ValidateDigest(ctx context.Context, v *Validation) (*Verdict, error) {
	return f(ctx, v)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if unhex(s[i]) < 0 {
			return false
		}
	}
	return true
}
