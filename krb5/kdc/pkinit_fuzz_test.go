package kdc_test

import (
	"context"
	"testing"

	"github.com/warden-auth/warden/krb5"
)

// FuzzPKINITAS feeds arbitrary AS-REQs to a KDC with certificate logon
// and anonymous PKINIT on, seeded with valid signed and anonymous
// requests: every input yields a reply or a KRB-ERROR, never a panic.
func FuzzPKINITAS(f *testing.F) {
	e := newPKINITEnv(f, nil)
	signed, _ := e.build(pkReq{cname: "alice", signer: e.alice})
	anon, _ := e.build(pkReq{cname: "WELLKNOWN/ANONYMOUS", opts: krb5.KDCOptRequestAnonymous})
	f.Add(signed)
	f.Add(anon)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		if rep, _ := e.k.Handle(ctx, b); rep == nil {
			if _, ok := krb5.MessageType(b); ok && len(b) > 2 && b[0] == 0x6a {
				// An AS-REQ tag always gets an answer (a reply or a KRB-ERROR).
				t.Fatalf("no answer to %x", b[:2])
			}
		}
	})
}
