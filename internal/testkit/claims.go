package testkit

import (
	"testing"

	"github.com/warden-auth/warden/krb5/pac"
)

// ClaimStrings decodes a PAC claims buffer (client or device claims) and
// returns the string values of claim id, or nil when it is absent.
func ClaimStrings(t testing.TB, buf []byte, id string) []string {
	t.Helper()
	cs, err := pac.DecodeClaims(buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cs.Arrays {
		for _, c := range a.Claims {
			if c.ID == id {
				return c.Strings
			}
		}
	}
	return nil
}
