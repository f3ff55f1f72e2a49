package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/warden-auth/warden/store"
)

// responder signs OCSP answers: the CA's key, or a delegated responder's
// (held in memory only) with its certificate from the CA. What every
// answer needs of it (responderID, signature algorithm) is computed once.
type responder struct {
	key       crypto.Signer
	cert      *x509.Certificate
	delegated bool        // include cert in answers
	keyHash   []byte      // SHA-1 of the public key: the responderID byKey
	algID     []byte      // DER AlgorithmIdentifier of the signature
	hash      crypto.Hash // hash signed, 0 for Ed25519
}

func newResponder(key crypto.Signer, cert *x509.Certificate, delegated bool) (*responder, error) {
	pub, err := publicKeyBits(cert)
	if err != nil {
		return nil, err
	}
	algID, hash, err := signatureAlgorithmID(key)
	if err != nil {
		return nil, err
	}
	return &responder{key: key, cert: cert, delegated: delegated, keyHash: digest(crypto.SHA1, pub), algID: algID, hash: hash}, nil
}

// ocspSigner returns what signs OCSP answers: the CA, or a delegated
// responder, re-issued when less than half its lifetime is left. A
// process starting up reuses a current responder from the account DB
// (one that another process or an earlier run issued), so that restarts
// do not pile up responder certificates.
func (a *Authority) ocspSigner(ctx context.Context) (*responder, error) {
	if !a.cfg.DelegatedResponder {
		return a.caSigner, nil
	}
	now := a.now()
	current := func(c *x509.Certificate) bool { return now.Before(c.NotAfter.Add(-DefaultResponderLife / 2)) }
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := a.responder; r != nil && current(r.cert) {
		return r, nil
	}
	if a.responder == nil {
		r, err := a.storedResponder(ctx, current)
		if err != nil {
			return nil, err
		}
		if r != nil {
			a.responder = r
			return r, nil
		}
	}
	var nonce [16]byte
	if _, err := io.ReadFull(a.cfg.Rand, nonce[:]); err != nil {
		return nil, err
	}
	id := hex.EncodeToString(nonce[:])
	key, err := a.responderKey(id)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:         pkix.Name{CommonName: a.realm.Name + " OCSP responder", Organization: []string{a.realm.Name}, SerialNumber: id},
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		ExtraExtensions: []pkix.Extension{{Id: OIDOCSPNoCheck, Value: []byte{0x05, 0x00}}},
	}
	iss, err := a.issue(ctx, tmpl, sanNames{}, store.CertResponder, "", IssueRequest{Lifetime: DefaultResponderLife, key: key})
	if err != nil {
		return nil, err
	}
	r, err := newResponder(iss.Key, iss.Cert, true)
	if err != nil {
		return nil, err
	}
	a.responder = r
	return r, nil
}

// storedResponder returns the newest current, unrevoked responder of the
// account DB whose key this CA derives, or nil.
func (a *Authority) storedResponder(ctx context.Context, current func(*x509.Certificate) bool) (*responder, error) {
	recs, err := a.st.Certs(ctx, store.CertFilter{Kind: store.CertResponder})
	if err != nil {
		return nil, err
	}
	for _, rec := range slices.Backward(recs) {
		if rec.IsRevoked() {
			continue
		}
		c, err := x509.ParseCertificate(rec.DER)
		if err != nil || !current(c) || c.CheckSignatureFrom(a.ca) != nil {
			continue
		}
		key, err := a.responderKey(c.Subject.SerialNumber)
		if err != nil || !key.PublicKey.Equal(c.PublicKey) {
			continue // issued before responder keys were derived
		}
		return newResponder(key, c, true)
	}
	return nil, nil
}

// responderSeed is the secret delegated responder keys are derived from:
// an HMAC of the CA's private key, so only the CA's holders can derive
// them and a responder key tells nothing of the CA key.
func responderSeed(caKeyDER []byte) []byte {
	m := hmac.New(sha256.New, caKeyDER)
	m.Write([]byte("warden ocsp responder keys v1"))
	return m.Sum(nil)
}

// responderKey derives the ECDSA P-256 key of the responder whose
// certificate's subject serialNumber is id (random, chosen at issuance),
// so that a responder outlives the process that issued it without its
// key being stored.
func (a *Authority) responderKey(id string) (*ecdsa.PrivateKey, error) {
	if id == "" {
		return nil, errors.New("responder certificate without an id")
	}
	for i := byte(0); ; i++ {
		m := hmac.New(sha256.New, a.responderSeed)
		m.Write([]byte(id))
		m.Write([]byte{i})
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), m.Sum(nil))
		if err == nil || i == 255 {
			return k, err
		}
	}
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
		return Status{}, newErr(CodeRevocationUnknown, "the certificate's issuer "+issuer.Subject.String()+" is not this realm's CA",
			"this AA knows the revocation status of its own CA's certificates only", nil)
	}
	st, err := a.localStatus(ctx, cert.SerialNumber)
	if err != nil {
		return Status{}, newErr(CodeRevocationUnknown, "account DB unavailable", "check the account DB (the AA's log says more); the request can be retried", err)
	}
	if st.status == OCSPUnknown {
		return Status{}, newErr(CodeRevocationUnknown, "serial "+SerialString(cert.SerialNumber)+" was not issued by this CA (no record)",
			"the account DB may be older than the certificate (restored from a backup?); issue a new one: warden cert issue", nil)
	}
	return Status{Revoked: st.status == OCSPRevoked, RevokedAt: st.revokedAt, Reason: st.reason,
		Source: "local", ThisUpdate: now, NextUpdate: now}, nil
}
