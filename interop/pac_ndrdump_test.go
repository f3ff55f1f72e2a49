package interop

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pac"
)

// interopPAC is a signed service-ticket PAC with every buffer type Warden
// writes, with values the test looks for in ndrdump's output.
func interopPAC(t *testing.T) []byte {
	t.Helper()
	key := func(seed byte) *kcrypto.Key {
		k, err := kcrypto.NewKey(krb5.EncryptionKey{KeyType: krb5.ETypeAES256CTSHMACSHA196, KeyValue: bytes.Repeat([]byte{seed}, 32)}, kcrypto.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	auth := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	dom := pac.MustParseSID("S-1-5-21-1004336348-1177238915-682003330")
	user, _ := dom.AppendRID(1104)
	claims, err := pac.EncodeClaims(&pac.ClaimsSet{Arrays: []pac.ClaimsArray{{Source: pac.ClaimsSourceAD, Claims: []pac.ClaimEntry{
		{ID: "ad://ext/department", Type: pac.ClaimTypeString, Strings: []string{"Engineering"}},
		{ID: "ad://ext/level", Type: pac.ClaimTypeInt64, Int64s: []int64{-7, 42}},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := &pac.PAC{
		LogonInfo: &pac.LogonInfo{
			LogonTime: pac.NewFileTime(auth), LogoffTime: pac.Never, KickOffTime: pac.Never, PasswordMustChange: pac.Never,
			EffectiveName: "alice", FullName: "Alice Liddell", LogonCount: 3,
			UserID: 1104, PrimaryGroupID: pac.RIDDomainUsers,
			GroupIDs:    []pac.GroupMembership{{RID: 513, Attributes: pac.GroupDefault}, {RID: 1201, Attributes: pac.GroupDefault}, {RID: 1202, Attributes: pac.GroupDefault}},
			LogonServer: "DC1", LogonDomainName: "WARDEN", LogonDomainID: dom,
			UserAccountControl: pac.UserNormalAccount | pac.UserDontExpirePassword,
			ExtraSIDs: []pac.SIDAndAttributes{
				{SID: pac.SIDAuthenticationAuthorityAsserted, Attributes: pac.GroupDefault},
				{SID: pac.SIDClaimsValid, Attributes: pac.GroupDefault},
			},
			ResourceGroupDomainSID: pac.MustParseSID("S-1-5-21-111-222-333"),
			ResourceGroupIDs:       []pac.GroupMembership{{RID: 2001, Attributes: pac.GroupDefaultResource}},
		},
		ClientInfo:   &pac.ClientInfo{ClientID: pac.NewFileTime(auth), Name: "alice"},
		UPNDNSInfo:   &pac.UPNDNSInfo{UPN: "alice@warden.test", DNSDomainName: "WARDEN.TEST", SamName: "alice", SID: user},
		ClientClaims: claims,
		DeviceInfo: &pac.DeviceInfo{UserID: 1105, PrimaryGroupID: pac.RIDDomainComputers, AccountDomainID: dom,
			AccountGroupIDs: []pac.GroupMembership{{RID: 515, Attributes: pac.GroupDefault}},
			ExtraSIDs:       []pac.SIDAndAttributes{{SID: pac.SIDClaimsValid, Attributes: pac.GroupDefault}},
			DomainGroups: []pac.DomainGroupMembership{{DomainID: pac.MustParseSID("S-1-5-21-111-222-333"),
				GroupIDs: []pac.GroupMembership{{RID: 3001, Attributes: pac.GroupDefaultResource}}}}},
		DeviceClaims: claims,
		Attributes:   &pac.AttributesInfo{FlagsLength: 2, Flags: pac.AttributePACWasRequested},
		Requestor:    &user,
	}
	ad, err := pac.WithPAC(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	etp := &krb5.EncTicketPart{
		Key:    krb5.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)},
		CRealm: "WARDEN.TEST", CName: krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{"alice"}},
		Transited: krb5.TransitedEncoding{TRType: 1, Contents: []byte{}},
		AuthTime:  auth, EndTime: auth.Add(10 * time.Hour), AuthorizationData: ad,
	}
	raw, err := p.Sign(pac.SignOptions{ServerKey: pac.SigningKey{Key: key(1), KVNO: 2}, KDCKey: pac.SigningKey{Key: key(2), KVNO: 1}, Ticket: etp})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Samba's ndrdump, the reference NDR parser, decodes a PAC Warden built
// and signed: the whole PAC parses with no bytes left over, every buffer
// type is there, and the values come out as they went in.
func TestPACDecodedByNdrdump(t *testing.T) {
	testkit.RequirePeer(t, "ndrdump")
	bin, _ := testkit.LookPath("ndrdump")
	path := filepath.Join(t.TempDir(), "warden.pac")
	if err := os.WriteFile(path, interopPAC(t), 0o600); err != nil {
		t.Fatal(err)
	}
	// --validate makes ndrdump re-encode what it decoded and compare it
	// with the input: our encoding is the one Samba itself would write.
	cmd := exec.Command(bin, "--validate", "krb5pac", "PAC_DATA", "struct", path)
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	if err != nil {
		t.Fatalf("ndrdump: %v\n%s", err, out)
	}
	for _, bad := range []string{"unread bytes", "NT_STATUS", "Failed", "ERROR", "differ", "mismatch"} {
		if strings.Contains(out, bad) {
			t.Fatalf("ndrdump output has %q:\n%s", bad, out)
		}
	}
	want := []string{
		"pull returned Success", "push returned Success", "dump OK",
		"num_buffers              : 0x0000000c (12)",
		// Every buffer type.
		"PAC_TYPE_LOGON_INFO (1)", "PAC_TYPE_LOGON_NAME (10)", "PAC_TYPE_UPN_DNS_INFO (12)",
		"PAC_TYPE_CLIENT_CLAIMS_INFO (13)", "PAC_TYPE_DEVICE_INFO (14)", "PAC_TYPE_DEVICE_CLAIMS_INFO (15)",
		"PAC_TYPE_ATTRIBUTES_INFO (17)", "PAC_TYPE_REQUESTER_SID (18)",
		"PAC_TYPE_SRV_CHECKSUM (6)", "PAC_TYPE_KDC_CHECKSUM (7)", "PAC_TYPE_TICKET_CHECKSUM (16)", "PAC_TYPE_FULL_CHECKSUM (19)",
		// Logon info values.
		"string                   : 'alice'", "string                   : 'Alice Liddell'",
		"rid                      : 0x00000450 (1104)", "primary_gid              : 0x00000201 (513)",
		"rid                      : 0x000004b1 (1201)", "rid                      : 0x000004b2 (1202)",
		"string                   : 'DC1'", "string                   : 'WARDEN'",
		"S-1-5-21-1004336348-1177238915-682003330", "S-1-18-1", "S-1-5-21-0-0-0-497",
		"S-1-5-21-111-222-333", "rid                      : 0x000007d1 (2001)",
		// Client info, UPN/DNS (extended), requestor.
		"account_name             : 'alice'",
		"upn_name                 : *", "alice@warden.test", "WARDEN.TEST",
		"samaccountname           : *", "objectsid                : *",
		"S-1-5-21-1004336348-1177238915-682003330-1104",
		// Samba 4.17's krb5pac IDL shows device info and claims buffers
		// as blobs (DATA_BLOB_REM); their presence and size are checked
		// above and below, their content by the pac package's tests.
		// Signatures are AES256 (type 16).
		"type                     : 0x00000010 (16)",
	}
	if n := strings.Count(out, "remaining                : DATA_BLOB length="); n > 3 {
		t.Errorf("ndrdump did not understand %d buffers (only claims and device info may be blobs)", n)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("ndrdump output lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("ndrdump output:\n%s", out)
	}
}
