// Package auth holds the verified identity of a peer, as every
// authentication method of Warden (Kerberos, NTLM, Digest, client
// certificates) reports it to applications, and the context helpers that
// carry it through a request. It is a leaf: it imports nothing of Warden.
package auth

import (
	"context"
	"slices"
	"time"
)

// Method names how an Identity was established.
type Method string

// Methods.
const (
	MethodKerberos Method = "kerberos" // AP-REQ (via SPNEGO / HTTP Negotiate or raw GSS)
	MethodNTLM     Method = "ntlm"
	MethodDigest   Method = "digest"
	MethodTLS      Method = "tls" // X.509 client certificate
)

// Group is a security group the user is a member of.
type Group struct {
	SID  string // "S-1-5-21-…-1104"
	Name string // "" when the acceptor could not resolve it
}

// Claim is one claim (MS-ADTS claims: an ID such as
// "ad://ext/department" and its values as strings).
type Claim struct {
	ID     string
	Values []string
}

// Device is the identity of the computer the user signed in from
// (compound identity).
type Device struct {
	Name   string
	SID    string
	Groups []Group
	Claims []Claim
}

// Identity is who the peer proved to be.
type Identity struct {
	User   string // account name: "alice"
	Realm  string // "EXAMPLE.TEST"
	SID    string // user SID, "" when the method carries none
	Groups []Group
	Claims []Claim
	Device *Device // nil unless compound identity supplied one
	Method Method
	// Mutual reports that the server proved itself to the client too
	// (a Kerberos AP-REP was sent, or TLS).
	Mutual bool
	// Expires is when the credential the peer used stops being valid
	// (the ticket's end time); zero when unknown.
	Expires time.Time
}

// Principal returns "user@REALM", or the user alone without a realm.
func (id *Identity) Principal() string {
	if id.Realm == "" {
		return id.User
	}
	return id.User + "@" + id.Realm
}

// InGroup reports whether the identity has the group, by SID ("S-1-…")
// or by name (case-insensitively).
func (id *Identity) InGroup(g string) bool { return inGroups(id.Groups, g) }

// InGroup reports whether the device has the group, as Identity.InGroup.
func (d *Device) InGroup(g string) bool { return inGroups(d.Groups, g) }

func inGroups(groups []Group, g string) bool {
	return slices.ContainsFunc(groups, func(x Group) bool {
		return x.SID == g || (x.Name != "" && equalFold(x.Name, g))
	})
}

// equalFold is ASCII case folding: group names are compared as the
// account DB does.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

type ctxKey struct{}

// NewContext returns a context carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity the authentication middleware stored,
// or nil.
func FromContext(ctx context.Context) *Identity {
	id, _ := ctx.Value(ctxKey{}).(*Identity)
	return id
}
