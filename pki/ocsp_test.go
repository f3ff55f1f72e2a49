package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/store"
)

// withNonce adds a nonce extension to a request made by x/crypto/ocsp
// (which makes none), re-encoding the TBSRequest.
func withNonce(t testing.TB, req []byte, nonce []byte) []byte {
	in := cryptobyte.String(req)
	var outer, tbs cryptobyte.String
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !outer.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		t.Fatal("bad request")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(tbs)
			b.AddASN1(cbasn1.Tag(2).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidOCSPNonce)
						b.AddASN1OctetString(nonce)
					})
				})
			})
		})
	})
	return b.BytesOrPanic()
}

func TestOCSP(t *testing.T) {
	for _, delegated := range []bool{false, true} {
		name := map[bool]string{false: "signed by the CA", true: "delegated responder"}[delegated]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, Config{DelegatedResponder: delegated})
			ctx := t.Context()
			f.user(t, "alice", admin.UserOptions{})
			iss := f.issue(t, "alice")
			ask := func(h crypto.Hash) (*ocsp.Response, OCSPAnswer) {
				t.Helper()
				req, err := ocsp.CreateRequest(iss.Cert, f.auth.CA(), &ocsp.RequestOptions{Hash: h})
				if err != nil {
					t.Fatal(err)
				}
				der, ans, err := f.auth.RespondOCSP(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := ocsp.ParseResponseForCert(der, iss.Cert, f.auth.CA())
				if err != nil {
					t.Fatalf("parsing our answer: %v", err)
				}
				if delegated != (resp.Certificate != nil) {
					t.Fatalf("responder certificate present = %v", resp.Certificate != nil)
				}
				if delegated && !hasEKU(resp.Certificate, x509.ExtKeyUsageOCSPSigning) {
					t.Fatal("delegated responder without OCSPSigning")
				}
				if resp.NextUpdate.Sub(resp.ThisUpdate) != DefaultOCSPLifetime {
					t.Fatalf("answer validity %v", resp.NextUpdate.Sub(resp.ThisUpdate))
				}
				return resp, ans
			}
			for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
				resp, ans := ask(h)
				if resp.Status != ocsp.Good || ans.Status != OCSPGood || ans.Serial != iss.Record.Serial {
					t.Fatalf("%v: status %d %+v", h, resp.Status, ans)
				}
			}
			f.clk.Add(time.Minute)
			f.auth.Revoke(ctx, iss.Record.Serial, ReasonKeyCompromise)
			resp, ans := ask(crypto.SHA1)
			if resp.Status != ocsp.Revoked || !resp.RevokedAt.Equal(f.clk.Now()) || resp.RevocationReason != ocsp.KeyCompromise || ans.Status != OCSPRevoked {
				t.Fatalf("after revoke: status %d at %v reason %d", resp.Status, resp.RevokedAt, resp.RevocationReason)
			}
		})
	}
}

func TestOCSPRefusalsAndNonce(t *testing.T) {
	f := newFixture(t, Config{})
	other := newFixture(t, Config{})
	ctx := t.Context()
	f.user(t, "alice", admin.UserOptions{})
	other.user(t, "alice", admin.UserOptions{})
	iss := f.issue(t, "alice")
	foreign := other.issue(t, "alice")

	// Unknown serial of our CA.
	tmpl := *iss.Cert
	tmpl.SerialNumber = tmpl.SerialNumber.Add(tmpl.SerialNumber, tmpl.SerialNumber)
	req, _ := ocsp.CreateRequest(&tmpl, f.auth.CA(), nil)
	der, ans, err := f.auth.RespondOCSP(ctx, req)
	if err != nil || ans.Status != OCSPUnknown {
		t.Fatalf("unknown serial: %+v %v", ans, err)
	}
	if resp, err := ocsp.ParseResponse(der, f.auth.CA()); err != nil || resp.Status != ocsp.Unknown {
		t.Fatalf("unknown serial: %v", err)
	}

	// Another CA's certificate: unauthorized.
	req, _ = ocsp.CreateRequest(foreign.Cert, other.auth.CA(), nil)
	der, ans, _ = f.auth.RespondOCSP(ctx, req)
	if _, err := ocsp.ParseResponse(der, nil); err != (ocsp.ResponseError{Status: ocsp.Unauthorized}) || ans.Refused != "unauthorized" {
		t.Fatalf("foreign issuer: %v %+v", err, ans)
	}

	// Malformed.
	der, ans, err = f.auth.RespondOCSP(ctx, []byte{0x30, 0x03, 0x02, 0x01})
	wantCode(t, "malformed", err, CodeBadRequest, "malformed OCSP request")
	if _, perr := ocsp.ParseResponse(der, nil); perr != (ocsp.ResponseError{Status: ocsp.Malformed}) || ans.Refused != "malformedRequest" {
		t.Fatalf("malformed: %v %+v", perr, ans)
	}

	// The nonce is echoed.
	req, _ = ocsp.CreateRequest(iss.Cert, f.auth.CA(), nil)
	nonce := []byte{0x04, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	der, _, err = f.auth.RespondOCSP(ctx, withNonce(t, req, nonce))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ocsp.ParseResponseForCert(der, iss.Cert, f.auth.CA()); err != nil {
		t.Fatal(err)
	}
	oid, _ := asn1.Marshal(oidOCSPNonce)
	if !bytes.Contains(der, append(oid, append([]byte{0x04, byte(len(nonce))}, nonce...)...)) {
		t.Fatal("nonce not echoed")
	}

	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"oversized", make([]byte, MaxOCSPRequestSize+1)},
		{"trailing data", append(append([]byte{}, req...), 0)},
		{"oversized nonce", withNonce(t, req, make([]byte, maxNonceSize+1))},
	} {
		_, err := ParseOCSPRequest(tc.in)
		wantCode(t, tc.name, err, CodeBadRequest)
	}
}

