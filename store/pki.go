package store

import (
	"context"
	"time"
)

// CA is the realm's certificate authority: its certificate and private
// key. The key travels through the interface in clear (PKCS#8 DER) and is
// sealed by the backend under the master key, bound to the certificate.
type CA struct {
	CertDER []byte // the CA certificate
	KeyDER  []byte // PKCS#8 private key (clear in memory, sealed at rest)
	Created time.Time
}

// CertKind says what an issued certificate is for.
type CertKind string

// Certificate kinds.
const (
	CertUser      CertKind = "user"      // clientAuth, UPN + SID of a user account
	CertComputer  CertKind = "computer"  // clientAuth, UPN + SID of a computer account
	CertServer    CertKind = "server"    // serverAuth, DNS names
	CertResponder CertKind = "responder" // OCSP signing (delegated responder)
)

// Cert is the record of a certificate the realm CA issued.
type Cert struct {
	Serial    string   // lower-case hex, no leading zeros, no separators; unique
	Kind      CertKind // what it is for
	Account   string   // the account it was issued to; "" for server and responder certificates
	Subject   string   // RFC 4514 subject
	DNSNames  []string // DNS (and IP) names of server certificates
	NotBefore time.Time
	NotAfter  time.Time
	Revoked   time.Time // zero while not revoked
	Reason    int       // RFC 5280 CRLReason when revoked
	DER       []byte    // the certificate
	Created   time.Time
}

// IsRevoked reports whether the certificate has been revoked.
func (c *Cert) IsRevoked() bool { return !c.Revoked.IsZero() }

// CertFilter selects certificates in Certs; the zero value selects all.
type CertFilter struct {
	Account     string   // only those issued to this account (case-insensitive)
	Kind        CertKind // only those of this kind
	RevokedOnly bool     // only revoked ones
}

// CertBinding maps one certificate, named by its issuer and serial, to an
// account explicitly (the strong X509:<I>issuer<SR>serial mapping of AD's
// altSecurityIdentities, kept as structured fields).
type CertBinding struct {
	Issuer  string // RFC 4514 issuer DN, as x509.Certificate.Issuer.String()
	Serial  string // lower-case hex like Cert.Serial
	Account string
	Created time.Time
}

// CertStore is the part of the account DB that holds the realm PKI. Every
// change bumps the generation, so a process can tell that its CRL is stale.
type CertStore interface {
	// InitCA stores the realm CA; ErrExists if there is one.
	InitCA(ctx context.Context, ca CA) error
	// CA returns the realm CA; ErrNotFound before InitCA.
	CA(ctx context.Context) (CA, error)

	// AddCert records an issued certificate; ErrExists if the serial is
	// taken, ErrNotFound if Account names no account.
	AddCert(ctx context.Context, c *Cert) error
	// Cert returns the certificate with this serial.
	Cert(ctx context.Context, serial string) (*Cert, error)
	// Certs lists certificates by NotBefore, then serial.
	Certs(ctx context.Context, f CertFilter) ([]*Cert, error)
	// RevokeCert marks a certificate revoked at a time with a reason;
	// ErrNotFound if unknown, ErrExists if already revoked (the first
	// revocation is kept).
	RevokeCert(ctx context.Context, serial string, at time.Time, reason int) error

	// BindCert adds an explicit binding; ErrExists if this issuer and
	// serial are bound already, ErrNotFound if the account is unknown.
	BindCert(ctx context.Context, b CertBinding) error
	// UnbindCert removes a binding; ErrNotFound if absent.
	UnbindCert(ctx context.Context, issuer, serial string) error
	// CertBinding returns the binding of an issuer and serial.
	CertBinding(ctx context.Context, issuer, serial string) (CertBinding, error)
	// CertBindings lists an account's bindings ("" for all), by issuer and serial.
	CertBindings(ctx context.Context, account string) ([]CertBinding, error)
}
