package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/warden-auth/warden/store"
)

// MaxCSRSize caps a certificate signing request (PEM or DER).
const MaxCSRSize = 64 << 10

// ParseCSR reads a PKCS#10 request in PEM or DER, checks its signature
// (proof of possession) and its key (ECDSA P-256/384/521, RSA 2048–8192
// bits, Ed25519). Only the public key is used: the names in a CSR are
// ignored, the CA decides what the certificate says.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxCSRSize {
		return nil, newErr(CodeBadCSR, fmt.Sprintf("request is %d bytes; at most %d are accepted", len(data), MaxCSRSize), "", nil)
	}
	der := data
	if blk, _ := pem.Decode(data); blk != nil {
		if blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST" {
			return nil, newErr(CodeBadCSR, fmt.Sprintf("PEM block is %q, not CERTIFICATE REQUEST", truncate(blk.Type, 40)),
				"make one with: openssl req -new -key KEY -subj /CN=name -out req.csr", nil)
		}
		der = blk.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, newErr(CodeBadCSR, "not a PKCS#10 certificate request", "make one with: openssl req -new -key KEY -subj /CN=name -out req.csr", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, newErr(CodeBadCSR, "the request's signature does not verify with its own key (no proof of possession)", "", err)
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, err
	}
	return csr, nil
}

func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() || k.Curve == elliptic.P521() {
			return nil
		}
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n >= 2048 && n <= 8192 {
			return nil
		}
	case ed25519.PublicKey:
		return nil
	}
	return newErr(CodeBadCSR, "key "+keyDescription(pub)+" is not accepted",
		"use ECDSA P-256/P-384/P-521, RSA 2048 to 8192 bits, or Ed25519", nil)
}

// IssueRequest says how to make a certificate's key and how long it lives.
type IssueRequest struct {
	CSR      []byte        // PEM or DER PKCS#10; nil: generate a key
	KeyType  KeyType       // for a generated key (default ECDSA P-256)
	Lifetime time.Duration // 0: Config.LeafLifetime

	key crypto.Signer // a key chosen by the Authority itself (delegated responder)
}

// Issued is a new certificate with its record, and the generated key
// when no CSR was given.
type Issued struct {
	Cert   *x509.Certificate
	Key    crypto.Signer // nil when issued from a CSR
	Record *store.Cert
}

// publicKey returns the key to certify: the CSR's or a new one.
func (a *Authority) publicKey(r IssueRequest) (crypto.PublicKey, crypto.Signer, error) {
	if r.key != nil {
		return r.key.Public(), r.key, nil
	}
	if r.CSR != nil {
		csr, err := ParseCSR(r.CSR)
		if err != nil {
			return nil, nil, err
		}
		return csr.PublicKey, nil, nil
	}
	k, err := GenerateKey(r.KeyType, a.cfg.Rand)
	if err != nil {
		return nil, nil, err
	}
	return k.Public(), k, nil
}

func (a *Authority) lifetime(r IssueRequest) (time.Duration, error) {
	if r.Lifetime == 0 {
		return a.cfg.LeafLifetime, nil
	}
	if r.Lifetime < time.Hour || r.Lifetime > maxLeafLifetime {
		return 0, newErr(CodeBadRequest, fmt.Sprintf("lifetime %v is outside 1h to 5 years", r.Lifetime), "", nil)
	}
	return r.Lifetime, nil
}

// AccountUPN is the UPN an account's certificates carry: its UPN, else
// NAME@REALM (computers, services).
func AccountUPN(acct *store.Account, realm string) string {
	if acct.UPN != "" {
		return acct.UPN
	}
	return acct.Name + "@" + realm
}

// IssueAccount issues a clientAuth certificate to a user or computer
// account: subject CN=name, O=realm; SAN UPN (and a computer's DNS names
// from its host/ SPNs); the SID extension; keyUsage digitalSignature.
func (a *Authority) IssueAccount(ctx context.Context, name string, r IssueRequest) (*Issued, error) {
	acct, err := a.st.Account(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newErr(CodeNotFound, "no account "+name, "list accounts with warden user list / warden computer list", err)
	}
	if err != nil {
		return nil, err
	}
	var kind store.CertKind
	switch acct.Kind {
	case store.KindUser:
		kind = store.CertUser
	case store.KindComputer:
		kind = store.CertComputer
	default:
		return nil, newErr(CodeBadRequest, fmt.Sprintf("%s is a %s account; client certificates are for users and computers", acct.Name, acct.Kind),
			"for a server certificate use --dns NAME", nil)
	}
	if acct.Flags&store.FlagDisabled != 0 {
		return nil, newErr(CodeAccountDisabled, "account "+acct.Name+" is disabled", "enable it first: warden user enable "+acct.Name, nil)
	}
	san := sanNames{upn: AccountUPN(acct, a.realm.Name)}
	if kind == store.CertComputer {
		for _, spn := range acct.SPNs {
			if h, ok := strings.CutPrefix(strings.ToLower(spn), "host/"); ok && strings.Contains(h, ".") && !slices.Contains(san.dns, h) {
				san.dns = append(san.dns, h)
			}
		}
	}
	sid := store.SID(a.realm.DomainSID, acct.RID)
	sidExt, err := marshalSIDExtension(sid)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:         pkix.Name{CommonName: acct.Name, Organization: []string{a.realm.Name}},
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: []pkix.Extension{{Id: OIDSIDExtension, Value: sidExt}},
	}
	return a.issue(ctx, tmpl, san, kind, acct.Name, r)
}

