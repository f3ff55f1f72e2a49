package pki

import (
	"context"
	"crypto/x509"
	"math/big"
	"time"

	"github.com/warden-auth/warden/store"
)

// CRL returns the current CRL (DER), signed by the CA: every revoked
// certificate that has not expired, thisUpdate now, nextUpdate
// now+CRLLifetime, a CRL number that grows. It is cached and re-signed
// when the account DB changes or half its lifetime has passed.
func (a *Authority) CRL(ctx context.Context) ([]byte, error) {
	gen, err := a.st.Generation(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	a.mu.Lock()
	if a.crlDER != nil && a.crlGen == gen && now.Before(a.crlUntil) {
		der := a.crlDER
		a.mu.Unlock()
		return der, nil
	}
	a.mu.Unlock()

	revoked, err := a.st.Certs(ctx, store.CertFilter{RevokedOnly: true})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	number := max(now.UnixNano(), a.crlNumber+1) // grows across restarts with the clock
	a.crlNumber = number
	a.mu.Unlock()
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(number),
		ThisUpdate: now,
		NextUpdate: now.Add(a.cfg.CRLLifetime),
	}
	for _, c := range revoked {
		if now.After(c.NotAfter.Add(time.Hour)) {
			continue // expired certificates leave the CRL (RFC 5280 3.3)
		}
		n, err := ParseSerial(c.Serial)
		if err != nil {
			return nil, err
		}
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: n, RevocationTime: c.Revoked, ReasonCode: c.Reason,
		})
	}
	der, err := x509.CreateRevocationList(a.cfg.Rand, tmpl, a.ca, a.key)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.crlDER, a.crlGen, a.crlUntil = der, gen, now.Add(a.cfg.CRLLifetime/2)
	a.mu.Unlock()
	return der, nil
}
