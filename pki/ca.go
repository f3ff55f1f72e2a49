package pki

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/warden-auth/warden/store"
)

// CAOptions choose how CreateCA makes the realm CA.
type CAOptions struct {
	Realm    string           // required: the realm name, in the CA's subject
	KeyType  KeyType          // default ECDSA P-256
	Lifetime time.Duration    // default 10 years
	Time     func() time.Time // default time.Now
	Rand     io.Reader        // default crypto/rand
}

// CreateCA makes the realm CA (self-signed, basicConstraints cA with
// pathLen 0, keyUsage certSign+cRLSign+digitalSignature) and stores it,
// the key sealed under the master key. It fails with store.ErrExists if
// the realm has a CA.
func CreateCA(ctx context.Context, st store.CertStore, o CAOptions) (*x509.Certificate, error) {
	if o.Realm == "" {
		return nil, errors.New("pki: CreateCA needs the realm name")
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultCALifetime
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	key, err := GenerateKey(o.KeyType, o.Rand)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial(o.Rand)
	if err != nil {
		return nil, err
	}
	now := nowFrom(o.Time)
	pkixPub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	ski := sha1.Sum(pkixPub) // RFC 5280 4.2.1.2 method (1)-like identifier
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: o.Realm + " Warden CA", Organization: []string{o.Realm}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(o.Lifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski[:],
		SignatureAlgorithm:    signatureAlgorithm(key),
	}
	der, err := x509.CreateCertificate(o.Rand, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	defer clear(kder)
	if err := st.InitCA(ctx, store.CA{CertDER: der, KeyDER: kder, Created: now}); err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// EnsureCA returns the realm CA, creating it first if the realm has none
// (data directories made before the PKI existed); created tells which.
func EnsureCA(ctx context.Context, st store.CertStore, o CAOptions) (cert *x509.Certificate, created bool, err error) {
	c, err := loadCA(ctx, st)
	if !errors.Is(err, store.ErrNotFound) {
		return c, false, err
	}
	c, err = CreateCA(ctx, st, o)
	if errors.Is(err, store.ErrExists) { // another process won the race
		c, err = loadCA(ctx, st)
		return c, false, err
	}
	return c, err == nil, err
}

// loadCA returns the stored realm CA certificate.
func loadCA(ctx context.Context, st store.CertStore) (*x509.Certificate, error) {
	ca, err := st.CA(ctx)
	clear(ca.KeyDER)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(ca.CertDER)
}

// Config configures an Authority. Zero values are the documented defaults.
type Config struct {
	Store store.Store // required

	// LeafLifetime is the default lifetime of issued certificates (1 year).
	LeafLifetime time.Duration
	// CRLLifetime is NextUpdate - ThisUpdate of the CRL (24h); the CRL is
	// re-signed at half of it and at every change.
	CRLLifetime time.Duration
	// OCSPLifetime is NextUpdate - ThisUpdate of OCSP answers (1h).
	OCSPLifetime time.Duration
	// BaseURL, when set ("https://aa.example.test:8443"), is written into
	// issued certificates as the CRL distribution point (BaseURL/pki/crl),
	// the OCSP responder and the CA issuer URL (AIA).
	BaseURL string
	// DelegatedResponder makes OCSP answers signed by a short-lived
	// responder certificate (EKU OCSPSigning, id-pkix-ocsp-nocheck) issued
	// by the CA, instead of by the CA key itself.
	DelegatedResponder bool

	Time func() time.Time // default time.Now
	Rand io.Reader        // default crypto/rand
}

// Authority is the realm CA at work: issuing, revoking, CRL and OCSP. It
// is safe for concurrent use.
type Authority struct {
	cfg   Config
	st    store.Store
	realm store.Realm
	ca    *x509.Certificate
	key   crypto.Signer
	ids   issuerIDs
	// caSigner signs OCSP answers when there is no delegated responder.
	caSigner *responder
	// responderSeed derives delegated responder keys (from the CA key).
	responderSeed []byte

	mu        sync.Mutex // guards the fields below
	crlDER    []byte
	crlGen    int64
	crlUntil  time.Time // re-sign after this
	crlNumber int64
	responder *responder
}

// New loads the realm CA from the store. Without one it fails with
// CodeNoCA and the command to run.
func New(ctx context.Context, cfg Config) (*Authority, error) {
	if cfg.Store == nil {
		return nil, errors.New("pki: Config.Store is required")
	}
	if cfg.LeafLifetime == 0 {
		cfg.LeafLifetime = DefaultLeafLifetime
	}
	if cfg.CRLLifetime == 0 {
		cfg.CRLLifetime = DefaultCRLLifetime
	}
	if cfg.OCSPLifetime == 0 {
		cfg.OCSPLifetime = DefaultOCSPLifetime
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	realm, err := cfg.Store.Realm(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := cfg.Store.CA(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newErr(CodeNoCA, "realm "+realm.Name+" has no certificate authority yet",
			"create it with: warden cert ca -o ca.crt (warden serve with HTTPS on also creates it on start)", err)
	}
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(rec.CertDER)
	if err != nil {
		return nil, fmt.Errorf("realm CA certificate: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(rec.KeyDER)
	seed := responderSeed(rec.KeyDER)
	clear(rec.KeyDER)
	if err != nil {
		return nil, fmt.Errorf("realm CA key: %w", err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("realm CA key: %T cannot sign", k)
	}
	ids, err := newIssuerIDs(ca)
	if err != nil {
		return nil, err
	}
	caSigner, err := newResponder(key, ca, false)
	if err != nil {
		return nil, fmt.Errorf("realm CA key: %w", err)
	}
	return &Authority{cfg: cfg, st: cfg.Store, realm: realm, ca: ca, key: key, ids: ids, caSigner: caSigner, responderSeed: seed}, nil
}

// CA returns the realm CA certificate.
func (a *Authority) CA() *x509.Certificate { return a.ca }

// Realm returns the realm record the Authority was opened with.
func (a *Authority) Realm() store.Realm { return a.realm }

func (a *Authority) now() time.Time { return nowFrom(a.cfg.Time) }
