package passthrough

import "github.com/warden-auth/warden/auth"

// wireIdentity is the identity part of a successful NTLM or Digest
// answer, embedded in both so that the JSON fields (user, realm, sid,
// groups, claims) and their conversion are written once.
type wireIdentity struct {
	User   string      `json:"user,omitempty"`
	Realm  string      `json:"realm,omitempty"`
	SID    string      `json:"sid,omitempty"`
	Groups []wireGroup `json:"groups,omitempty"`
	Claims []wireClaim `json:"claims,omitempty"`
}

type wireGroup struct {
	SID  string `json:"sid"`
	Name string `json:"name,omitempty"`
}

type wireClaim struct {
	ID     string   `json:"id"`
	Values []string `json:"values"`
}

// toWire is the AA's side: the identity a validation established.
func toWire(id *auth.Identity) wireIdentity {
	w := wireIdentity{User: id.User, Realm: id.Realm, SID: id.SID}
	for _, g := range id.Groups {
		w.Groups = append(w.Groups, wireGroup{SID: g.SID, Name: g.Name})
	}
	for _, c := range id.Claims {
		w.Claims = append(w.Claims, wireClaim{ID: c.ID, Values: c.Values})
	}
	return w
}

// identity is the calling server's side: the identity the AA returned,
// authenticated by method.
func (w *wireIdentity) identity(method auth.Method) auth.Identity {
	id := auth.Identity{User: w.User, Realm: w.Realm, SID: w.SID, Method: method}
	for _, g := range w.Groups {
		id.Groups = append(id.Groups, auth.Group{SID: g.SID, Name: g.Name})
	}
	for _, c := range w.Claims {
		id.Claims = append(id.Claims, auth.Claim{ID: c.ID, Values: c.Values})
	}
	return id
}
