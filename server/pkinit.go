package server

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"time"

	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/internal/atomicfile"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/store"
)

// The KDC's PKINIT certificate (id-pkinit-KPKdc, SAN krbtgt/REALM@REALM),
// issued by the realm CA into the data directory at the first serve
// with the CA (so existing realms get one on their next start) and
// re-issued at start when it has less than a month left.
const (
	KDCCertFile        = "kdc-pkinit.crt"
	KDCKeyFile         = "kdc-pkinit.key"
	kdcCertLifetime    = 365 * 24 * time.Hour
	kdcCertRenewBefore = 30 * 24 * time.Hour
)

// pkinitConfig returns the KDC's certificate logon configuration:
// certificate and key, the realm CA as trust anchor with its own
// revocation data, and the mutual-TLS mapping rules. Anonymous PKINIT is
// on: its TGTs are FAST armor only (krb5/kdc/anonymous.go).
func pkinitConfig(ctx context.Context, cfg *config.Config, st store.Store, ca *pki.Authority, log *slog.Logger) (*kdc.PKINITConfig, error) {
	cert, key, _, err := ensureKDCCert(ctx, cfg, ca, log)
	if err != nil {
		return nil, fmt.Errorf("KDC PKINIT certificate: %w", err)
	}
	v, err := pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{ca.CA()}, Revocation: ca})
	if err != nil {
		return nil, err
	}
	m, err := pki.NewMapper(ctx, pki.MapperConfig{Store: st, AllowUPN: cfg.PKI.AllowUPNMapping})
	if err != nil {
		return nil, err
	}
	return &kdc.PKINITConfig{Cert: cert, Key: key, Clients: &pki.PKINITChecker{Verifier: v, Mapper: m}, Anonymous: true}, nil
}

// ensureKDCCert loads the KDC certificate from the data directory, or
// issues and saves a new one when it is missing, not from the realm CA,
// lacks the KDC EKU or is about to expire.
func ensureKDCCert(ctx context.Context, cfg *config.Config, ca *pki.Authority, log *slog.Logger) (*x509.Certificate, crypto.Signer, bool, error) {
	certPath, keyPath := cfg.Path(KDCCertFile), cfg.Path(KDCKeyFile)
	cert, key := loadKDCCert(certPath, keyPath)
	why := pki.KDCCertRenewal(cert, ca.CA(), time.Now(), kdcCertRenewBefore)
	if why == "" {
		return cert, key, false, nil
	}
	iss, err := ca.IssueKDC(ctx, nil, pki.IssueRequest{Lifetime: kdcCertLifetime})
	if err != nil {
		return nil, nil, false, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(iss.Key)
	if err != nil {
		return nil, nil, false, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
	clear(kb)
	err = atomicfile.Write(keyPath, keyPEM, 0o600)
	clear(keyPEM)
	if err != nil {
		return nil, nil, false, err
	}
	if err := atomicfile.Write(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Cert.Raw}), 0o644); err != nil {
		return nil, nil, false, err
	}
	log.Info("issued the KDC's PKINIT certificate", "op", "pki_kdc_cert", "serial", iss.Record.Serial,
		"not_after", iss.Cert.NotAfter.UTC().Format(time.RFC3339), "why", why)
	return iss.Cert, iss.Key, true, nil
}

// renewKDCCert re-issues the KDC certificate before it expires and hands
// the new one to the running KDC, until ctx is done.
func (s *Server) renewKDCCert(ctx context.Context) {
	if s.pki == nil {
		return
	}
	everyRenewCheck(ctx, func() {
		cert, key, issued, err := ensureKDCCert(ctx, s.cfg, s.pki, s.log)
		if err == nil && issued {
			err = s.kdc.SetPKINITCertificate(cert, nil, key)
		}
		if err != nil {
			s.log.Error("renewing the KDC's PKINIT certificate failed", "op", "pki_kdc_cert", "reason", err.Error())
		}
	})
}

// loadKDCCert reads the saved certificate and key; nil, nil when either
// is missing, unreadable or the key is not the certificate's (then a new
// one is issued). tls.LoadX509KeyPair checks that they match.
func loadKDCCert(certPath, keyPath string) (*x509.Certificate, crypto.Signer) {
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil || c.Leaf == nil {
		return nil, nil
	}
	signer, ok := c.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil
	}
	return c.Leaf, signer
}
