package pac

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// vectors reads testdata/vectors.txt ("name: hex" lines).
func vectors(tb testing.TB) map[string][]byte {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "vectors.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, h, ok := strings.Cut(line, ":")
		if !ok {
			tb.Fatalf("bad vector line %q", line)
		}
		b, err := hex.DecodeString(strings.Join(strings.Fields(h), ""))
		if err != nil {
			tb.Fatalf("vector %s: %v", name, err)
		}
		out[strings.TrimSpace(name)] = b
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// testKey makes a deterministic key of enctype e (RC4 allowed).
func testKey(tb testing.TB, e krb5.EncType, seed byte) *kcrypto.Key {
	tb.Helper()
	v := bytes.Repeat([]byte{seed}, kcrypto.KeySize(e))
	for i := range v {
		v[i] += byte(i)
	}
	k, err := kcrypto.NewKey(krb5.EncryptionKey{KeyType: e, KeyValue: v}, kcrypto.Options{AllowRC4: true})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

var (
	testDomain  = MustParseSID("S-1-5-21-1004336348-1177238915-682003330")
	testAuth    = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	testRealm   = "WARDEN.TEST"
	otherDomain = MustParseSID("S-1-5-21-111-222-333")
)

// samplePAC builds a PAC with every buffer type this package knows and
// groups global groups.
func samplePAC(groups int) *PAC {
	li := &LogonInfo{
		LogonTime:          NewFileTime(testAuth),
		LogoffTime:         Never,
		KickOffTime:        Never,
		PasswordLastSet:    NewFileTime(testAuth.Add(-48 * time.Hour)),
		PasswordCanChange:  0,
		PasswordMustChange: Never,
		EffectiveName:      "alice",
		FullName:           "Alice Ångström",
		LogonScript:        "logon.cmd",
		ProfilePath:        `\\fs\profiles\alice`,
		HomeDirectory:      `\\fs\home\alice`,
		HomeDirectoryDrive: "H:",
		LogonCount:         7,
		UserID:             1104,
		PrimaryGroupID:     RIDDomainUsers,
		UserFlags:          UserFlagExtraSIDs | UserFlagResourceGroups,
		LogonServer:        "DC1",
		LogonDomainName:    "WARDEN",
		LogonDomainID:      testDomain,
		UserAccountControl: UserNormalAccount | UserDontExpirePassword,
		ExtraSIDs: []SIDAndAttributes{
			{SID: SIDAuthenticationAuthorityAsserted, Attributes: GroupDefault},
			{SID: MustParseSID("S-1-5-21-111-222-333-1601"), Attributes: GroupDefault},
		},
		ResourceGroupDomainSID: otherDomain,
		ResourceGroupIDs:       []GroupMembership{{RID: 2001, Attributes: GroupDefaultResource}, {RID: 2002, Attributes: GroupDefaultResource}},
	}
	for i := range groups {
		li.GroupIDs = append(li.GroupIDs, GroupMembership{RID: 1200 + uint32(i), Attributes: GroupDefault})
	}
	req := MustParseSID("S-1-5-21-1004336348-1177238915-682003330-1104")
	return &PAC{
		LogonInfo:  li,
		ClientInfo: &ClientInfo{ClientID: NewFileTime(testAuth), Name: "alice"},
		UPNDNSInfo: &UPNDNSInfo{UPN: "alice@warden.test", DNSDomainName: "WARDEN.TEST", SamName: "alice",
			SID: req},
		ClientClaims: []byte{},
		DeviceInfo: &DeviceInfo{UserID: 1105, PrimaryGroupID: RIDDomainComputers, AccountDomainID: testDomain,
			AccountGroupIDs: []GroupMembership{{RID: 515, Attributes: GroupDefault}},
			ExtraSIDs:       []SIDAndAttributes{{SID: SIDClaimsValid, Attributes: GroupDefault}},
			DomainGroups: []DomainGroupMembership{
				{DomainID: otherDomain, GroupIDs: []GroupMembership{{RID: 3001, Attributes: GroupDefaultResource}}},
				{DomainID: MustParseSID("S-1-5-21-9-8-7"), GroupIDs: []GroupMembership{{RID: 4001, Attributes: 7}, {RID: 4002, Attributes: 7}}},
			}},
		DeviceClaims: []byte{1, 2, 3},
		Attributes:   &AttributesInfo{FlagsLength: 2, Flags: AttributePACWasRequested},
		Requestor:    &req,
		Other:        []Buffer{{Type: TypeRequestorGUID, Data: bytes.Repeat([]byte{0xab}, 16)}, {Type: 99, Data: []byte("opaque")}},
	}
}

// sampleTicket is a service ticket's EncTicketPart with a PAC
// placeholder first and another AD-IF-RELEVANT element after it.
func sampleTicket(tb testing.TB) *krb5.EncTicketPart {
	tb.Helper()
	ad, err := WithPAC(krb5.AuthorizationData{
		krb5.WrapADIfRelevant(krb5.AuthorizationData{{Type: krb5.ADAPOptions, Data: []byte{0, 0x40, 0, 0}}}),
	}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &krb5.EncTicketPart{
		Flags:             krb5.TktFlagForwardable | krb5.TktFlagPreAuthent,
		Key:               krb5.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)},
		CRealm:            testRealm,
		CName:             krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{"alice"}},
		Transited:         krb5.TransitedEncoding{TRType: 1, Contents: []byte{}},
		AuthTime:          testAuth,
		EndTime:           testAuth.Add(10 * time.Hour),
		AuthorizationData: ad,
	}
}

// signedServicePAC signs samplePAC(groups) for a service ticket and puts
// it into the ticket.
func signedServicePAC(tb testing.TB, groups int, svc, tgt *kcrypto.Key) ([]byte, *krb5.EncTicketPart) {
	tb.Helper()
	etp := sampleTicket(tb)
	p := samplePAC(groups)
	b, err := p.Sign(SignOptions{ServerKey: SigningKey{Key: svc, KVNO: 3}, KDCKey: SigningKey{Key: tgt, KVNO: 1}, Ticket: etp})
	if err != nil {
		tb.Fatal(err)
	}
	if etp.AuthorizationData, err = WithPAC(etp.AuthorizationData, b); err != nil {
		tb.Fatal(err)
	}
	return b, etp
}
