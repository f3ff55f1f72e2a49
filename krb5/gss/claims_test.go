package gss

import (
	"reflect"
	"testing"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/krb5/pac"
)

// The identity lists a PAC's client claims with their values as text.
func TestClaimsOf(t *testing.T) {
	buf, err := pac.EncodeClaims(&pac.ClaimsSet{Arrays: []pac.ClaimsArray{{Source: pac.ClaimsSourceAD, Claims: []pac.ClaimEntry{
		{ID: "ad://ext/department", Type: pac.ClaimTypeString, Strings: []string{"Sales", "Support"}},
		{ID: "ad://ext/level", Type: pac.ClaimTypeInt64, Int64s: []int64{-2}},
		{ID: "ad://ext/quota", Type: pac.ClaimTypeUint64, Uint64s: []uint64{1 << 40}},
		{ID: "ad://ext/contractor", Type: pac.ClaimTypeBoolean, Uint64s: []uint64{0}},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []auth.Claim{
		{ID: "ad://ext/department", Values: []string{"Sales", "Support"}},
		{ID: "ad://ext/level", Values: []string{"-2"}},
		{ID: "ad://ext/quota", Values: []string{"1099511627776"}},
		{ID: "ad://ext/contractor", Values: []string{"false"}},
	}
	if got := claimsOf(buf); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	if claimsOf(nil) != nil || claimsOf([]byte{1, 2, 3}) != nil {
		t.Fatal("no or undecodable claims must give none")
	}
}

// Claims and the device count only as MS-KILE 3.4.5.3 says: user claims
// with CLAIMS_VALID among the user's SIDs, the device with
// COMPOUNDED_AUTHENTICATION, device claims with CLAIMS_VALID among the
// device's SIDs.
func TestIdentityCompound(t *testing.T) {
	dom := pac.MustParseSID("S-1-5-21-1-2-3")
	claims := func(id, v string) []byte {
		b, err := pac.EncodeClaims(&pac.ClaimsSet{Arrays: []pac.ClaimsArray{{Source: pac.ClaimsSourceAD,
			Claims: []pac.ClaimEntry{{ID: id, Type: pac.ClaimTypeString, Strings: []string{v}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	valid := pac.SIDAndAttributes{SID: pac.SIDClaimsValid, Attributes: pac.GroupDefault}
	compound := pac.SIDAndAttributes{SID: pac.SIDCompoundedAuthentication, Attributes: pac.GroupDefault}
	build := func(userSIDs, devSIDs []pac.SIDAndAttributes) *Context {
		return &Context{PAC: &pac.PAC{
			LogonInfo: &pac.LogonInfo{UserID: 1104, LogonDomainID: dom, PrimaryGroupID: 513,
				UserFlags: pac.UserFlagExtraSIDs, ExtraSIDs: userSIDs},
			ClientClaims: claims("ad://ext/department", "Sales"),
			DeviceInfo: &pac.DeviceInfo{UserID: 1105, PrimaryGroupID: 515, AccountDomainID: dom,
				AccountGroupIDs: []pac.GroupMembership{{RID: 1110, Attributes: pac.GroupDefault}}, ExtraSIDs: devSIDs},
			DeviceClaims: claims("ad://ext/site", "Paris"),
		}}
	}
	id := build([]pac.SIDAndAttributes{valid, compound}, []pac.SIDAndAttributes{valid}).Identity()
	wantDev := &auth.Device{SID: "S-1-5-21-1-2-3-1105",
		Groups: []auth.Group{{SID: "S-1-5-21-1-2-3-515"}, {SID: "S-1-5-21-1-2-3-1110"}, {SID: pac.SIDClaimsValid.String()}},
		Claims: []auth.Claim{{ID: "ad://ext/site", Values: []string{"Paris"}}}}
	if !reflect.DeepEqual(id.Device, wantDev) || len(id.Claims) != 1 {
		t.Fatalf("device %+v claims %+v", id.Device, id.Claims)
	}
	if id := build([]pac.SIDAndAttributes{valid, compound}, nil).Identity(); id.Device == nil || id.Device.Claims != nil {
		t.Errorf("device claims without the device's CLAIMS_VALID: %+v", id.Device)
	}
	if id := build([]pac.SIDAndAttributes{valid}, []pac.SIDAndAttributes{valid}).Identity(); id.Device != nil {
		t.Errorf("device without COMPOUNDED_AUTHENTICATION: %+v", id.Device)
	}
	if id := build(nil, nil).Identity(); id.Claims != nil {
		t.Errorf("user claims without CLAIMS_VALID: %+v", id.Claims)
	}
}
