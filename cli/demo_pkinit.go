package cli

import (
	"context"
	"crypto/x509"
	"fmt"

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

// certLogon gets alice a TGT with PKINIT and the certificate iss.
func certLogon(c context.Context, cl *client.Client, iss *pki.Issued) (*client.Credentials, error) {
	cert := &client.Certificate{Chain: []*x509.Certificate{iss.Cert}, Key: iss.Key}
	return cl.ASExchange(c, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), nil, client.ASOptions{Certificate: cert})
}

// anonymousTGT gets an anonymous TGT (RFC 8062) and the client it used.
func (d *demoRealm) anonymousTGT(c context.Context) (*client.Client, *client.Credentials, error) {
	cl, err := d.pkinitClient()
	if err != nil {
		return nil, nil, err
	}
	anon, err := cl.ASExchange(c, client.AnonymousName, nil, client.ASOptions{Anonymous: true, Realm: d.realm})
	return cl, anon, err
}

// aliceCertificate is a PKINIT client and a fresh certificate of alice
// from the realm CA.
func (d *demoRealm) aliceCertificate(c context.Context) (*client.Client, *pki.Issued, error) {
	cl, err := d.pkinitClient()
	if err != nil {
		return nil, nil, err
	}
	iss, err := d.srv.PKI().IssueAccount(c, "alice", pki.IssueRequest{})
	return cl, iss, err
}

// smartCard is MS-AUTHSOD 2.5.5.1.2: alice proves herself to the AA with
// a certificate from the realm CA and its private key instead of a
// password (PKINIT), gets a TGT and a service ticket, and the server
// reads her identity from it.
func (d *demoRealm) smartCard(c context.Context) (string, error) {
	cl, iss, err := d.aliceCertificate(c)
	if err != nil {
		return "", err
	}
	tgt, err := certLogon(c, cl, iss)
	if err != nil {
		return "", err
	}
	sname := krb5.NewPrincipalName(krb5.NameTypeSrvHst, demoService)
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
	cl, iss, err := d.aliceCertificate(c)
	if err != nil {
		return "", err
	}
	if _, err := d.srv.PKI().Revoke(c, iss.Record.Serial, pki.ReasonKeyCompromise); err != nil {
		return "", err
	}
	d.srv.KDC().Refresh(c)
	_, err = certLogon(c, cl, iss)
	return "", reasonOf(err)
}

// anonymousArmor: a host with no account gets an anonymous TGT (RFC
// 8062) and armors alice's password logon with it (FAST).
func (d *demoRealm) anonymousArmor(c context.Context) (string, error) {
	cl, anon, err := d.anonymousTGT(c)
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
	cl, anon, err := d.anonymousTGT(c)
	if err != nil {
		return "", err
	}
	sname := krb5.NewPrincipalName(krb5.NameTypeSrvHst, demoService)
	_, err = cl.TGSExchange(c, anon, sname, client.TGSOptions{})
	return "", reasonOf(err)
}
