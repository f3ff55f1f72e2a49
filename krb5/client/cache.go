package client

import (
	"github.com/warden-auth/warden/krb5/ccache"
)

// FASTAvailKey is the credential cache configuration entry with which
// MIT's library records that the KDC of a cache's realm supports FAST
// (value "yes", principal krbtgt/REALM@REALM). MIT's kinit -T reads it in
// the armor cache to armor from the first request; Warden reads it in a
// user's cache to armor TGS requests made with the cache's TGT.
const FASTAvailKey = "fast_avail"

func tgtConfigPrincipal(realm string) string {
	return ccache.Principal{Realm: realm, Name: TGTName(realm)}.String()
}

// TGTFromCache returns the cache's TGT for realm (krbtgt/REALM@REALM)
// with Credentials.FAST set when the cache records that the realm's KDC
// supports FAST (FASTAvailKey), so that TGS requests with it are armored.
func TGTFromCache(c *ccache.Cache, realm string) (*Credentials, error) {
	e, err := c.Find(ccache.Principal{Realm: realm, Name: TGTName(realm)})
	if err != nil {
		return nil, err
	}
	cr, err := FromCCache(*e)
	if err != nil {
		return nil, err
	}
	if v, ok := c.Config(FASTAvailKey, tgtConfigPrincipal(realm)); ok && string(v) == "yes" {
		cr.FAST = true
	}
	return cr, nil
}

// RecordFAST sets FASTAvailKey in c for the realm of cr's server when
// the KDC's FAST support was verified (cr.FAST): an armored exchange, or
// the KDC's protected FAST negotiation. Unverified hints (FASTOffered)
// are not recorded.
func RecordFAST(c *ccache.Cache, cr *Credentials) {
	if cr.FAST && cr.IsTGT() {
		c.SetConfig(FASTAvailKey, tgtConfigPrincipal(cr.Server.Realm), []byte("yes"))
	}
}
