package pac_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
)

// How a KDC puts a signed PAC into a service ticket, and how the service
// checks it.
func Example() {
	newKey := func(b byte) *kcrypto.Key {
		k, _ := kcrypto.NewKey(krb5.EncryptionKey{KeyType: krb5.ETypeAES256CTSHMACSHA196, KeyValue: bytes.Repeat([]byte{b}, 32)}, kcrypto.Options{})
		return k
	}
	serviceKey, krbtgtKey := pac.SigningKey{Key: newKey(1), KVNO: 3}, pac.SigningKey{Key: newKey(2), KVNO: 1}
	authTime := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	domain := pac.MustParseSID("S-1-5-21-1-2-3")

	// KDC: the ticket holds a PAC placeholder where the PAC will go, so
	// that the ticket signature covers the final layout.
	etp := &krb5.EncTicketPart{
		Key:    krb5.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)},
		CRealm: "WARDEN.TEST", CName: krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{"alice"}},
		Transited: krb5.TransitedEncoding{TRType: 1}, AuthTime: authTime, EndTime: authTime.Add(10 * time.Hour),
	}
	etp.AuthorizationData, _ = pac.WithPAC(etp.AuthorizationData, nil)
	p := &pac.PAC{
		LogonInfo: &pac.LogonInfo{EffectiveName: "alice", UserID: 1104, PrimaryGroupID: pac.RIDDomainUsers,
			LogonDomainID: domain, LogonDomainName: "WARDEN", LogoffTime: pac.Never, KickOffTime: pac.Never},
		ClientInfo: &pac.ClientInfo{ClientID: pac.NewFileTime(authTime), Name: "alice"},
	}
	signed, err := p.Sign(pac.SignOptions{ServerKey: serviceKey, KDCKey: krbtgtKey, Ticket: etp})
	if err != nil {
		panic(err)
	}
	etp.AuthorizationData, _ = pac.WithPAC(etp.AuthorizationData, signed)

	// Service: after decrypting the ticket.
	got, err := pac.FromTicket(etp)
	if err != nil {
		panic(err)
	}
	fmt.Println(got.VerifyServerSignature(serviceKey), got.VerifyClientInfo(etp.AuthTime, etp.CName))
	fmt.Println(got.LogonInfo.UserSID())
	// A service holding a stale key is told which key failed.
	fmt.Println(got.VerifyServerSignature(pac.SigningKey{Key: newKey(9), KVNO: 2}).(*pac.Error).Reason)
	// Output:
	// <nil> <nil>
	// S-1-5-21-1-2-3-1104
	// PAC server signature does not verify with the service key (kvno 2, aes256-cts-hmac-sha1-96)
}
