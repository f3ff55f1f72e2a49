package admin

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"io"
	"strings"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/store"
)

// DefaultETypes are the Kerberos keys every password yields: the AES
// families of RFC 3962 and RFC 8009. RC4 and DES are never made unless asked.
var DefaultETypes = []krb5.EncType{
	krb5.ETypeAES256CTSHMACSHA196,
	krb5.ETypeAES128CTSHMACSHA196,
	krb5.ETypeAES256CTSHMACSHA384,
	krb5.ETypeAES128CTSHMACSHA256,
}

// DigestAlgorithms are the RFC 7616 algorithms an H(A1) is kept for.
var DigestAlgorithms = []string{"SHA-256", "SHA-512-256", "MD5"}

// KeyOptions choose which secrets a password or random key set yields.
type KeyOptions struct {
	// ETypes overrides DefaultETypes.
	ETypes []krb5.EncType
	// RC4 adds an arcfour-hmac Kerberos key (for legacy Windows peers).
	RC4 bool
}

func (o KeyOptions) etypes() []krb5.EncType {
	es := o.ETypes
	if len(es) == 0 {
		es = DefaultETypes
	}
	if o.RC4 {
		es = append(append([]krb5.EncType(nil), es...), krb5.ETypeRC4HMAC)
	}
	return es
}

// Salt returns the Kerberos salt of an account's password keys: the realm
// followed by the principal's components (RFC 4120 4), and for computers
// the Active Directory form "REALMhostname.domain".
func Salt(realm string, a *store.Account) string {
	switch a.Kind {
	case store.KindComputer:
		host := strings.ToLower(strings.TrimSuffix(a.Name, "$"))
		return realm + "host" + host + "." + strings.ToLower(realm)
	case store.KindService:
		if len(a.SPNs) > 0 {
			return realm + strings.ReplaceAll(a.SPNs[0], "/", "")
		}
	}
	return realm + a.Name
}

// PasswordSecrets derives every secret of a password at once: a Kerberos
// key per enctype (kvno as given), the NT hash and the Digest H(A1)s for
// the realm.
func PasswordSecrets(realm string, a *store.Account, password string, kvno uint32, o KeyOptions) (store.Secrets, error) {
	var s store.Secrets
	salt := Salt(realm, a)
	copt := kcrypto.Options{AllowRC4: true}
	for _, e := range o.etypes() {
		k, err := kcrypto.StringToKey(e, password, salt, nil, copt)
		if err != nil {
			return s, err
		}
		ks := store.Key{EType: int32(e), KVNO: kvno, Salt: salt, Value: k.Bytes()}
		if e == krb5.ETypeRC4HMAC {
			ks.Salt = ""
		}
		s.Keys = append(s.Keys, ks)
	}
	nt, err := kcrypto.StringToKey(krb5.ETypeRC4HMAC, password, "", nil, copt)
	if err != nil {
		return s, err
	}
	s.NTHash = nt.Bytes()
	for _, alg := range DigestAlgorithms {
		s.HA1s = append(s.HA1s, store.HA1{Algorithm: alg, Realm: realm, Value: DigestHA1(alg, a.Name, realm, password)})
	}
	return s, nil
}

// RandomSecrets draws random Kerberos keys (services, computers, krbtgt):
// no password exists, so there is no NT hash or H(A1).
func RandomSecrets(rand io.Reader, kvno uint32, o KeyOptions) (store.Secrets, error) {
	var s store.Secrets
	for _, e := range o.etypes() {
		k, err := kcrypto.RandomKey(e, rand, kcrypto.Options{AllowRC4: true})
		if err != nil {
			return s, err
		}
		s.Keys = append(s.Keys, store.Key{EType: int32(e), KVNO: kvno, Value: k.Bytes()})
	}
	return s, nil
}

// DigestHA1 is H(username ":" realm ":" password) for an RFC 7616
// algorithm name ("-sess" variants use the same stored value).
func DigestHA1(alg, user, realm, password string) []byte {
	var h hash.Hash
	switch strings.TrimSuffix(strings.ToUpper(alg), "-SESS") {
	case "MD5":
		h = md5.New()
	case "SHA-512-256":
		h = sha512.New512_256()
	default:
		h = sha256.New()
	}
	io.WriteString(h, user+":"+realm+":"+password)
	return h.Sum(nil)
}
