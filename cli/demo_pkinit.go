package cli

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/pki"
)

// pkinitClient is a client that trusts the realm CA to sign the KDC's
// PKINIT replies (what pkinit_anchors says in a krb5.conf).
func (d *demoRealm) pkinitClient() (*client.Client, error) {
	roots := x509.NewCertPool()
	roots.AddCert(d.srv.PKI().CA())
	cfg := d.client.Config()
	cfg.PKINIT.Roots = roots
	return client.New(cfg)
}

// smartCard is MS-AUTHSOD 2.5.5.1.2: alice proves herself to the AA with
// a certificate from the realm CA and its private key instead of a
// password (PKINIT), gets a TGT and a service ticket, and the server
// reads her identity from it.
func (d *demoRealm) smartCard(c context.Context) (string, error) {
	cl, err := d.pkinitClient()
	if err != nil {
		return "", err
	}
	iss, err := d.srv.PKI().IssueAccount(c, "alice", pki.IssueRequest{})
	if err != nil {
		return "", err
	}
	cert := &client.Certificate{Chain: []*x509.Certificate{iss.Cert}, Key: iss.Key}
	tgt, err := cl.ASExchange(c, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), nil, client.ASOptions{Certificate: cert})
	if err != nil {
		return "", err
	}
	sname := krb5.PrincipalName{NameType: krb5.NameTypeSrvHst, NameString: strings.Split(demoService, "/")}
	st, err := cl.TGSExchange(c, tgt, sname, client.TGSOptions{})
	if err != nil {
		return "", err
	}
	id, err := d.acceptAs(c, demoService, st)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s (%d groups) from certificate serial %x; the KDC's reply signed by its realm-CA certificate",
		id.Principal(), len(id.Groups), iss.Cert.SerialNumber), nil
}

// smartCardRevoked: a revoked certificate is refused with the reason.
func (d *demoRealm) smartCardRevoked(c context.Context) (string, error) {
	cl, err := d.pkinitClient()
	if err != nil {
		return "", err
	}
	iss, err := d.srv.PKI().IssueAccount(c, "alice", pki.IssueRequest{})
	if err != nil {
		return "", err
	}
	if _, err := d.srv.PKI().Revoke(c, iss.Record.Serial, pki.ReasonKeyCompromise); err != nil {
		return "", err
	}
	d.srv.KDC().Refresh(c)
	cert := &client.Certificate{Chain: []*x509.Certificate{iss.Cert}, Key: iss.Key}
	_, err = cl.ASExchange(c, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), nil, client.ASOptions{Certificate: cert})
	return "", reasonOf(err)
}

// anonymousArmor: a host with no account gets an anonymous TGT (RFC
// 8062) and armors alice's password logon with it (FAST).
func (d *demoRealm) anonymousArmor(c context.Context) (string, error) {
	cl, err := d.pkinitClient()
	if err != nil {
		return "", err
	}
	anon, err := cl.ASExchange(c, client.AnonymousName, nil, client.ASOptions{Anonymous: true, Realm: d.realm})
	if err != nil {
		return "", err
	}
	tgt, err := cl.ASExchange(c, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), client.Password(demoPassword), client.ASOptions{Armor: anon})
	if err != nil {
		return "", err
	}
	if !tgt.FAST {
		return "", fmt.Errorf("the TGT is not marked as obtained with FAST")
	}
	return fmt.Sprintf("%s, logon armored with the anonymous TGT of %s@%s", tgt.Client, anon.Client.Name, anon.Client.Realm), nil
}

// anonymousForService: the anonymous TGT is for armor only.
func (d *demoRealm) anonymousForService(c context.Context) (string, error) {
	cl, err := d.pkinitClient()
	if err != nil {
		return "", err
	}
	anon, err := cl.ASExchange(c, client.AnonymousName, nil, client.ASOptions{Anonymous: true, Realm: d.realm})
	if err != nil {
		return "", err
	}
	sname := krb5.PrincipalName{NameType: krb5.NameTypeSrvHst, NameString: strings.Split(demoService, "/")}
	_, err = cl.TGSExchange(c, anon, sname, client.TGSOptions{})
	return "", reasonOf(err)
}
