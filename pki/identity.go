package pki

import (
	"context"
	"crypto/x509"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/store"
)

// Identity maps a verified client certificate (Map) and returns the
// account as an auth.Identity, as the other authentication methods report
// it: the account name and realm, its SID, every group (nested ones
// included) with SID and name, Method auth.MethodTLS, Mutual (TLS proved
// the server too) and Expires (the certificate's NotAfter). Refusals are
// Map's.
func (m *Mapper) Identity(ctx context.Context, cert *x509.Certificate) (*auth.Identity, error) {
	mp, err := m.Map(ctx, cert)
	if err != nil {
		return nil, err
	}
	id := &auth.Identity{
		User:    mp.Account.Name,
		Realm:   m.realm.Name,
		SID:     mp.SID,
		Method:  auth.MethodTLS,
		Mutual:  true,
		Expires: cert.NotAfter,
	}
	// The implicit primary group first, as in a PAC and in NTLM results.
	rid, name := store.PrimaryGroup(mp.Account.Kind)
	id.Groups = append(id.Groups, auth.Group{SID: store.SID(m.realm.DomainSID, rid), Name: name})
	for _, g := range mp.Groups {
		if g.RID == rid {
			continue
		}
		id.Groups = append(id.Groups, auth.Group{SID: store.SID(m.realm.DomainSID, g.RID), Name: g.Name})
	}
	return id, nil
}
