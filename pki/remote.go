package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// RemoteConfig configures a RemoteChecker. Zero values are the defaults.
type RemoteConfig struct {
	// OCSPURL and CRLURL override the URLs in the certificates (AIA OCSP,
	// CRL distribution point), e.g. https://aa.example.test/pki/ocsp.
	OCSPURL, CRLURL string
	// HTTPClient fetches OCSP answers and CRLs (default: 5s timeout). It
	// must trust the AA's HTTPS certificate (the realm CA).
	HTTPClient *http.Client
	// Freshness is the longest a status is reused (default 5 minutes):
	// a revocation is seen at most this long after it is made, however
	// long the OCSP answer or CRL says it is valid.
	Freshness time.Duration
	// MaxCRLSize caps a downloaded CRL (default 8 MiB).
	MaxCRLSize int64
	// MaxEntries caps the OCSP status cache (default 10000).
	MaxEntries int
	Time       func() time.Time
}

// RemoteChecker finds revocation status over HTTP: OCSP first, the CRL
// when OCSP fails; answers are cached for at most Freshness and never
// past their own nextUpdate. Safe for concurrent use.
type RemoteChecker struct {
	cfg RemoteConfig

	mu   sync.Mutex
	ocsp map[string]Status // by issuer key hash + serial
	crls map[string]*cachedCRL
}

type cachedCRL struct {
	list  *x509.RevocationList
	until time.Time
}

// NewRemoteChecker returns a RemoteChecker.
func NewRemoteChecker(cfg RemoteConfig) *RemoteChecker {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Freshness <= 0 {
		cfg.Freshness = defaultRemoteFreshAge
	}
	if cfg.MaxCRLSize <= 0 {
		cfg.MaxCRLSize = 8 << 20
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 10000
	}
	return &RemoteChecker{cfg: cfg, ocsp: map[string]Status{}, crls: map[string]*cachedCRL{}}
}

// Freshness returns the longest time a cached status is used.
func (r *RemoteChecker) Freshness() time.Duration { return r.cfg.Freshness }

func (r *RemoteChecker) now() time.Time {
	if r.cfg.Time == nil {
		return time.Now()
	}
	return r.cfg.Time()
}

// Status implements RevocationChecker.
func (r *RemoteChecker) Status(ctx context.Context, cert, issuer *x509.Certificate) (Status, error) {
	key := string(issuer.RawSubjectPublicKeyInfo) + "|" + cert.SerialNumber.String()
	now := r.now()
	r.mu.Lock()
	if st, ok := r.ocsp[key]; ok && now.Before(st.NextUpdate) {
		r.mu.Unlock()
		return st, nil
	}
	r.mu.Unlock()

	st, oerr := r.fetchOCSP(ctx, cert, issuer, now)
	if oerr != nil {
		var cerr error
		st, cerr = r.fromCRL(ctx, cert, issuer, now)
		if cerr != nil {
			return Status{}, newErr(CodeRevocationUnknown,
				fmt.Sprintf("revocation status of serial %s unavailable: OCSP: %v; CRL: %v", SerialString(cert.SerialNumber), oerr, cerr),
				"check that the AA's /pki/ocsp or /pki/crl is reachable from this host", errors.Join(oerr, cerr))
		}
		return st, nil
	}
	r.mu.Lock()
	if len(r.ocsp) >= r.cfg.MaxEntries {
		for k, v := range r.ocsp {
			if !now.Before(v.NextUpdate) {
				delete(r.ocsp, k)
			}
		}
		if len(r.ocsp) >= r.cfg.MaxEntries {
			clear(r.ocsp)
		}
	}
	r.ocsp[key] = st
	r.mu.Unlock()
	return st, nil
}

// cacheUntil is when a status from a source valid until next stops being used.
func (r *RemoteChecker) cacheUntil(now, next time.Time) time.Time {
	until := now.Add(r.cfg.Freshness)
	if !next.IsZero() && next.Before(until) {
		until = next
	}
	return until
}

