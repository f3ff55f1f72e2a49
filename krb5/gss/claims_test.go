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
