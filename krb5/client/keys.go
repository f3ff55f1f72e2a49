package client

import (
	"fmt"
	"strings"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/keytab"
)

// KeySource supplies a client's long-term key for the AS exchange: a
// Password (string-to-key with the salt the KDC names) or a Keytab.
type KeySource interface {
	// etypes filters the enctypes the client offers down to those this
	// source can make a key for, keeping the order.
	etypes(cname krb5.PrincipalName, realm string, offered []krb5.EncType) ([]krb5.EncType, error)
	// key returns the key for s2k; kvno (0: highest) matters for keytabs.
	key(cname krb5.PrincipalName, realm string, s2k s2kInput, kvno uint32, opt kcrypto.Options) (*kcrypto.Key, error)
	fromKeytab() bool
}

// s2kInput is what string-to-key needs besides the password.
type s2kInput struct {
	etype  krb5.EncType
	salt   string
	params []byte // nil: the enctype's default
}

func (s s2kInput) same(o s2kInput) bool {
	return s.etype == o.etype && s.salt == o.salt && string(s.params) == string(o.params) && (s.params == nil) == (o.params == nil)
}

// defaultSalt is RFC 4120's default: the realm followed by the name's
// components, used when the KDC names no salt.
func defaultSalt(cname krb5.PrincipalName, realm string) string {
	return realm + strings.Join(cname.NameString, "")
}

// Password returns a KeySource deriving keys from password.
func Password(password string) KeySource { return passwordSource{password} }

type passwordSource struct{ pw string }

func (passwordSource) etypes(_ krb5.PrincipalName, _ string, offered []krb5.EncType) ([]krb5.EncType, error) {
	return offered, nil
}

func (p passwordSource) key(_ krb5.PrincipalName, _ string, s s2kInput, _ uint32, opt kcrypto.Options) (*kcrypto.Key, error) {
	return kcrypto.StringToKey(s.etype, p.pw, s.salt, s.params, opt)
}

func (passwordSource) fromKeytab() bool { return false }

// Keytab returns a KeySource using the keytab's keys for the client
// principal; only enctypes the keytab holds are offered to the KDC.
func Keytab(kt *keytab.Keytab) KeySource { return keytabSource{kt} }

type keytabSource struct{ kt *keytab.Keytab }

func (k keytabSource) etypes(cname krb5.PrincipalName, realm string, offered []krb5.EncType) ([]krb5.EncType, error) {
	var out []krb5.EncType
	for _, e := range offered {
		if _, err := k.kt.Find(cname, realm, 0, e); err == nil {
			out = append(out, e)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if _, err := k.kt.Find(cname, realm, 0, 0); err != nil {
		return nil, err // says which principals the keytab does hold
	}
	return nil, &krb5.Error{Code: krb5.KDCErrETypeNoSupp,
		Reason: fmt.Sprintf("the keytab has no key for %s of an enctype this client offers (%s)", principalString(cname, realm), etypeWords(offered)),
		Hint:   "export the principal's AES keys to the keytab"}
}

func (k keytabSource) key(cname krb5.PrincipalName, realm string, s s2kInput, kvno uint32, opt kcrypto.Options) (*kcrypto.Key, error) {
	e, err := k.kt.Find(cname, realm, kvno, s.etype)
	if err != nil {
		return nil, err
	}
	return kcrypto.NewKey(e.Key, opt)
}

func (keytabSource) fromKeytab() bool { return true }
