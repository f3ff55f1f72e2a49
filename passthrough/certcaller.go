package passthrough

import (
	"errors"
	"net/http"

	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/store"
)

// CertCaller identifies the calling server by the client certificate it
// presented on the TLS connection (requested, not verified, during the
// handshake, so that refusals carry a readable reason): the chain must
// verify against the realm CA with a good revocation status, and map
// strongly to an account.
func CertCaller(v *pki.Verifier, m *pki.Mapper) CallerFunc {
	return func(r *http.Request) (string, error) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return "", errors.New("no client certificate: the calling server must present the certificate of its computer account (warden cert issue --account NAME$)")
		}
		leaf, err := v.VerifyClientContext(r.Context(), r.TLS.PeerCertificates)
		if err != nil {
			return "", err
		}
		mp, err := m.Map(r.Context(), leaf)
		if err != nil {
			return "", err
		}
		if mp.Account.Kind != store.KindComputer {
			return "", errors.New("the client certificate maps to " + mp.Account.Name + ", which is not a computer account")
		}
		return mp.Account.Name, nil
	}
}
