package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/internal/atomicfile"
	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/store"
)

// The AA's own HTTPS certificate: issued by the realm CA for
// https.names, kept in the data directory, and re-issued when a third of
// its lifetime is left.
const (
	httpsCertLifetime = 90 * 24 * time.Hour
	httpsRenewBefore  = 30 * 24 * time.Hour
	renewCheckEvery   = time.Hour
)

// OpenPKI opens the realm CA of a server's store, creating it first when
// the realm has none (data directories from before the PKI); created
// tells which.
func OpenPKI(ctx context.Context, cfg *config.Config, st store.Store) (*pki.Authority, bool, error) {
	r, err := st.Realm(ctx)
	if err != nil {
		return nil, false, err
	}
	kt, err := pki.ParseKeyType(cfg.PKI.KeyType)
	if err != nil {
		return nil, false, err
	}
	_, created, err := pki.EnsureCA(ctx, st, pki.CAOptions{Realm: r.Name, KeyType: kt})
	if err != nil {
		return nil, false, fmt.Errorf("realm CA: %w", err)
	}
	a, err := pki.New(ctx, PKIConfig(cfg, st))
	return a, created, err
}

// PKIConfig is the pki.Config of a configuration.
func PKIConfig(cfg *config.Config, st store.Store) pki.Config {
	return pki.Config{
		Store:              st,
		LeafLifetime:       time.Duration(cfg.PKI.LeafLifetime),
		CRLLifetime:        time.Duration(cfg.PKI.CRLLifetime),
		OCSPLifetime:       time.Duration(cfg.PKI.OCSPLifetime),
		BaseURL:            cfg.PKI.BaseURL,
		DelegatedResponder: cfg.PKI.DelegatedOCSP,
	}
}

// HTTPSNames are the names of the AA's HTTPS certificate.
func HTTPSNames(cfg *config.Config) []string {
	if len(cfg.HTTPS.Names) > 0 {
		return cfg.HTTPS.Names
	}
	names := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && !strings.EqualFold(h, "localhost") {
		names = append(names, strings.ToLower(h))
	}
	if host, _, err := net.SplitHostPort(cfg.HTTPS.Addr); err == nil && host != "" && !slices.Contains(names, host) &&
		host != "0.0.0.0" && host != "::" && host != "127.0.0.1" {
		names = append(names, host)
	}
	return append(names, "127.0.0.1", "::1")
}

// httpsCert holds the listener's current certificate.
type httpsCert struct {
	cur atomic.Pointer[tls.Certificate]
}

func (h *httpsCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return h.cur.Load(), nil }

// needsRenewal reports why a certificate must be (re-)issued, or "".
func needsRenewal(c *tls.Certificate, ca *x509.Certificate, names []string, now time.Time) string {
	if c == nil || c.Leaf == nil {
		return "none yet"
	}
	leaf := c.Leaf
	if leaf.CheckSignatureFrom(ca) != nil {
		return "not issued by the realm CA"
	}
	if now.Add(httpsRenewBefore).After(leaf.NotAfter) {
		return "expires at " + leaf.NotAfter.UTC().Format(time.RFC3339)
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return "lacks the name " + n
		}
	}
	return ""
}

// loadHTTPSCert reads the certificate and key files, if both exist.
func loadHTTPSCert(certPath, keyPath string) *tls.Certificate {
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil
	}
	return &c
}

// ensureHTTPSCert returns a current certificate for the listener,
// issuing and saving a new one when the saved one does not do.
func (s *Server) ensureHTTPSCert(ctx context.Context, have *tls.Certificate) (*tls.Certificate, error) {
	names := HTTPSNames(s.cfg)
	why := needsRenewal(have, s.pki.CA(), names, time.Now())
	if why == "" {
		return have, nil
	}
	iss, err := s.pki.IssueServer(ctx, names, pki.IssueRequest{Lifetime: httpsCertLifetime})
	if err != nil {
		return nil, fmt.Errorf("issuing the HTTPS certificate: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(iss.Key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
	clear(kb)
	chainPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.pki.CA().Raw})...)
	if err := atomicfile.Write(s.cfg.Path(HTTPSKeyFile), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(s.cfg.Path(HTTPSCertFile), chainPEM, 0o644); err != nil {
		return nil, err
	}
	c, err := tls.X509KeyPair(chainPEM, keyPEM)
	clear(keyPEM)
	if err != nil {
		return nil, err
	}
	s.log.Info("issued the HTTPS certificate", "op", "pki_https_cert", "serial", iss.Record.Serial,
		"names", strings.Join(names, ","), "not_after", iss.Cert.NotAfter.UTC().Format(time.RFC3339), "why", why)
	return &c, nil
}

// renewHTTPSCert re-issues the listener's certificate before it expires,
// until ctx is done.
func (s *Server) renewHTTPSCert(ctx context.Context) {
	everyRenewCheck(ctx, func() {
		c, err := s.ensureHTTPSCert(ctx, s.tlsCert.cur.Load())
		if err != nil {
			s.log.Error("renewing the HTTPS certificate failed", "op", "pki_https_cert", "reason", err.Error())
			return
		}
		s.tlsCert.cur.Store(c)
	})
}

