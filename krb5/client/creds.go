package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
)

// Credentials are a ticket with its session key and what the KDC said
// about it in the reply's encrypted part.
type Credentials struct {
	Client    ccache.Principal
	Server    ccache.Principal
	Key       krb5.EncryptionKey // the session key
	AuthTime  time.Time
	StartTime time.Time // the KDC's starttime, or AuthTime when it sent none
	EndTime   time.Time
	RenewTill time.Time // zero: not renewable
	Flags     krb5.Flags
	Addresses krb5.HostAddresses // nil: an address-less ticket
	// Ticket is the ticket as the KDC sent it; Ticket.Raw holds its bytes,
	// which are forwarded verbatim.
	Ticket krb5.Ticket
	// FAST: the issuing KDC is known to support FAST: the ticket came
	// from a FAST-armored exchange whose protection was verified, or the
	// KDC said so in its reply's encrypted padata (RFC 6806 FAST
	// negotiation). TGS requests with it are armored (TGSOptions.FAST).
	// Not stored in a ccache entry: see TGTFromCache and RecordKDCFeatures for
	// the cache's "fast_avail" setting.
	FAST bool
	// FASTOffered: the KDC says it supports FAST, at least by listing
	// PA-FX-FAST when it asked for pre-authentication (unverified);
	// implied by FAST.
	FASTOffered bool
	// Compound: the issuing KDC said, in the encrypted padata of this
	// TGT's reply (PA-SUPPORTED-ENCTYPES, MS-KILE 2.2.8), that it does
	// compound identity: TGS requests with this TGT may be armored with
	// the device's TGT (CompoundArmor). Kept in a ccache as
	// CompoundAvailKey.
	Compound bool
}

// credsFromReply builds Credentials from a verified reply.
func credsFromReply(rep *krb5.KDCRep, part *krb5.EncKDCRepPart) *Credentials {
	start := part.StartTime
	if start.IsZero() {
		start = part.AuthTime
	}
	cr := &Credentials{
		Client:    ccache.Principal{Realm: rep.CRealm, Name: rep.CName},
		Server:    ccache.Principal{Realm: part.SRealm, Name: part.SName},
		Key:       part.Key,
		AuthTime:  part.AuthTime,
		StartTime: start,
		EndTime:   part.EndTime,
		RenewTill: part.RenewTill,
		Flags:     part.Flags,
		Addresses: part.CAddr,
		Ticket:    rep.Ticket,
	}
	// The encrypted padata is as authentic as the reply key.
	if pa, ok := part.EncryptedPAData.Find(krb5.PASupportedEnctypes); ok && cr.IsTGT() {
		if bits, err := krb5.DecodeSupportedEnctypes(pa.Value); err == nil {
			cr.Compound = bits&krb5.SETCompoundIdentity != 0
		}
	}
	return cr
}

// CCache returns the credential as a ccache entry.
func (c *Credentials) CCache() ccache.Credential {
	tkt, _ := c.Ticket.Marshal()
	return ccache.Credential{
		Client:      c.Client,
		Server:      c.Server,
		Key:         c.Key,
		AuthTime:    c.AuthTime,
		StartTime:   c.StartTime,
		EndTime:     c.EndTime,
		RenewTill:   c.RenewTill,
		TicketFlags: c.Flags,
		Addresses:   []krb5.HostAddress(c.Addresses),
		Ticket:      tkt,
	}
}

// FromCCache decodes a ccache entry (for example one MIT kinit wrote).
func FromCCache(cc ccache.Credential) (*Credentials, error) {
	if cc.IsConfig() {
		return nil, errors.New("client: a ccache configuration entry is not a ticket")
	}
	var t krb5.Ticket
	if err := t.Unmarshal(cc.Ticket); err != nil {
		return nil, fmt.Errorf("client: ccache entry for %s: %w", cc.Server, err)
	}
	start := cc.StartTime
	if start.IsZero() {
		start = cc.AuthTime
	}
	c := &Credentials{
		Client:    cc.Client,
		Server:    cc.Server,
		Key:       cc.Key,
		AuthTime:  cc.AuthTime,
		StartTime: start,
		EndTime:   cc.EndTime,
		RenewTill: cc.RenewTill,
		Flags:     cc.TicketFlags,
		Ticket:    t,
	}
	if cc.Addresses != nil {
		c.Addresses = krb5.HostAddresses(cc.Addresses)
	}
	return c, nil
}

// IsTGT reports whether the ticket is for a ticket-granting service
// (krbtgt/REALM).
func (c *Credentials) IsTGT() bool {
	n := c.Server.Name.NameString
	return len(n) == 2 && n[0] == "krbtgt"
}

// Expired reports whether the ticket's end time has passed at now.
func (c *Credentials) Expired(now time.Time) bool { return !now.Before(c.EndTime) }

// Renewable reports whether the ticket can still be renewed at now.
func (c *Credentials) Renewable(now time.Time) bool {
	return c.Flags.Has(krb5.TktFlagRenewable) && now.Before(c.RenewTill)
}
