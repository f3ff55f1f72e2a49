package kdc

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

// claimsBuffer encodes an account's claims as a PAC_CLIENT_CLAIMS_INFO
// buffer (one CLAIMS_ARRAY from the directory, MS-ADTS 2.2.18), typed
// by the realm's claim types; nil when it has none. It runs when the
// account is loaded into the cache, so issuing a PAC costs no SQL.
func (d *directory) claimsBuffer(ctx context.Context, account string) ([]byte, error) {
	claims, err := d.st.Claims(ctx, account)
	if err != nil || len(claims) == 0 {
		return nil, err
	}
	types, err := d.st.ClaimTypes(ctx)
	if err != nil {
		return nil, err
	}
	return encodeClaims(claims, types)
}

// encodeClaims builds the buffer; a value that does not parse as its
// type (which the store refuses to keep) is an error naming both.
func encodeClaims(claims []store.Claim, types []store.ClaimType) ([]byte, error) {
	vt := make(map[string]store.ClaimValueType, len(types))
	for _, t := range types {
		vt[strings.ToLower(t.ID)] = t.ValueType
	}
	arr := pac.ClaimsArray{Source: pac.ClaimsSourceAD}
	for _, c := range claims {
		e := pac.ClaimEntry{ID: c.ID}
		for _, v := range c.Values {
			var err error
			switch vt[strings.ToLower(c.ID)] {
			case store.ClaimInt64:
				e.Type = pac.ClaimTypeInt64
				var n int64
				n, err = strconv.ParseInt(v, 10, 64)
				e.Int64s = append(e.Int64s, n)
			case store.ClaimUint64:
				e.Type = pac.ClaimTypeUint64
				var n uint64
				n, err = strconv.ParseUint(v, 10, 64)
				e.Uint64s = append(e.Uint64s, n)
			case store.ClaimBoolean:
				e.Type = pac.ClaimTypeBoolean
				var b bool
				b, err = strconv.ParseBool(v)
				e.Uint64s = append(e.Uint64s, map[bool]uint64{false: 0, true: 1}[b])
			default:
				e.Type = pac.ClaimTypeString
				e.Strings = append(e.Strings, v)
			}
			if err != nil {
				return nil, fmt.Errorf("claim %s value %q: %w", c.ID, v, err)
			}
		}
		if len(c.Values) > 0 {
			arr.Claims = append(arr.Claims, e)
		}
	}
	if len(arr.Claims) == 0 {
		return nil, nil
	}
	return pac.EncodeClaims(&pac.ClaimsSet{Arrays: []pac.ClaimsArray{arr}})
}
