package testkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/pkinit"
)

// PKINIT test material: a throwaway CA that issues KDC and client
// certificates carrying the Kerberos principal name (RFC 4556 3.2.2), and
// an MIT krb5kdc configured for PKINIT and anonymous PKINIT with them.

// Object identifiers of RFC 4556 3.2.2 and 3.2.4.
var (
	OIDPKINITSan          = asn1.ObjectIdentifier(pkinit.OIDPKINITSAN)
	OIDPKINITKPClientAuth = asn1.ObjectIdentifier(pkinit.OIDKPClientAuth)
	OIDPKINITKPKdc        = asn1.ObjectIdentifier(pkinit.OIDKPKdc)
	oidSubjectAltName     = asn1.ObjectIdentifier{2, 5, 29, 17}
)

// PKICA is a certificate authority for PKINIT tests.
type PKICA struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	CAFile string // PEM certificate: the trust anchor for KDCs and clients
	dir    string
	serial atomic.Int64
}

// NewPKICA makes an RSA-2048 CA valid for a day, with its certificate in
// a PEM file under t.TempDir().
func NewPKICA(t testing.TB, name string) *PKICA {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ca := &PKICA{Key: key, dir: t.TempDir()}
	ca.serial.Store(time.Now().UnixNano())
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(ca.serial.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	ca.CAFile = filepath.Join(ca.dir, "ca.pem")
	WritePEM(t, ca.CAFile, "CERTIFICATE", der, 0o644)
	return ca
}

// CertOptions shape one issued certificate. Zero values give a valid
// RSA-2048 certificate for a day.
type CertOptions struct {
	// EC makes a P-256 ECDSA key instead of RSA-2048.
	EC bool
	// EKUs replaces the default extended key usages (KDC:
	// id-pkinit-KPKdc; client: id-pkinit-KPClientAuth and TLS clientAuth).
	EKUs []asn1.ObjectIdentifier
	// NotBefore/NotAfter replace the validity (e.g. an expired one).
	NotBefore, NotAfter time.Time
	// NoSAN leaves out the id-pkinit-san name.
	NoSAN bool
}

// IssuedCert is a certificate and its key, also written as PEM files.
type IssuedCert struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CertFile string // PEM certificate
	KeyFile  string // PEM PKCS#8 key
}

// IssueKDC issues the KDC certificate of realm: SAN id-pkinit-san
// krbtgt/REALM@REALM and EKU id-pkinit-KPKdc (RFC 4556 3.2.4), which is
// what MIT's client checks by default.
func (ca *PKICA) IssueKDC(t testing.TB, realm string, o CertOptions) *IssuedCert {
	t.Helper()
	if o.EKUs == nil {
		o.EKUs = []asn1.ObjectIdentifier{OIDPKINITKPKdc}
	}
	return ca.issue(t, "kdc", realm, []string{"krbtgt", realm}, 2, o)
}

// IssueClient issues a client certificate for principal@realm
// ("alice" or "host/x"): SAN id-pkinit-san with the principal name, EKU
// id-pkinit-KPClientAuth and clientAuth.
func (ca *PKICA) IssueClient(t testing.TB, principal, realm string, o CertOptions) *IssuedCert {
	t.Helper()
	if o.EKUs == nil {
		o.EKUs = []asn1.ObjectIdentifier{OIDPKINITKPClientAuth, {1, 3, 6, 1, 5, 5, 7, 3, 2}}
	}
	return ca.issue(t, strings.ReplaceAll(principal, "/", "_"), realm, strings.Split(principal, "/"), 1, o)
}

func (ca *PKICA) issue(t testing.TB, file, realm string, name []string, nameType int64, o CertOptions) *IssuedCert {
	t.Helper()
	var key crypto.Signer
	var err error
	if o.EC {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(ca.serial.Add(1)),
		Subject:               pkix.Name{CommonName: strings.Join(name, "/") + "@" + realm},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement,
		UnknownExtKeyUsage:    o.EKUs,
		BasicConstraintsValid: true,
	}
	if !o.NotBefore.IsZero() {
		tmpl.NotBefore = o.NotBefore
	}
	if !o.NotAfter.IsZero() {
		tmpl.NotAfter = o.NotAfter
	}
	if !o.NoSAN {
		san, err := PKINITSAN(realm, nameType, name...)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidSubjectAltName, Value: san}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c := &IssuedCert{Key: key}
	if c.Cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	n := tmpl.SerialNumber // this certificate's: another issue may run meanwhile
	c.CertFile = filepath.Join(ca.dir, fmt.Sprintf("%s-%d.pem", file, n))
	c.KeyFile = filepath.Join(ca.dir, fmt.Sprintf("%s-%d.key", file, n))
	WritePEM(t, c.CertFile, "CERTIFICATE", der, 0o644)
	WritePEM(t, c.KeyFile, "PRIVATE KEY", kb, 0o600)
	return c
}

