package pac

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// The Windows Server 2003 PAC that Samba's torture suite keeps (pac.md
// §6.3): every field the vector holds, both signatures with the RC4
// keys, and the binding to the ticket.
func TestDecodeSambaW2003(t *testing.T) {
	raw := vectors(t)["samba_w2003"]
	p, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	wantLayout := []BufferInfo{
		{TypeLogonInfo, 72, 472}, {TypeClientInfo, 544, 32}, {TypeServerChecksum, 576, 20}, {TypeKDCChecksum, 600, 20},
	}
	if !reflect.DeepEqual(p.Layout, wantLayout) {
		t.Errorf("layout = %v, want %v", p.Layout, wantLayout)
	}
	if got := binary.LittleEndian.Uint32(raw[72+8:]); got != 456 {
		t.Errorf("ObjectBufferLength = %d, want 456", got)
	}

	li := p.LogonInfo
	want := &LogonInfo{
		LogonTime:          0x01c57d4fcba6df30,
		LogoffTime:         Never,
		KickOffTime:        Never,
		PasswordLastSet:    0x01c57362594e3cc0,
		PasswordCanChange:  0x01c57362594e3cc0,
		PasswordMustChange: Never,
		EffectiveName:      "W2003FINAL$",
		LogonCount:         101,
		UserID:             1005,
		PrimaryGroupID:     516,
		GroupIDs:           []GroupMembership{{RID: 516, Attributes: 7}},
		UserFlags:          UserFlagExtraSIDs,
		LogonServer:        "W2003FINAL",
		LogonDomainName:    "WIN2K3THINK",
		LogonDomainID:      MustParseSID("S-1-5-21-3048156945-3961193616-3706469200"),
		UserAccountControl: UserServerTrustAccount | UserTrustedForDelegation,
		ExtraSIDs:          []SIDAndAttributes{{SID: MustParseSID("S-1-5-9"), Attributes: 7}},
	}
	if !reflect.DeepEqual(li, want) {
		t.Errorf("logon info\n got %+v\nwant %+v", li, want)
	}
	if got := li.LogonTime.Time().Truncate(time.Second); !got.Equal(time.Date(2005, 6, 30, 8, 43, 32, 0, time.UTC)) {
		t.Errorf("LogonTime = %v", got)
	}
	if !li.LogoffTime.IsNever() || li.LogoffTime.Time().Year() != 30828 {
		t.Errorf("LogoffTime = %v", li.LogoffTime.Time())
	}
	if got := li.UserSID().String(); got != "S-1-5-21-3048156945-3961193616-3706469200-1005" {
		t.Errorf("UserSID = %s", got)
	}
	var groups []string
	for _, g := range li.GroupSIDs() {
		groups = append(groups, g.SID.String())
	}
	if want := []string{
		"S-1-5-21-3048156945-3961193616-3706469200-516", "S-1-5-21-3048156945-3961193616-3706469200-516", "S-1-5-9",
	}; !reflect.DeepEqual(groups, want) {
		t.Errorf("GroupSIDs = %v, want %v", groups, want)
	}

	if p.ClientInfo == nil || p.ClientInfo.Name != "w2003final$" || p.ClientInfo.ClientID != 127649142090000000 {
		t.Errorf("client info = %+v", p.ClientInfo)
	}
	authtime := time.Unix(1120440609, 0)
	cname := krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{"w2003final$"}}
	if err := p.VerifyClientInfo(authtime, cname); err != nil {
		t.Error(err)
	}
	if err := p.VerifyClientInfo(authtime.Add(time.Second), cname); !errors.Is(err, ErrMismatch) {
		t.Errorf("authtime+1s: %v", err)
	}
	if err := p.VerifyClientInfo(authtime, krb5.PrincipalName{NameString: []string{"W2003FINAL$"}}); err != nil {
		t.Errorf("name differing in case: %v", err)
	}
	if err := p.VerifyClientInfo(authtime, krb5.PrincipalName{NameString: []string{"other$"}}); !errors.Is(err, ErrMismatch) {
		t.Errorf("other name: %v", err)
	}

	if !bytes.Equal(p.ServerSignature.Signature, mustHex(t, "37d5b0f724f0d6d4ec09865aa0e8c3a9")) || p.ServerSignature.Type != krb5.CksumHMACMD5 {
		t.Errorf("server signature = %+v", p.ServerSignature)
	}
	if !bytes.Equal(p.KDCSignature.Signature, mustHex(t, "b4d8b8fe83b3133ffc5c41ade26483e0")) || p.KDCSignature.Type != krb5.CksumHMACMD5 {
		t.Errorf("KDC signature = %+v", p.KDCSignature)
	}
	svc := rc4Key(t, "D217FAEAE5E6B5F95CCC94077AB8A5FC")
	tgt := rc4Key(t, "B286757148AF7FD252C53603A150B7E7")
	if err := p.VerifyServerSignature(SigningKey{Key: svc, KVNO: 1}); err != nil {
		t.Errorf("server signature: %v", err)
	}
	if err := p.VerifyKDCSignature(SigningKey{Key: tgt, KVNO: 1}); err != nil {
		t.Errorf("KDC signature: %v", err)
	}
	// Each key verifies only its own signature.
	if err := p.VerifyServerSignature(SigningKey{Key: tgt, KVNO: 1}); !errors.Is(err, ErrSignature) {
		t.Errorf("server signature with the krbtgt key: %v", err)
	}
	if err := p.VerifyKDCSignature(SigningKey{Key: svc, KVNO: 1}); !errors.Is(err, ErrSignature) {
		t.Errorf("KDC signature with the service key: %v", err)
	}
	// No ticket or full signature in a 2003 PAC.
	if err := p.VerifyFullSignature(SigningKey{Key: tgt}); !errors.Is(err, ErrMissing) {
		t.Errorf("full signature: %v", err)
	}

	// Our encoding of the decoded content is Windows' byte for byte, so
	// re-signing it with the same keys reproduces Windows' signatures.
	li2, err := p.LogonInfo.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(li2, raw[72:72+472]) {
		t.Errorf("logon info re-encoding differs from Windows:\n%x\n%x", li2, raw[72:72+472])
	}
	b1, err := p.Sign(SignOptions{ServerKey: SigningKey{Key: svc}, KDCKey: SigningKey{Key: tgt}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, raw) {
		t.Errorf("re-signed PAC differs from Windows':\n%x\n%x", b1, raw)
	}
}

func rc4Key(tb testing.TB, h string) *kcrypto.Key {
	tb.Helper()
	k, err := kcrypto.NewKey(krb5.EncryptionKey{KeyType: krb5.ETypeRC4HMAC, KeyValue: mustHex(tb, h)}, kcrypto.Options{AllowRC4: true})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
