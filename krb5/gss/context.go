package gss

import (
	"fmt"
	"time"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
)

// Context is an established Kerberos security context, on either side.
// Its embedded PerMessage makes and checks MIC and Wrap tokens.
type Context struct {
	*PerMessage

	// Client and Service name the two parties, as in the ticket.
	Client       krb5.PrincipalName
	ClientRealm  string
	Service      krb5.PrincipalName
	ServiceRealm string
	// Flags are the context flags in effect (from the authenticator
	// checksum on the acceptor side).
	Flags Flags
	// Mutual is true when the acceptor proved itself with an AP-REP.
	Mutual bool
	// AuthTime and EndTime come from the ticket; the context expires at
	// EndTime.
	AuthTime, EndTime time.Time
	// TicketFlags are the ticket's flags (acceptor side).
	TicketFlags krb5.Flags
	// SessionKey is the context's base key: the acceptor subkey, else the
	// initiator subkey, else the ticket session key (RFC 4121 2). It is
	// also the key applications export (MS-KILE 3.1.1.2).
	SessionKey *kcrypto.Key
	// PAC is the ticket's PAC, whose server signature the acceptor
	// verified with its own key; nil when the ticket carried none.
	PAC *pac.PAC
	// Delegated holds the credentials the client forwarded (a TGT) when
	// it asked for delegation and the ticket allowed it; decrypted, nil
	// otherwise.
	Delegated *Delegated
}

// Delegated is a forwarded ticket: a KRB-CRED's first ticket and its
// session key.
type Delegated struct {
	Ticket krb5.Ticket
	Info   krb5.KrbCredInfo
}

// ClientPrincipal returns "name@REALM".
func (c *Context) ClientPrincipal() string { return c.Client.String() + "@" + c.ClientRealm }

// ServicePrincipal returns "name@REALM".
func (c *Context) ServicePrincipal() string { return c.Service.String() + "@" + c.ServiceRealm }

// Identity returns what the context proves about the client, with the
// SIDs and group SIDs of its PAC when there is one. Group names are not
// in a PAC; resolving them is the caller's business (httpauth does it
// with the names the AA publishes).
func (c *Context) Identity() *auth.Identity {
	id := &auth.Identity{
		User:    c.Client.String(),
		Realm:   c.ClientRealm,
		Method:  auth.MethodKerberos,
		Mutual:  c.Mutual,
		Expires: c.EndTime,
	}
	if c.PAC != nil && c.PAC.LogonInfo != nil {
		li := c.PAC.LogonInfo
		if s := li.UserSID(); !s.IsZero() {
			id.SID = s.String()
		}
		id.Groups = uniqueGroups(li.GroupSIDs())
		if c.PAC.UPNDNSInfo != nil && c.PAC.UPNDNSInfo.SamName != "" {
			id.User = c.PAC.UPNDNSInfo.SamName
		}
		// MS-KILE 3.4.5.3: claims count only with CLAIMS_VALID among the
		// user's SIDs; the device part only with COMPOUNDED_AUTHENTICATION,
		// and the device's claims only with CLAIMS_VALID among its own.
		if hasSID(li.ExtraSIDs, pac.SIDClaimsValid) {
			id.Claims = claimsOf(c.PAC.ClientClaims)
		}
		if di := c.PAC.DeviceInfo; di != nil && hasSID(li.ExtraSIDs, pac.SIDCompoundedAuthentication) {
			id.Device = deviceOf(di, c.PAC.DeviceClaims)
		}
	}
	return id
}

// deviceOf is the device of a compound identity: the computer's SID, its
// group SIDs (each once) and its claims. Its name is not in the PAC.
func deviceOf(di *pac.DeviceInfo, claims []byte) *auth.Device {
	d := &auth.Device{}
	if s := di.DeviceSID(); !s.IsZero() {
		d.SID = s.String()
	}
	d.Groups = uniqueGroups(di.GroupSIDs())
	if hasSID(di.ExtraSIDs, pac.SIDClaimsValid) {
		d.Claims = claimsOf(claims)
	}
	return d
}

// uniqueGroups lists each group SID once: Windows PACs list the primary
// group in GroupIds too.
func uniqueGroups(sids []pac.SIDAndAttributes) []auth.Group {
	var out []auth.Group
	seen := make(map[pac.SID]bool, len(sids))
	for _, g := range sids {
		if !seen[g.SID] {
			seen[g.SID] = true
			out = append(out, auth.Group{SID: g.SID.String()})
		}
	}
	return out
}

func hasSID(l []pac.SIDAndAttributes, s pac.SID) bool {
	for _, x := range l {
		if x.SID == s {
			return true
		}
	}
	return false
}

// claimsOf lists a PAC claims buffer's claims with their values as text
// (integers in decimal, booleans as true/false). A buffer that does not
// decode (a compressed set) gives none: the PAC's signatures vouch for
// it, but its claims cannot be read here.
func claimsOf(buf []byte) []auth.Claim {
	if buf == nil {
		return nil
	}
	cs, err := pac.DecodeClaims(buf)
	if err != nil {
		return nil
	}
	var out []auth.Claim
	for _, a := range cs.Arrays {
		for _, e := range a.Claims {
			out = append(out, auth.Claim{ID: e.ID, Values: e.Values()})
		}
	}
	return out
}

func (c *Context) String() string {
	return fmt.Sprintf("%s -> %s", c.ClientPrincipal(), c.ServicePrincipal())
}