// everyRenewCheck runs check every renewCheckEvery until ctx is done.
func everyRenewCheck(ctx context.Context, check func()) {
	t := time.NewTicker(renewCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			check()
		}
	}
}

// pkiMetrics counts PKI endpoint requests.
type pkiMetrics struct {
	requests *prometheus.CounterVec
}

func newPKIMetrics(reg *prometheus.Registry) *pkiMetrics {
	m := &pkiMetrics{requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "warden_pki_requests_total",
		Help: "PKI endpoint requests, by operation (ca, crl, ocsp) and result (good, revoked, unknown, refused reason).",
	}, []string{"op", "result"})}
	reg.MustRegister(m.requests)
	return m
}

// registerPKI mounts /pki/ca.crt (DER), /pki/ca.pem, /pki/crl (DER) and
// /pki/ocsp (POST, and GET /pki/ocsp/{base64} per RFC 6960 appendix A).
func (s *Server) registerPKI(mux *http.ServeMux) {
	mux.HandleFunc("GET /pki/ca.crt", func(w http.ResponseWriter, r *http.Request) {
		s.pkiMetrics.requests.WithLabelValues("ca", "ok").Inc()
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Write(s.pki.CA().Raw)
	})
	mux.HandleFunc("GET /pki/ca.pem", func(w http.ResponseWriter, r *http.Request) {
		s.pkiMetrics.requests.WithLabelValues("ca", "ok").Inc()
		w.Header().Set("Content-Type", "application/x-pem-file")
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: s.pki.CA().Raw})
	})
	mux.HandleFunc("GET /pki/crl", func(w http.ResponseWriter, r *http.Request) {
		der, err := s.pki.CRL(r.Context())
		if err != nil {
			s.pkiMetrics.requests.WithLabelValues("crl", "error").Inc()
			s.log.Error("CRL unavailable", "op", "pki_crl", "remote", r.RemoteAddr, "reason", err.Error())
			http.Error(w, "CRL unavailable", http.StatusServiceUnavailable)
			return
		}
		s.pkiMetrics.requests.WithLabelValues("crl", "ok").Inc()
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(der)
	})
	mux.HandleFunc("POST /pki/ocsp", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, pki.MaxOCSPRequestSize+1))
		if err != nil {
			http.Error(w, "reading the request failed", http.StatusBadRequest)
			return
		}
		s.answerOCSP(w, r, body, nil)
	})
	mux.HandleFunc("GET /pki/ocsp/", func(w http.ResponseWriter, r *http.Request) {
		der, err := decodeOCSPGet(strings.TrimPrefix(r.URL.Path, "/pki/ocsp/"))
		s.answerOCSP(w, r, der, err)
	})
}

// decodeOCSPGet decodes the base64 of a GET request (RFC 6960 A.1);
// the path is already URL-decoded. Padding and URL-safe alphabets are
// tolerated.
func decodeOCSPGet(s string) ([]byte, error) {
	if len(s) > 2*pki.MaxOCSPRequestSize {
		return nil, &pki.Error{Code: pki.CodeBadRequest,
			Reason: fmt.Sprintf("OCSP GET request of %d base64 characters; at most %d are accepted", len(s), 2*pki.MaxOCSPRequestSize),
			Hint:   "send large requests with POST"}
	}
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, &pki.Error{Code: pki.CodeBadRequest, Reason: "OCSP GET request is not base64 (RFC 6960 A.1)", Err: err}
	}
	return b, nil
}

// answerOCSP answers an OCSP request, or a malformedRequest when reading
// it already failed with reqErr, and logs one line.
func (s *Server) answerOCSP(w http.ResponseWriter, r *http.Request, req []byte, reqErr error) {
	start := time.Now()
	der, ans, err := pki.MalformedOCSPResponse(), pki.OCSPAnswer{Refused: "malformedRequest"}, reqErr
	if reqErr == nil {
		der, ans, err = s.pki.RespondOCSP(r.Context(), req)
	}
	result := ans.Status
	if ans.Refused != "" {
		result = ans.Refused
	}
	s.pkiMetrics.requests.WithLabelValues("ocsp", result).Inc()
	attrs := []slog.Attr{slog.String("op", "ocsp"), slog.String("serial", ans.Serial), slog.String("status", result),
		slog.String("remote", r.RemoteAddr), slog.String("method", r.Method), slog.Duration("took", time.Since(start))}
	if err != nil {
		level := slog.LevelWarn
		var pe *pki.Error
		if !errors.As(err, &pe) {
			level = slog.LevelError
		}
		attrs = append(attrs, slog.String("reason", err.Error()))
		s.log.LogAttrs(r.Context(), level, "ocsp request refused", attrs...)
	} else {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "ocsp request", attrs...)
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}
