package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/gss"
)

// demoCompoundService supports compound identity: its tickets describe
// the device as well as the user.
const demoCompoundService = "HTTP/app.warden.test"

// setupCompound adds the compound-identity service, a group of the
// workstation and a claim of it.
func setupCompound(c context.Context, a *admin.Admin) error {
	if _, err := a.AddService(c, demoCompoundService, admin.ServiceOptions{CompoundIdentity: true}); err != nil {
		return err
	}
	if _, err := a.AddGroup(c, "workstations", "demo"); err != nil {
		return err
	}
	if err := a.AddMembers(c, "workstations", demoComputer+"$"); err != nil {
		return err
	}
	_, err := a.SetClaim(c, demoComputer+"$", "ad://ext/site=Paris")
	return err
}

// compound is MS-AUTHSOD 2.5.4.1.1, alternative "Compound Identity": the
// computer's TGT armors alice's logon and then, explicitly, her TGS
// request; for a service that supports compound identity the KDC adds
// the computer's groups and claims to the PAC, and the server (a GSS
// acceptor with the service's keytab) reads user claims, device claims
// and groups.
func (d *demoRealm) compound(c context.Context) (string, error) {
	device, err := d.computerTGT(c)
	if err != nil {
		return "", err
	}
	tgt, err := d.client.ASExchange(c, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), client.Password(demoPassword), client.ASOptions{Armor: device})
	if err != nil {
		return "", err
	}
	if !tgt.Compound {
		return "", fmt.Errorf("the KDC did not say it does compound identity")
	}
	sname := krb5.NewPrincipalName(krb5.NameTypeSrvHst, demoCompoundService)
	st, err := d.client.TGSExchange(c, tgt, sname, client.TGSOptions{Armor: device})
	if err != nil {
		return "", err
	}
	id, err := d.acceptAs(c, demoCompoundService, st)
	if err != nil {
		return "", err
	}
	if id.Device == nil {
		return "", fmt.Errorf("the server sees no device in %s's ticket", id.Principal())
	}
	return fmt.Sprintf("%s (%d groups, claims %s) on device %s (%d groups, claims %s)",
		id.Principal(), len(id.Groups), claimText(id.Claims), id.Device.SID, len(id.Device.Groups), claimText(id.Device.Claims)), nil
}

// compoundUserArmor: a user's TGT offered as the device is refused.
func (d *demoRealm) compoundUserArmor(c context.Context) (string, error) {
	tgt, err := d.login(c, d.client, demoPassword)
	if err != nil {
		return "", err
	}
	sname := krb5.NewPrincipalName(krb5.NameTypeSrvHst, demoCompoundService)
	_, err = d.client.TGSExchange(c, tgt, sname, client.TGSOptions{Armor: tgt})
	return "", reasonOf(err)
}

// acceptAs runs the server side: a GSS acceptor with spn's keytab
// accepts an AP-REQ made from the service ticket st.
func (d *demoRealm) acceptAs(c context.Context, spn string, st *client.Credentials) (*auth.Identity, error) {
	kt, _, err := d.admin.Keytab(c, spn, false)
	if err != nil {
		return nil, err
	}
	acc, err := gss.NewAcceptor(gss.AcceptorConfig{Keytab: kt})
	if err != nil {
		return nil, err
	}
	cc := st.CCache()
	cred, err := gss.CredentialFromCCache(&cc)
	if err != nil {
		return nil, err
	}
	_, token, err := gss.NewInitiator(cred, gss.InitiatorConfig{})
	if err != nil {
		return nil, err
	}
	ctx, _, err := acc.AcceptKerberos(token, gss.AcceptOptions{})
	if err != nil {
		return nil, err
	}
	return ctx.Identity(), nil
}

func claimText(cs []auth.Claim) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.ID+"="+strings.Join(c.Values, ","))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}
