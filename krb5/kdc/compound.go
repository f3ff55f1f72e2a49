package kdc

import (
	"fmt"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

// Compound identity (MS-KILE 3.3.5.7.4): a TGS-REQ armored explicitly
// with a computer's TGT while its PA-TGS-REQ carries the user's TGT
// asks, for a service flagged compound-identity, that the service ticket
// describe the device too. The device part of the PAC is taken from the
// armor TGT's PAC only, after verifying it exactly as a TGT's PAC is
// verified: a client cannot name a device it does not hold the TGT and
// session key of.

// checkDeviceArmor refuses an explicit TGS armor that does not name a
// device: it must be the TGT of a computer account of this realm. A
// user's TGT is not a device identity, and an anonymous or foreign TGT
// has no account whose groups could be vouched for.
func checkDeviceArmor(ar *armor) error {
	if ar.account == nil {
		return &krb5.Error{Code: krb5.KDCErrPolicy,
			Reason: "explicit FAST armor in a TGS-REQ names the device (compound identity), but the armor TGT's client " + ar.client + " is not an account of this realm",
			Hint:   "armor TGS requests with the computer's own TGT (warden kinit --armor-keytab), or with none"}
	}
	if ar.account.acct.Kind != store.KindComputer {
		return &krb5.Error{Code: krb5.KDCErrPolicy,
			Reason: fmt.Sprintf("explicit FAST armor in a TGS-REQ names the device (compound identity), but the armor TGT is for %s, a %s account, not a computer", ar.client, ar.account.acct.Kind),
			Hint:   "armor with the computer's TGT (its keytab: warden kinit --armor-keytab host.keytab); a user's TGT cannot stand for a device"}
	}
	return nil
}

// compoundFor reports whether a ticket for server gets the device part:
// the request was armored with a device TGT and the service supports
// compound identity.
func (x *exchange) compoundFor(server *principal) bool {
	return x.fast != nil && x.fast.device != nil && server.acct.Flags&store.FlagCompoundIdentity != 0
}

// deviceData is what compound identity adds to a service ticket's PAC.
type deviceData struct {
	info   *pac.DeviceInfo
	claims []byte // PAC_DEVICE_CLAIMS_INFO; empty when the device has none
}

// device verifies the device TGT's PAC — the server and KDC
// signatures with the krbtgt key, the ticket and full signatures when
// present, the client info against the TGT, the requestor against the
// computer account — and takes PAC_DEVICE_INFO and the device claims
// from it (MS-KILE 3.3.5.7.4): the computer's RID, primary group, domain,
// groups and extra SIDs, and its client claims.
func (x *exchange) device() (*deviceData, error) {
	ar := x.fast.device
	who := "device TGT of " + ar.client
	raw, ok, err := pac.FromAuthorizationData(ar.tgt.AuthorizationData)
	if err != nil {
		return nil, pacError(who, err)
	}
	if !ok {
		return nil, &krb5.Error{Code: krb5.KDCErrTGTRevoked,
			Reason: "the " + who + " carries no PAC, so the device's groups cannot be vouched for",
			Hint:   "get a new device TGT: warden kinit --armor-keytab (this KDC puts a PAC in every TGT it issues)"}
	}
	p, err := pac.Decode(raw)
	if err == nil {
		err = verifyKrbtgtPAC(p, &ar.tgt, ar.krbtgt, ar.tgtKey)
	}
	if err != nil {
		return nil, pacError(who, err)
	}
	if p.LogonInfo == nil {
		return nil, &krb5.Error{Code: krb5.KDCErrTGTRevoked, Reason: "the " + who + " has a PAC without logon info"}
	}
	want := x.k.dir.domain.Load().sidOf(ar.account.acct.RID)
	if p.Requestor == nil || *p.Requestor != want {
		return nil, &krb5.Error{Code: krb5.KDCErrTGTRevoked,
			Reason: fmt.Sprintf("the %s was not requested by the computer account %s (%v)", who, ar.account.acct.Name, want),
			Hint:   "the computer account was deleted and re-created, or renamed; get a new device TGT with its keytab"}
	}
	li := p.LogonInfo
	dev := &deviceData{
		info: &pac.DeviceInfo{
			UserID:          li.UserID,
			PrimaryGroupID:  li.PrimaryGroupID,
			AccountDomainID: li.LogonDomainID,
			AccountGroupIDs: li.GroupIDs,
			ExtraSIDs:       li.ExtraSIDs,
		},
		claims: p.ClientClaims,
	}
	if !li.ResourceGroupDomainSID.IsZero() && len(li.ResourceGroupIDs) > 0 {
		dev.info.DomainGroups = []pac.DomainGroupMembership{{DomainID: li.ResourceGroupDomainSID, GroupIDs: li.ResourceGroupIDs}}
	}
	if dev.claims == nil {
		dev.claims = []byte{}
	}
	x.res.Detail = "compound identity: device " + ar.client
	return dev, nil
}

// addTo puts the device part into a service ticket's PAC p (a copy
// the caller owns): PAC_DEVICE_INFO, PAC_DEVICE_CLAIMS_INFO, and
// COMPOUNDED_AUTHENTICATION among the user's extra SIDs, which tells
// the service that the device data is there (MS-PAC 2.12, MS-KILE
// 3.4.5.3).
func (d *deviceData) addTo(p *pac.PAC) {
	li := *p.LogonInfo
	li.ExtraSIDs = append(append([]pac.SIDAndAttributes(nil), li.ExtraSIDs...),
		pac.SIDAndAttributes{SID: pac.SIDCompoundedAuthentication, Attributes: pac.GroupDefault})
	p.LogonInfo = &li
	p.DeviceInfo = d.info
	p.DeviceClaims = d.claims
}
