package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
)

// demoComputer is the workstation account whose TGT armors alice's
// logon in the FAST scenario.
const demoComputer = "WS01"

// computerTGT logs the workstation in with its keytab (its key is
// random, so it needs no armor of its own).
func (d *demoRealm) computerTGT(c context.Context) (*client.Credentials, error) {
	kt, _, err := d.admin.Keytab(c, demoComputer+"$", false)
	if err != nil {
		return nil, err
	}
	return d.client.ASExchange(c, krb5.NewPrincipalName(krb5.NameTypePrincipal, demoComputer+"$"), client.Keytab(kt), client.ASOptions{})
}

// fast is MS-AUTHSOD 2.5.4.1.1, alternative "FAST": the computer gets
// its TGT, alice's AS exchange is armored with it (encrypted challenge
// instead of a timestamp a listener could attack offline), her TGS
// exchange too, and the server reads groups and claims from the PAC.
func (d *demoRealm) fast(c context.Context) (string, error) {
	armor, err := d.computerTGT(c)
	if err != nil {
		return "", err
	}
	tgt, err := d.client.ASExchange(c, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), client.Password(demoPassword), client.ASOptions{Armor: armor})
	if err != nil {
		return "", err
	}
	if !tgt.FAST {
		return "", fmt.Errorf("the TGT is not marked as obtained with FAST")
	}
	sname := krb5.NewPrincipalName(krb5.NameTypeSrvHst, demoService)
	st, err := d.client.TGSExchange(c, tgt, sname, client.TGSOptions{FAST: client.FASTOn})
	if err != nil {
		return "", err
	}
	etp, err := d.openServiceTicket(st)
	if err != nil {
		return "", err
	}
	p, err := pac.FromTicket(etp)
	if err != nil || p == nil || p.LogonInfo == nil {
		return "", fmt.Errorf("service ticket PAC: %v", err)
	}
	cs, err := pac.DecodeClaims(p.ClientClaims)
	if err != nil {
		return "", err
	}
	var claims []string
	for _, arr := range cs.Arrays {
		for _, e := range arr.Claims {
			claims = append(claims, e.ID+"="+strings.Join(e.Values(), ","))
		}
	}
	return fmt.Sprintf("%s@%s (%d groups, claims %s); AS and TGS armored with %s$'s TGT",
		etp.CName, etp.CRealm, len(p.LogonInfo.GroupSIDs()), strings.Join(claims, " "), demoComputer), nil
}

// fastWrongPassword: the KDC's refusal travels inside the armor.
func (d *demoRealm) fastWrongPassword(c context.Context) (string, error) {
	armor, err := d.computerTGT(c)
	if err != nil {
		return "", err
	}
	_, err = d.client.ASExchange(c, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), client.Password("not the password"), client.ASOptions{Armor: armor})
	return "", reasonOf(err)
}

// openServiceTicket decrypts a ticket for demoService with its keytab,
// as the server does.
func (d *demoRealm) openServiceTicket(st *client.Credentials) (*krb5.EncTicketPart, error) {
	ed := st.Ticket.EncPart
	entry, err := d.svcKT.Find(st.Ticket.SName, d.realm, ed.KVNO, ed.EType)
	if err != nil {
		return nil, err
	}
	key, err := kcrypto.NewKey(entry.Key, kcrypto.Options{})
	if err != nil {
		return nil, err
	}
	plain, err := key.DecryptData(kcrypto.UsageTicket, ed)
	if err != nil {
		return nil, err
	}
	var etp krb5.EncTicketPart
	if err := etp.Unmarshal(plain); err != nil {
		return nil, err
	}
	return &etp, nil
}