// PKINITSAN encodes a subjectAltName extension value holding one otherName
// id-pkinit-san whose value is the KRB5PrincipalName of RFC 4556 3.2.2,
// encoded by krb5/pkinit. Go's x509 cannot write otherNames.
func PKINITSAN(realm string, nameType int64, name ...string) ([]byte, error) {
	kpn := pkinit.KRB5PrincipalName{Realm: realm, Name: krb5.PrincipalName{NameType: krb5.NameType(nameType), NameString: name}}
	v, err := kpn.Marshal()
	if err != nil {
		return nil, err
	}
	ctx0 := cbasn1.Tag(0).ContextSpecific().Constructed()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
		b.AddASN1(ctx0, func(b *cryptobyte.Builder) { // otherName
			b.AddASN1ObjectIdentifier(OIDPKINITSan)
			b.AddASN1(ctx0, func(b *cryptobyte.Builder) { b.AddBytes(v) })
		})
	})
	return b.Bytes()
}

// WritePEM writes der as one PEM block of type typ.
func WritePEM(t testing.TB, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
}

// MITPKINITKDC is an MIT krb5kdc with PKINIT on: its certificate from
// CA, the CA as the anchor for client certificates, and the anonymous
// principal WELLKNOWN/ANONYMOUS, so that kinit -n works.
type MITPKINITKDC struct {
	*MITKDC
	CA      *PKICA
	KDCCert *IssuedCert
}

// PKINITKDCOptions adjust StartMITPKINITKDC.
type PKINITKDCOptions struct {
	// RealmLines are added to the realm's kdc.conf section after the
	// PKINIT settings.
	RealmLines []string
	// KDCCert replaces the KDC certificate's defaults.
	KDCCert CertOptions
}

// StartMITPKINITKDC starts MIT krb5kdc for realm with PKINIT: pkinit_identity
// (a KDC certificate with SAN krbtgt/REALM@REALM and EKU id-pkinit-KPKdc),
// pkinit_anchors (the CA), pkinit_allow_upn, and WELLKNOWN/ANONYMOUS. Its
// client krb5.conf (Env) trusts the CA for KDC certificates. It needs the
// PKINIT plugin (Debian krb5-pkinit) and skips or fails like RequirePeer
// without it.
func StartMITPKINITKDC(t testing.TB, realm string, o PKINITKDCOptions) *MITPKINITKDC {
	t.Helper()
	RequirePKINITPlugin(t)
	ca := NewPKICA(t, "Warden test PKINIT CA "+realm)
	kc := ca.IssueKDC(t, realm, o.KDCCert)
	lines := append([]string{
		"pkinit_identity = FILE:" + kc.CertFile + "," + kc.KeyFile,
		"pkinit_anchors = FILE:" + ca.CAFile,
		"pkinit_allow_upn = true",
	}, o.RealmLines...)
	k := StartMITKDCWith(t, realm, MITKDCOptions{RealmLines: lines})
	k.kadmin(t, "addprinc -randkey WELLKNOWN/ANONYMOUS")
	k.conf = k.writePKINITClientConf(t, ca.CAFile)
	return &MITPKINITKDC{MITKDC: k, CA: ca, KDCCert: kc}
}

// writePKINITClientConf writes the client krb5.conf of WriteClientConf
// plus the PKINIT anchor for KDC certificates.
func (k *MITKDC) writePKINITClientConf(t testing.TB, caFile string) string {
	t.Helper()
	p := k.WriteClientConf(k.Addr())
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "[libdefaults]\n", "[libdefaults]\n pkinit_anchors = FILE:"+caFile+"\n", 1)
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// AddPKINITUser creates principal (pre-authentication required, random
// keys: it logs in by certificate only) and issues its client certificate.
func (k *MITPKINITKDC) AddPKINITUser(t testing.TB, principal string, o CertOptions) *IssuedCert {
	t.Helper()
	k.kadmin(t, "addprinc +requires_preauth -randkey "+principal)
	return k.CA.IssueClient(t, principal, k.Realm(), o)
}

// pkinitPluginDirs are where Debian's krb5-pkinit puts pkinit.so.
var pkinitPluginDirs = []string{
	"/usr/lib/x86_64-linux-gnu/krb5/plugins/preauth",
	"/usr/lib/aarch64-linux-gnu/krb5/plugins/preauth",
	"/usr/lib/krb5/plugins/preauth",
	"/usr/lib64/krb5/plugins/preauth",
}

// RequirePKINITPlugin skips the test when MIT's PKINIT plugin is not
// installed, except in CI (CI=true), where it fails.
func RequirePKINITPlugin(t testing.TB) {
	t.Helper()
	for _, d := range pkinitPluginDirs {
		if _, err := os.Stat(filepath.Join(d, "pkinit.so")); err == nil {
			return
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("interop peer missing in CI: MIT's pkinit.so (krb5-pkinit) not in %v", pkinitPluginDirs)
	}
	t.Skipf("interop peer missing: MIT's pkinit.so (apt-get install krb5-pkinit) not in %v", pkinitPluginDirs)
}
