package testkit

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/krb5/pac"
)

// TicketMint issues service tickets for one service the way a KDC
// would, without a KDC: for acceptor tests that need a ticket a KDC would
// not issue (a PAC with chosen groups, an odd lifetime), and for
// benchmarks that need many of them cheaply.
type TicketMint struct {
	Realm, SPN string
	// Keytab holds the service key (kvno 2, aes256-cts-hmac-sha1-96).
	Keytab *keytab.Keytab
	// DomainSID is the realm's SID in the PACs it makes.
	DomainSID pac.SID

	key, krbtgt *kcrypto.Key
}

// MintOptions shape one ticket.
type MintOptions struct {
	// PAC adds a signed PAC with the user's SID (DomainSID-1104), the
	// primary group Domain Users (513) and a group for each of GroupRIDs.
	PAC       bool
	GroupRIDs []uint32
	// AuthTime defaults to an hour ago; Lifetime to 10 hours.
	AuthTime time.Time
	Lifetime time.Duration
}

// NewTicketMint makes random keys for spn ("HTTP/web.warden.test") in
// realm.
func NewTicketMint(t testing.TB, realm, spn string) *TicketMint {
	t.Helper()
	key, err := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	krbtgt, err := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	kt := &keytab.Keytab{}
	kt.Add(keytab.Entry{Principal: krb5.NewPrincipalName(krb5.NameTypeSrvInst, spn), Realm: realm, KVNO: 2, Key: key.EncryptionKey()})
	return &TicketMint{Realm: realm, SPN: spn, Keytab: kt, DomainSID: pac.MustParseSID("S-1-5-21-1111-2222-3333"), key: key, krbtgt: krbtgt}
}

// Credential issues a ticket for user and returns it as an initiator
// credential.
func (m *TicketMint) Credential(t testing.TB, user string, o MintOptions) *gss.Credential {
	t.Helper()
	if o.AuthTime.IsZero() {
		o.AuthTime = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	}
	if o.Lifetime == 0 {
		o.Lifetime = 10 * time.Hour
	}
	sess, err := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cname := krb5.NewPrincipalName(krb5.NameTypePrincipal, user)
	sname := krb5.NewPrincipalName(krb5.NameTypeSrvInst, m.SPN)
	etp := &krb5.EncTicketPart{Key: sess.EncryptionKey(), CRealm: m.Realm, CName: cname,
		Transited: krb5.TransitedEncoding{TRType: 1}, AuthTime: o.AuthTime, EndTime: o.AuthTime.Add(o.Lifetime),
		Flags: krb5.TktFlagPreAuthent}
	if o.PAC {
		if etp.AuthorizationData, err = pac.WithPAC(nil, nil); err != nil {
			t.Fatal(err)
		}
		var groups []pac.GroupMembership
		for _, rid := range o.GroupRIDs {
			groups = append(groups, pac.GroupMembership{RID: rid, Attributes: 7})
		}
		p := &pac.PAC{
			LogonInfo: &pac.LogonInfo{EffectiveName: user, UserID: 1104, PrimaryGroupID: pac.RIDDomainUsers, GroupIDs: groups,
				LogonDomainID: m.DomainSID, LogonDomainName: "WARDEN", LogoffTime: pac.Never, KickOffTime: pac.Never},
			ClientInfo: &pac.ClientInfo{ClientID: pac.NewFileTime(o.AuthTime), Name: user},
		}
		signed, err := p.Sign(pac.SignOptions{ServerKey: pac.SigningKey{Key: m.key, KVNO: 2}, KDCKey: pac.SigningKey{Key: m.krbtgt, KVNO: 1}, Ticket: etp})
		if err != nil {
			t.Fatal(err)
		}
		if etp.AuthorizationData, err = pac.WithPAC(etp.AuthorizationData, signed); err != nil {
			t.Fatal(err)
		}
	}
	plain, err := etp.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ed, err := m.key.EncryptData(rand.Reader, kcrypto.UsageTicket, plain, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	return &gss.Credential{
		Client: ccache.Principal{Realm: m.Realm, Name: cname}, Server: ccache.Principal{Realm: m.Realm, Name: sname},
		Key: sess.EncryptionKey(), Ticket: krb5.Ticket{TktVNO: 5, Realm: m.Realm, SName: sname, EncPart: ed},
		AuthTime: etp.AuthTime, EndTime: etp.EndTime, Flags: etp.Flags,
	}
}

// Acceptor returns an acceptor over the mint's keytab.
func (m *TicketMint) Acceptor(t testing.TB, cfg gss.AcceptorConfig) *gss.Acceptor {
	t.Helper()
	cfg.Keytab = m.Keytab
	a, err := gss.NewAcceptor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
