package client

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5/ccache"
)

// CompoundArmor gives the device TGT kept next to a user's cache only
// when the user's TGT says the KDC does compound identity and the device
// TGT is valid; a missing device cache is no error, a stale one is.
func TestCompoundArmor(t *testing.T) {
	_, c, machine := fastKDC(t)
	user, err := armoredKinit(c, machine, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	userCache := filepath.Join(dir, "cc")
	write := func(path string, cr *Credentials) {
		t.Helper()
		cache := &ccache.Cache{Version: 0x0504, DefaultPrincipal: cr.Client, Credentials: []ccache.Credential{cr.CCache()}}
		RecordKDCFeatures(cache, cr)
		if err := cache.WriteFile(path); err != nil {
			t.Fatal(err)
		}
	}
	now := user.StartTime.Add(time.Minute)

	// The KDC did not say compound: nothing, even with a device cache.
	write(userCache+DeviceCacheSuffix, machine)
	if dev, err := CompoundArmor(userCache, user, now); dev != nil || err != nil {
		t.Fatalf("no compound bit: %v %v", dev, err)
	}
	user.Compound = true
	write(userCache, user)
	back, err := ccache.Load(userCache)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := TGTFromCache(back, testRealm)
	if err != nil || !tgt.Compound {
		t.Fatalf("compound_avail not read back: %v", err)
	}
	dev, err := CompoundArmor(userCache, tgt, now)
	if err != nil || dev == nil || !dev.Client.Equal(machine.Client) {
		t.Fatalf("device TGT: %v %v", dev, err)
	}
	if _, err := CompoundArmor(userCache, tgt, machine.EndTime.Add(time.Second)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired device TGT: %v", err)
	}
	if dev, err := CompoundArmor(filepath.Join(dir, "other"), tgt, now); dev != nil || err != nil {
		t.Errorf("no device cache: %v %v", dev, err)
	}
}
