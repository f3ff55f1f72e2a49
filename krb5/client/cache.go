package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/warden-auth/warden/krb5/ccache"
)

// FASTAvailKey is the credential cache configuration entry with which
// MIT's library records that the KDC of a cache's realm supports FAST
// (value "yes", principal krbtgt/REALM@REALM). MIT's kinit -T reads it in
// the armor cache to armor from the first request; Warden reads it in a
// user's cache to armor TGS requests made with the cache's TGT.
const FASTAvailKey = "fast_avail"

// CompoundAvailKey is the configuration entry with which Warden records
// that the KDC of a cache's realm does compound identity (Credentials.
// Compound), in the manner of FASTAvailKey. MIT's tools ignore it.
const CompoundAvailKey = "compound_avail"

// DeviceCacheSuffix names the side cache, next to a user's cache
// (CACHE.armor), where warden kinit --armor-keytab keeps the computer's
// TGT: the FAST armor of the logon, and later the device identity of
// the user's TGS requests (CompoundArmor).
const DeviceCacheSuffix = ".armor"

func tgtConfigPrincipal(realm string) string {
	return ccache.Principal{Realm: realm, Name: TGTName(realm)}.String()
}

// TGTFromCache returns the cache's TGT for realm (krbtgt/REALM@REALM)
// with Credentials.FAST set when the cache records that the realm's KDC
// supports FAST (FASTAvailKey), so that TGS requests with it are armored,
// and Credentials.Compound when it records compound identity.
func TGTFromCache(c *ccache.Cache, realm string) (*Credentials, error) {
	e, err := c.Find(ccache.Principal{Realm: realm, Name: TGTName(realm)})
	if err != nil {
		return nil, err
	}
	cr, err := FromCCache(*e)
	if err != nil {
		return nil, err
	}
	cr.FAST = recorded(c, FASTAvailKey, realm)
	cr.Compound = recorded(c, CompoundAvailKey, realm)
	return cr, nil
}

// recorded reports whether the cache's configuration entry key for the
// TGT of realm is "yes" (RecordKDCFeatures).
func recorded(c *ccache.Cache, key, realm string) bool {
	v, ok := c.Config(key, tgtConfigPrincipal(realm))
	return ok && string(v) == "yes"
}

// RecordKDCFeatures records in c what the KDC of cr's realm was seen to
// support, for TGS requests made later with the cache's TGT: FAST
// (FASTAvailKey) when it was verified (cr.FAST: an armored exchange, or
// the KDC's protected FAST negotiation; unverified hints, FASTOffered,
// are not recorded), and compound identity (CompoundAvailKey,
// cr.Compound).
func RecordKDCFeatures(c *ccache.Cache, cr *Credentials) {
	if !cr.IsTGT() {
		return
	}
	if cr.FAST {
		c.SetConfig(FASTAvailKey, tgtConfigPrincipal(cr.Server.Realm), []byte("yes"))
	}
	if cr.Compound {
		c.SetConfig(CompoundAvailKey, tgtConfigPrincipal(cr.Server.Realm), []byte("yes"))
	}
}

// CompoundArmor returns the device TGT with which TGS requests made with
// the user's tgt from the cache at userCache are armored explicitly, so
// that the KDC adds the device's groups and claims to tickets for
// services that support compound identity (MS-KILE 3.2.5.7): the TGT of
// the realm in userCache+DeviceCacheSuffix, when the KDC does compound
// identity (tgt.Compound). It returns nil and no error when either is
// missing, and nil with the reason when the device TGT is there but
// unusable (expired, another realm): the caller then asks without it.
func CompoundArmor(userCache string, tgt *Credentials, now time.Time) (*Credentials, error) {
	if !tgt.Compound || !tgt.IsTGT() {
		return nil, nil
	}
	path := userCache + DeviceCacheSuffix
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	c, err := ccache.Load(path)
	if err != nil {
		return nil, fmt.Errorf("the device cache %s: %w", path, err)
	}
	realm := tgt.Server.Realm
	dev, err := TGTFromCache(c, realm)
	if err != nil {
		return nil, fmt.Errorf("the device cache %s holds no TGT of %s: %w", path, realm, err)
	}
	if !strings.EqualFold(dev.Client.Realm, realm) {
		return nil, fmt.Errorf("the device TGT in %s is for %s, of another realm than %s", path, dev.Client, realm)
	}
	if dev.Expired(now) {
		return nil, fmt.Errorf("the device TGT of %s in %s expired at %s", dev.Client, path, dev.EndTime.Local().Format(time.DateTime))
	}
	return dev, nil
}