// IssueServer issues a serverAuth certificate for DNS names (and IP
// addresses, written as iPAddress SANs): subject CN=first name.
func (a *Authority) IssueServer(ctx context.Context, names []string, r IssueRequest) (*Issued, error) {
	if len(names) == 0 {
		return nil, newErr(CodeBadRequest, "a server certificate needs at least one DNS name", "e.g. --dns web.example.test", nil)
	}
	if len(names) > maxNamesInCert {
		return nil, newErr(CodeBadRequest, fmt.Sprintf("%d names; at most %d", len(names), maxNamesInCert), "", nil)
	}
	var san sanNames
	var recNames []string
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			san.ips = append(san.ips, ip)
			recNames = append(recNames, ip.String())
			continue
		}
		d := strings.ToLower(strings.TrimSuffix(n, "."))
		if err := validDNSName(d); err != nil {
			return nil, err
		}
		if !slices.Contains(san.dns, d) {
			san.dns = append(san.dns, d)
			recNames = append(recNames, d)
		}
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: recNames[0], Organization: []string{a.realm.Name}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return a.issue(ctx, tmpl, san, store.CertServer, "", r)
}

// validDNSName accepts host names and a wildcard as the whole left-most label.
func validDNSName(d string) error {
	bad := func(why string) error {
		return newErr(CodeBadRequest, fmt.Sprintf("%q is not a DNS name: %s", truncate(d, 80), why), "", nil)
	}
	if d == "" || len(d) > maxNameLen {
		return bad("empty or too long")
	}
	labels := strings.Split(d, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 2 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad("bad label " + strings.ReplaceAll(l, "%", ""))
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return bad("only letters, digits and '-' are allowed in labels")
			}
		}
	}
	return nil
}

