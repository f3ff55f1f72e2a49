// Package pki is the realm's certificate authority and the checks that
// rely on it.
//
// The AA side: CreateCA/EnsureCA make the realm CA (ECDSA P-256 by
// default, RSA-3072 on request; the key sealed at rest by the store under
// the master key). An Authority issues certificates to accounts (UPN SAN
// and the AD SID extension 1.3.6.1.4.1.311.25.2 for strong mapping,
// clientAuth) and to servers (DNS SANs, serverAuth), from a CSR or with a
// generated key; renews and revokes them; builds the CRL; and answers OCSP
// requests (RFC 6960), signed by the CA or a delegated responder.
//
// The relying side: a Verifier checks a client chain (VerifyClient) or a
// server chain and DNS name (VerifyServer) against the realm CA, with
// revocation from a RevocationChecker (the Authority itself on the AA, a
// RemoteChecker elsewhere: OCSP with CRL fallback, cached for a stated
// freshness). A Mapper maps a verified client certificate to an account:
// strong mappings (SID extension, explicit issuer+serial binding) always,
// the UPN alone only when allowed.
//
// Every refusal is a *Error with a Code, a Reason carrying the observed
// values (dates, names, serials) and a Hint. The package has no CLI, SQL
// or HTTP serving; the daemon (server) mounts its endpoints.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

// KeyType names a key algorithm for the CA or a generated leaf key.
type KeyType string

// Key types.
const (
	KeyECDSAP256 KeyType = "ecdsa-p256" // default
	KeyRSA3072   KeyType = "rsa-3072"
)

// Default lifetimes.
const (
	DefaultCALifetime     = 10 * 365 * 24 * time.Hour
	DefaultLeafLifetime   = 365 * 24 * time.Hour
	DefaultCRLLifetime    = 24 * time.Hour
	DefaultOCSPLifetime   = time.Hour
	DefaultResponderLife  = 7 * 24 * time.Hour
	maxLeafLifetime       = 5 * 365 * 24 * time.Hour
	backdate              = 5 * time.Minute // NotBefore slack for clients with slow clocks
	defaultRemoteFreshAge = 5 * time.Minute
)

// ParseKeyType accepts "", "ecdsa-p256" (or "ecdsa", "p256") and "rsa-3072" (or "rsa").
func ParseKeyType(s string) (KeyType, error) {
	switch strings.ToLower(s) {
	case "", "ecdsa", "ecdsa-p256", "p256", "p-256":
		return KeyECDSAP256, nil
	case "rsa", "rsa-3072", "rsa3072":
		return KeyRSA3072, nil
	}
	return "", newErr(CodeBadRequest, fmt.Sprintf("key type %q is not supported", s), "use ecdsa-p256 (default) or rsa-3072", nil)
}

// GenerateKey makes a private key of the type.
func GenerateKey(t KeyType, rnd io.Reader) (crypto.Signer, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	switch t {
	case "", KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rnd)
	case KeyRSA3072:
		return rsa.GenerateKey(rnd, 3072)
	}
	_, err := ParseKeyType(string(t))
	return nil, err
}

// newSerial returns a random positive 128-bit serial (the top bit is
// cleared so the DER INTEGER stays 16 bytes).
func newSerial(rnd io.Reader) (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return nil, err
		}
		b[0] &= 0x7f
		n := new(big.Int).SetBytes(b[:])
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// SerialString is the textual serial used everywhere (store, CLI, logs):
// lower-case hex without leading zeros.
func SerialString(n *big.Int) string { return n.Text(16) }

// ParseSerial reads a serial in hex, with optional "0x" prefix and ':' separators.
func ParseSerial(s string) (*big.Int, error) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	t = strings.TrimPrefix(t, "0x")
	n, ok := new(big.Int).SetString(t, 16)
	if !ok || n.Sign() <= 0 || len(t) > 40 {
		return nil, newErr(CodeBadRequest, fmt.Sprintf("%q is not a certificate serial (hex)", s), "serials are listed by warden cert list", nil)
	}
	return n, nil
}

// now returns the clock's time, truncated to seconds (certificates and
// OCSP carry seconds).
func nowFrom(f func() time.Time) time.Time {
	if f == nil {
		return time.Now().UTC().Truncate(time.Second)
	}
	return f().UTC().Truncate(time.Second)
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// keyDescription names a public key for messages: "ECDSA P-256", "RSA-3072".
func keyDescription(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", pub)
}

func signatureAlgorithm(s crypto.Signer) x509.SignatureAlgorithm {
	switch k := s.Public().(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P384() {
			return x509.ECDSAWithSHA384
		}
		return x509.ECDSAWithSHA256
	case *rsa.PublicKey:
		return x509.SHA256WithRSA
	}
	return x509.UnknownSignatureAlgorithm
}
