package httpauth

import (
	"context"

	"github.com/warden-auth/warden/auth"
)

// NameResolver maps SIDs to account and group names. A Kerberos ticket's
// PAC carries the user's groups and the device (compound identity) as
// SIDs only; with a resolver the identity gets their names too, so that
// applications see "developers" rather than S-1-5-21-…-1104 and group
// rules may name groups. passthrough.NameCache asks the AA.
type NameResolver interface {
	Names(ctx context.Context, sids []string) (map[string]string, error)
}

// resolveNames fills the names of a Kerberos identity's groups and
// device from the resolver. A resolver failure is logged and leaves the
// SIDs alone: names are a convenience, the SIDs are what the ticket
// proves.
func (a *Authenticator) resolveNames(ctx context.Context, id *auth.Identity) {
	if a.cfg.Names == nil {
		return
	}
	var sids []string
	for _, g := range id.Groups {
		if g.Name == "" {
			sids = append(sids, g.SID)
		}
	}
	if d := id.Device; d != nil {
		sids = append(sids, d.SID)
		for _, g := range d.Groups {
			sids = append(sids, g.SID)
		}
	}
	if len(sids) == 0 {
		return
	}
	names, err := a.cfg.Names.Names(ctx, sids)
	if err != nil {
		a.log.Warn("cannot resolve group names; passing SIDs", "op", "httpauth.names", "reason", err.Error(), "principal", id.Principal())
	}
	for i := range id.Groups {
		if g := &id.Groups[i]; g.Name == "" {
			g.Name = names[g.SID]
		}
	}
	if d := id.Device; d != nil {
		d.Name = names[d.SID]
		for i := range d.Groups {
			d.Groups[i].Name = names[d.Groups[i].SID]
		}
	}
}
