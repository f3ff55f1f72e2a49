package server

import (
	"context"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/warden-auth/warden/passthrough"
	"github.com/warden-auth/warden/pki"
)

// callerCacheTTL is how long an accepted calling-server certificate is
// trusted without checking it again: a revocation or a disabled computer
// account takes effect within it.
const callerCacheTTL = 30 * time.Second

// registerPassthrough mounts the validation service for application
// servers (NTLM and Digest). Callers authenticate with a client certificate
// of their computer account, issued by the realm CA; the listener asks
// for one in every handshake but leaves checking it to the handler, so
// that a refusal carries a readable reason.
func (s *Server) registerPassthrough(mux *http.ServeMux) error {
	if s.pki == nil {
		return nil
	}
	svc, err := passthrough.New(passthrough.Config{Store: s.st})
	if err != nil {
		return err
	}
	v, err := pki.NewVerifier(pki.VerifierConfig{Roots: []*x509.Certificate{s.pki.CA()}, Revocation: s.pki})
	if err != nil {
		return err
	}
	m, err := pki.NewMapper(context.Background(), pki.MapperConfig{Store: s.st})
	if err != nil {
		return err
	}
	// A calling server's certificate is checked (chain, revocation,
	// mapping) once per callerCacheTTL, not on every request.
	caller := passthrough.CachedCaller(passthrough.CertCaller(v, m), callerCacheTTL, nil)
	mux.Handle("POST "+passthrough.NTLMPath, passthrough.Handler(svc, caller, s.log))
	mux.Handle("POST "+passthrough.DigestPath, passthrough.DigestHandler(svc, caller, s.log))
	mux.Handle("GET "+passthrough.InfoPath, passthrough.InfoHandler(svc, caller, s.log))
	mux.Handle("POST "+passthrough.NamesPath, passthrough.NamesHandler(svc, caller, s.log))
	return nil
}