// issue signs tmpl (completed with serial, validity, SAN, key IDs and
// URLs) for the requested key and records the certificate.
func (a *Authority) issue(ctx context.Context, tmpl *x509.Certificate, san sanNames, kind store.CertKind, account string, r IssueRequest) (*Issued, error) {
	life, err := a.lifetime(r)
	if err != nil {
		return nil, err
	}
	pub, key, err := a.publicKey(r)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial(a.cfg.Rand)
	if err != nil {
		return nil, err
	}
	now := a.now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.Add(life)
	if tmpl.NotAfter.After(a.ca.NotAfter) {
		tmpl.NotAfter = a.ca.NotAfter // never outlive the CA
	}
	tmpl.BasicConstraintsValid = true
	tmpl.SignatureAlgorithm = signatureAlgorithm(a.key)
	if san.upn != "" || len(san.dns) > 0 || len(san.ips) > 0 {
		v, err := marshalSAN(san)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: OIDSubjectAltName, Value: v})
	}
	if a.cfg.BaseURL != "" && kind != store.CertResponder {
		tmpl.CRLDistributionPoints = []string{a.cfg.BaseURL + "/pki/crl"}
		tmpl.OCSPServer = []string{a.cfg.BaseURL + "/pki/ocsp"}
		tmpl.IssuingCertificateURL = []string{a.cfg.BaseURL + "/pki/ca.crt"}
	}
	der, err := x509.CreateCertificate(a.cfg.Rand, tmpl, a.ca, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("signing the certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	var names []string
	names = append(names, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	rec := &store.Cert{
		Serial: SerialString(serial), Kind: kind, Account: account, Subject: cert.Subject.String(),
		DNSNames: names, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, DER: der, Created: now,
	}
	if err := a.st.AddCert(ctx, rec); err != nil {
		return nil, fmt.Errorf("recording certificate %s: %w", rec.Serial, err)
	}
	return &Issued{Cert: cert, Key: key, Record: rec}, nil
}

// Renew issues a successor of a certificate: the same account or DNS
// names, a new serial and validity, the key from r (a CSR or a new one).
// The old certificate stays valid until it expires; revoke it with
// ReasonSuperseded when it must stop at once.
func (a *Authority) Renew(ctx context.Context, serial string, r IssueRequest) (*Issued, error) {
	old, err := a.Cert(ctx, serial)
	if err != nil {
		return nil, err
	}
	if old.IsRevoked() {
		return nil, newErr(CodeAlreadyRevoked, fmt.Sprintf("certificate %s was revoked at %s; it cannot be renewed", old.Serial, fmtTime(old.Revoked)),
			"issue a new one with warden cert issue", nil)
	}
	switch old.Kind {
	case store.CertUser, store.CertComputer:
		return a.IssueAccount(ctx, old.Account, r)
	case store.CertServer:
		return a.IssueServer(ctx, old.DNSNames, r)
	}
	return nil, newErr(CodeBadRequest, fmt.Sprintf("certificate %s is a %s certificate, renewed automatically", old.Serial, old.Kind), "", nil)
}

// Cert returns the record of an issued certificate.
func (a *Authority) Cert(ctx context.Context, serial string) (*store.Cert, error) {
	n, err := ParseSerial(serial)
	if err != nil {
		return nil, err
	}
	c, err := a.st.Cert(ctx, SerialString(n))
	if errors.Is(err, store.ErrNotFound) {
		return nil, newErr(CodeNotFound, "no certificate with serial "+SerialString(n)+" was issued by this CA", "list them with warden cert list", err)
	}
	return c, err
}

// Certs lists issued certificates.
func (a *Authority) Certs(ctx context.Context, f store.CertFilter) ([]*store.Cert, error) {
	return a.st.Certs(ctx, f)
}

// Revoke revokes a certificate now. The CRL and OCSP answers change at once.
func (a *Authority) Revoke(ctx context.Context, serial string, reason Reason) (*store.Cert, error) {
	if err := reason.check(); err != nil {
		return nil, err
	}
	c, err := a.Cert(ctx, serial)
	if err != nil {
		return nil, err
	}
	err = a.st.RevokeCert(ctx, c.Serial, a.now(), int(reason))
	if err != nil && !errors.Is(err, store.ErrExists) {
		return nil, err
	}
	rec, rerr := a.st.Cert(ctx, c.Serial)
	if rerr != nil {
		return nil, rerr
	}
	if err != nil {
		return rec, newErr(CodeAlreadyRevoked, fmt.Sprintf("certificate %s was already revoked at %s", rec.Serial, fmtTime(rec.Revoked)), "", err)
	}
	return rec, nil
}

// RevokeAccount revokes every unrevoked, unexpired certificate of an
// account and returns them; none is not an error.
func (a *Authority) RevokeAccount(ctx context.Context, account string, reason Reason) ([]*store.Cert, error) {
	if err := reason.check(); err != nil {
		return nil, err
	}
	certs, err := a.st.Certs(ctx, store.CertFilter{Account: account})
	if err != nil {
		return nil, err
	}
	now := a.now()
	var out []*store.Cert
	for _, c := range certs {
		if c.IsRevoked() || now.After(c.NotAfter) {
			continue
		}
		if err := a.st.RevokeCert(ctx, c.Serial, now, int(reason)); err != nil && !errors.Is(err, store.ErrExists) {
			return out, err
		}
		c.Revoked, c.Reason = now, int(reason)
		out = append(out, c)
	}
	return out, nil
}

// Bind maps a certificate (of any issuer) to an account explicitly, by
// issuer and serial: a strong mapping.
func (a *Authority) Bind(ctx context.Context, cert *x509.Certificate, account string) error {
	err := a.st.BindCert(ctx, store.CertBinding{Issuer: cert.Issuer.String(), Serial: SerialString(cert.SerialNumber), Account: account, Created: a.now()})
	if errors.Is(err, store.ErrNotFound) {
		return newErr(CodeNotFound, "no account "+account, "", err)
	}
	return err
}

// Reason is an RFC 5280 CRLReason.
type Reason int

// Revocation reasons (RFC 5280 5.3.1). certificateHold and removeFromCRL
// are not offered: a revocation here is final.
const (
	ReasonUnspecified          Reason = 0
	ReasonKeyCompromise        Reason = 1
	ReasonCACompromise         Reason = 2
	ReasonAffiliationChanged   Reason = 3
	ReasonSuperseded           Reason = 4
	ReasonCessationOfOperation Reason = 5
	ReasonPrivilegeWithdrawn   Reason = 9
)

var reasonNames = map[Reason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonCACompromise:         "cACompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
}

// String returns RFC 5280's spelling.
func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

func (r Reason) check() error {
	if _, ok := reasonNames[r]; !ok {
		return newErr(CodeBadRequest, fmt.Sprintf("revocation reason %d is not offered", int(r)), reasonHint(), nil)
	}
	return nil
}

// reasonHint lists the offered reasons, in RFC 5280 order.
func reasonHint() string {
	var names []string
	for _, r := range slices.Sorted(maps.Keys(reasonNames)) {
		names = append(names, reasonNames[r])
	}
	return "use one of " + strings.Join(names, ", ")
}

// ParseReason reads a reason name, case-insensitively and with or
// without dashes ("key-compromise", "keyCompromise").
func ParseReason(s string) (Reason, error) {
	k := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(s, "-", ""), "_", ""))
	if k == "" {
		return ReasonUnspecified, nil
	}
	for r, n := range reasonNames {
		if strings.ToLower(n) == k {
			return r, nil
		}
	}
	return 0, newErr(CodeBadRequest, fmt.Sprintf("%q is not a revocation reason", s), reasonHint(), nil)
}