func (r *RemoteChecker) fetchOCSP(ctx context.Context, cert, issuer *x509.Certificate, now time.Time) (Status, error) {
	url := r.cfg.OCSPURL
	if url == "" && len(cert.OCSPServer) > 0 {
		url = cert.OCSPServer[0]
	}
	if url == "" {
		return Status{}, errors.New("no OCSP URL configured or in the certificate")
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return Status{}, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return Status{}, err
	}
	hreq.Header.Set("Content-Type", "application/ocsp-request")
	body, err := r.fetch(hreq, "OCSP answer", maxOCSPAnswerSize)
	if err != nil {
		return Status{}, err
	}
	o, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		return Status{}, fmt.Errorf("OCSP answer: %w", err)
	}
	if o.Certificate != nil && !hasEKU(o.Certificate, x509.ExtKeyUsageOCSPSigning) {
		return Status{}, errors.New("OCSP answer signed by a certificate without the OCSPSigning usage")
	}
	if o.ThisUpdate.After(now.Add(5 * time.Minute)) {
		return Status{}, fmt.Errorf("OCSP answer produced in the future (%s)", fmtTime(o.ThisUpdate))
	}
	if !o.NextUpdate.IsZero() && !now.Before(o.NextUpdate) {
		return Status{}, fmt.Errorf("OCSP answer is stale (next update %s)", fmtTime(o.NextUpdate))
	}
	st := Status{Source: "ocsp", ThisUpdate: o.ThisUpdate, NextUpdate: r.cacheUntil(now, o.NextUpdate)}
	switch o.Status {
	case ocsp.Good:
	case ocsp.Revoked:
		st.Revoked, st.RevokedAt, st.Reason = true, o.RevokedAt, Reason(o.RevocationReason)
	default:
		return Status{}, fmt.Errorf("OCSP responder does not know serial %s", SerialString(cert.SerialNumber))
	}
	return st, nil
}

func hasEKU(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	for _, e := range c.ExtKeyUsage {
		if e == u {
			return true
		}
	}
	return false
}

func (r *RemoteChecker) fromCRL(ctx context.Context, cert, issuer *x509.Certificate, now time.Time) (Status, error) {
	url := r.cfg.CRLURL
	if url == "" && len(cert.CRLDistributionPoints) > 0 {
		url = cert.CRLDistributionPoints[0]
	}
	if url == "" {
		return Status{}, errors.New("no CRL URL configured or in the certificate")
	}
	r.mu.Lock()
	c := r.crls[url]
	r.mu.Unlock()
	if c == nil || !now.Before(c.until) {
		list, err := r.fetchCRL(ctx, url, issuer, now)
		if err != nil {
			return Status{}, err
		}
		c = &cachedCRL{list: list, until: r.cacheUntil(now, list.NextUpdate)}
		r.mu.Lock()
		r.crls[url] = c
		r.mu.Unlock()
	}
	st := Status{Source: "crl", ThisUpdate: c.list.ThisUpdate, NextUpdate: c.until}
	for _, e := range c.list.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			st.Revoked, st.RevokedAt, st.Reason = true, e.RevocationTime, Reason(e.ReasonCode)
		}
	}
	return st, nil
}

func (r *RemoteChecker) fetchCRL(ctx context.Context, url string, issuer *x509.Certificate, now time.Time) (*x509.RevocationList, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	body, err := r.fetch(hreq, "CRL", r.cfg.MaxCRLSize)
	if err != nil {
		return nil, err
	}
	list, err := x509.ParseRevocationList(body)
	if err != nil {
		return nil, err
	}
	if err := list.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL signature: %w", err)
	}
	if !list.NextUpdate.IsZero() && !now.Before(list.NextUpdate) {
		return nil, fmt.Errorf("CRL is stale (next update %s)", fmtTime(list.NextUpdate))
	}
	return list, nil
}

// maxOCSPAnswerSize caps a downloaded OCSP answer.
const maxOCSPAnswerSize = 64 << 10

// fetch sends hreq and returns the body of a 200 answer of at most limit bytes.
func (r *RemoteChecker) fetch(hreq *http.Request, what string, limit int64) ([]byte, error) {
	resp, err := r.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %s", hreq.URL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%s from %s is larger than %d bytes", what, hreq.URL, limit)
	}
	return body, nil
}