// The remote checker asks OCSP, falls back to the CRL, caches for its
// freshness, and fails closed when neither answers.
func TestRemoteChecker(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := t.Context()
	f.user(t, "alice", admin.UserOptions{})
	iss := f.issue(t, "alice")
	var ocspUp atomic.Bool
	var crlUp atomic.Bool
	var ocspHits, crlHits atomic.Int32
	ocspUp.Store(true)
	crlUp.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/pki/ocsp" && ocspUp.Load():
			ocspHits.Add(1)
			body, _ := io.ReadAll(r.Body)
			der, _, _ := f.auth.RespondOCSP(r.Context(), body)
			w.Write(der)
		case r.URL.Path == "/pki/crl" && crlUp.Load():
			crlHits.Add(1)
			der, _ := f.auth.CRL(r.Context())
			w.Write(der)
		default:
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	rc := NewRemoteChecker(RemoteConfig{OCSPURL: srv.URL + "/pki/ocsp", CRLURL: srv.URL + "/pki/crl", Time: f.clk.Now, Freshness: time.Minute})
	v, _ := NewVerifier(VerifierConfig{Roots: []*x509.Certificate{f.auth.CA()}, Revocation: rc, Time: f.clk.Now})

	if _, err := v.VerifyClient([]*x509.Certificate{iss.Cert}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyClient([]*x509.Certificate{iss.Cert}); err != nil || ocspHits.Load() != 1 {
		t.Fatalf("second check: %v, %d OCSP requests (want 1, cached)", err, ocspHits.Load())
	}
	f.auth.Revoke(ctx, iss.Record.Serial, ReasonKeyCompromise)
	if _, err := v.VerifyClient([]*x509.Certificate{iss.Cert}); err != nil {
		t.Fatalf("within freshness the cached good answer is used: %v", err)
	}
	f.clk.Add(time.Minute + time.Second)
	_, err := v.VerifyClient([]*x509.Certificate{iss.Cert})
	wantCode(t, "after freshness", err, CodeRevoked, "from ocsp")

	// OCSP down: the CRL says the same.
	ocspUp.Store(false)
	f.clk.Add(2 * time.Minute)
	_, err = v.VerifyClient([]*x509.Certificate{iss.Cert})
	wantCode(t, "CRL fallback", err, CodeRevoked, "from crl")
	if crlHits.Load() != 1 {
		t.Fatalf("%d CRL fetches", crlHits.Load())
	}
	// Both down: fail closed with both reasons.
	crlUp.Store(false)
	f.clk.Add(2 * time.Minute)
	_, err = v.VerifyClient([]*x509.Certificate{iss.Cert})
	wantCode(t, "both down", err, CodeRevocationUnknown, "OCSP:", "CRL:")
	if !strings.Contains(err.Error(), "503") {
		t.Fatalf("error does not carry the HTTP status: %v", err)
	}
}

// A delegated responder outlives the process that issued it: a restarted
// Authority (or another AA node on the same DB) signs with the current
// one instead of issuing another; one is issued again only when less
// than half its lifetime is left.
func TestDelegatedResponderReused(t *testing.T) {
	f := newFixture(t, Config{DelegatedResponder: true})
	f.user(t, "alice", admin.UserOptions{})
	iss := f.issue(t, "alice")
	req, err := ocsp.CreateRequest(iss.Cert, f.auth.CA(), nil)
	if err != nil {
		t.Fatal(err)
	}
	signer := func(a *Authority) *x509.Certificate {
		t.Helper()
		der, _, err := a.RespondOCSP(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ocsp.ParseResponseForCert(der, iss.Cert, a.CA())
		if err != nil || resp.Status != ocsp.Good || resp.Certificate == nil {
			t.Fatalf("answer: %v", err)
		}
		return resp.Certificate
	}
	restart := func() *Authority {
		t.Helper()
		a, err := New(t.Context(), Config{Store: f.realm.Store, Time: f.clk.Now, DelegatedResponder: true})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	responders := func() int {
		t.Helper()
		rs, err := f.realm.Store.Certs(t.Context(), store.CertFilter{Kind: store.CertResponder})
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}
	first := signer(f.auth)
	if again := signer(restart()); !again.Equal(first) || responders() != 1 {
		t.Fatalf("after a restart: same responder %v, %d responders", again.Equal(first), responders())
	}
	f.clk.Add(DefaultResponderLife/2 + time.Minute)
	if next := signer(restart()); next.Equal(first) || responders() != 2 {
		t.Fatalf("past half its life: same responder %v, %d responders", next.Equal(first), responders())
	}
}
