package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"time"

	"github.com/warden-auth/warden/store"
)

// responder is a delegated OCSP responder: a key held in memory only and
// its certificate from the CA.
type responder struct {
	key  crypto.Signer
	cert *x509.Certificate
}

// ocspSigner returns the key and certificate that sign OCSP answers: the
// CA's, or a delegated responder's, issued on first use and re-issued
// when less than half its lifetime is left.
func (a *Authority) ocspSigner(ctx context.Context) (crypto.Signer, *x509.Certificate, error) {
	if !a.cfg.DelegatedResponder {
		return a.key, a.ca, nil
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := a.responder; r != nil && now.Before(r.cert.NotAfter.Add(-DefaultResponderLife/2)) {
		return r.key, r.cert, nil
	}
	tmpl := &x509.Certificate{
		Subject:         pkix.Name{CommonName: a.realm.Name + " OCSP responder", Organization: []string{a.realm.Name}},
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		ExtraExtensions: []pkix.Extension{{Id: OIDOCSPNoCheck, Value: []byte{0x05, 0x00}}},
	}
	iss, err := a.issue(ctx, tmpl, sanNames{}, store.CertResponder, "", IssueRequest{Lifetime: DefaultResponderLife})
	if err != nil {
		return nil, nil, err
	}
	a.responder = &responder{key: iss.Key, cert: iss.Cert}
	return iss.Key, iss.Cert, nil
}

// Status is the revocation status of a certificate as a checker found it.
type Status struct {
	Revoked    bool
	RevokedAt  time.Time
	Reason     Reason
	Source     string    // "local" (the account DB), "ocsp" or "crl"
	ThisUpdate time.Time // when the answer was produced
	NextUpdate time.Time // until when its source vouches for it
}

// RevocationChecker tells whether a certificate issued by issuer is
// revoked. An error means the status could not be determined.
type RevocationChecker interface {
	Status(ctx context.Context, cert, issuer *x509.Certificate) (Status, error)
}

// Status implements RevocationChecker from the account DB, for checks
// made on the AA itself (always current).
func (a *Authority) Status(ctx context.Context, cert, issuer *x509.Certificate) (Status, error) {
	now := a.now()
	if !issuer.Equal(a.ca) {
		return Status{}, newErr(CodeRevocationUnknown, "the certificate's issuer "+issuer.Subject.String()+" is not this realm's CA", "", nil)
	}
	st, err := a.localStatus(ctx, cert.SerialNumber)
	if err != nil {
		return Status{}, newErr(CodeRevocationUnknown, "account DB unavailable", "", err)
	}
	if st.status == OCSPUnknown {
		return Status{}, newErr(CodeRevocationUnknown, "serial "+SerialString(cert.SerialNumber)+" was not issued by this CA (no record)", "", nil)
	}
	return Status{Revoked: st.status == OCSPRevoked, RevokedAt: st.revokedAt, Reason: st.reason,
		Source: "local", ThisUpdate: now, NextUpdate: now}, nil
}
