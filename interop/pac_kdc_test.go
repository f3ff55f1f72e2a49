package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	gkclient "github.com/jcmturner/gokrb5/v8/client"
	gkconfig "github.com/jcmturner/gokrb5/v8/config"
	gkkeytab "github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/cli"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

const (
	pacUserPW  = "correct horse battery"
	pacService = "HTTP/web.warden.test"
)

// pacRealm is a Warden realm with alice in group A, A in group B, served
// on 127.0.0.1, and the service's keytab.
type pacRealm struct {
	r         *testkit.Realm
	k         *testkit.KDC
	keytab    string
	userSID   string
	groupRIDs []uint32 // Domain Users, A, B: what alice's PAC must list
}

func newPACRealm(t *testing.T) *pacRealm {
	t.Helper()
	r := testkit.NewRealm(t, wardenRealm)
	alice := r.AddUser(t, "alice", pacUserPW, admin.UserOptions{DisplayName: "Alice Liddell"})
	kt := r.AddService(t, pacService, admin.ServiceOptions{})
	ctx := context.Background()
	a, err := r.Admin.AddGroup(ctx, "A", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Admin.AddGroup(ctx, "B", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Admin.AddMembers(ctx, "A", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := r.Admin.AddMembers(ctx, "B", "A"); err != nil {
		t.Fatal(err)
	}
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	rids := []uint32{store.RIDDomainUsers, a.RID, b.RID}
	slices.Sort(rids)
	return &pacRealm{r: r, k: k, keytab: kt, userSID: store.SID(r.Admin.Realm().DomainSID, alice.RID), groupRIDs: rids}
}

// gokrb5 (a Go Kerberos library written independently of Warden) logs in
// to Warden's KDC, gets a service ticket, decrypts it with the service's
// keytab, verifies the PAC's server signature and reads the logon info:
// alice's RID, the domain SID, Domain Users and both groups of a nested
// membership, and the client and UPN/DNS buffers.
func TestGokrb5ReadsWardenPAC(t *testing.T) {
	e := newPACRealm(t)
	cfg, err := gkconfig.NewFromString(fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 dns_lookup_kdc = false
 udp_preference_limit = 1
 default_tkt_enctypes = aes256-cts-hmac-sha1-96
 default_tgs_enctypes = aes256-cts-hmac-sha1-96
 permitted_enctypes = aes256-cts-hmac-sha1-96
[realms]
 %[1]s = {
  kdc = %[2]s
 }
`, wardenRealm, e.k.Addr))
	if err != nil {
		t.Fatal(err)
	}
	cl := gkclient.NewWithPassword("alice", wardenRealm, pacUserPW, cfg, gkclient.DisablePAFXFAST(true))
	defer cl.Destroy()
	if err := cl.Login(); err != nil {
		t.Fatalf("gokrb5 login: %v", err)
	}
	tkt, _, err := cl.GetServiceTicket(pacService)
	if err != nil {
		t.Fatalf("gokrb5 service ticket: %v", err)
	}
	kt, err := gkkeytab.Load(e.keytab)
	if err != nil {
		t.Fatal(err)
	}
	if err := tkt.DecryptEncPart(kt, nil); err != nil {
		t.Fatalf("gokrb5 decrypts the ticket: %v", err)
	}
	var logs bytes.Buffer
	isPAC, p, err := tkt.GetPACType(kt, nil, log.New(&logs, "", 0))
	if err != nil || !isPAC {
		t.Fatalf("gokrb5 PAC: present %v, %v (log: %s)", isPAC, err, logs.String())
	}
	li := p.KerbValidationInfo
	if li == nil || p.ClientInfo == nil || p.UPNDNSInfo == nil {
		t.Fatalf("gokrb5 found no logon, client or UPN/DNS info: %+v", p)
	}
	var rids []uint32
	for _, g := range li.GroupIDs {
		rids = append(rids, g.RelativeID)
	}
	slices.Sort(rids)
	if !slices.Equal(rids, e.groupRIDs) {
		t.Errorf("gokrb5 reads group RIDs %v, want %v", rids, e.groupRIDs)
	}
	if got := fmt.Sprintf("%s-%d", li.LogonDomainID.String(), li.UserID); got != e.userSID {
		t.Errorf("gokrb5 reads user SID %s, want %s", got, e.userSID)
	}
	if li.EffectiveName.Value != "alice" || li.FullName.Value != "Alice Liddell" || li.PrimaryGroupID != store.RIDDomainUsers ||
		li.LogonDomainName.Value != e.r.Admin.Realm().NetBIOS {
		t.Errorf("gokrb5 logon info: name %q full name %q primary %d domain %q",
			li.EffectiveName.Value, li.FullName.Value, li.PrimaryGroupID, li.LogonDomainName.Value)
	}
	sids := li.GetGroupMembershipSIDs()
	if !slices.Contains(sids, "S-1-18-1") || len(sids) != len(e.groupRIDs)+1 {
		t.Errorf("gokrb5 group SIDs %v", sids)
	}
	if p.ClientInfo.Name != "alice" || p.UPNDNSInfo.UPN != "alice@warden.test" || p.UPNDNSInfo.DNSDomain != wardenRealm {
		t.Errorf("gokrb5 client info %q, UPN %q, DNS domain %q", p.ClientInfo.Name, p.UPNDNSInfo.UPN, p.UPNDNSInfo.DNSDomain)
	}
}

// mspacScript accepts a GSS-API security context with MIT krb5 (through
// python-gssapi): the initiator uses the credential cache, the acceptor
// the keytab in KRB5_KTNAME. It prints the initiator name and its RFC
// 6680 name attributes as JSON: MIT's mspac plugin exposes each PAC
// buffer as urn:mspac:<name>, authenticated when the PAC verified.
const mspacScript = `
import json, sys
import gssapi
import gssapi.raw as raw

target = gssapi.Name(sys.argv[1], gssapi.NameType.kerberos_principal)
ictx = gssapi.SecurityContext(name=target, usage="initiate", mech=gssapi.MechType.kerberos)
token = ictx.step()
actx = gssapi.SecurityContext(usage="accept", creds=gssapi.Credentials(usage="accept"))
actx.step(token)
name = actx.initiator_name
out = {"initiator": str(name), "complete": actx.complete, "attrs": {}}
info = raw.inquire_name(name, mech_name=True, attrs=True)
for attr in info.attrs or []:
    try:
        res = raw.get_name_attribute(name, attr)
    except gssapi.exceptions.GSSError as e:
        out["attrs"][attr.decode()] = {"error": str(e)}
        continue
    out["attrs"][attr.decode()] = {
        "values": [v.hex() for v in res.values],
        "authenticated": bool(res.authenticated),
        "complete": bool(res.complete),
    }
print(json.dumps(out))
`

type mspacResult struct {
	Initiator string `json:"initiator"`
	Complete  bool   `json:"complete"`
	Attrs     map[string]struct {
		Values        []string `json:"values"`
		Authenticated bool     `json:"authenticated"`
		Error         string   `json:"error"`
	} `json:"attrs"`
}

// acceptWithMIT runs mspacScript in c's environment with the keytab.
func acceptWithMIT(t *testing.T, c *testkit.Client, keytabPath, target string) mspacResult {
	t.Helper()
	py := testkit.PythonWith(t, "gssapi", "gssapi.raw.ext_rfc6680")
	script := filepath.Join(c.Dir, "mspac.py")
	if err := os.WriteFile(script, []byte(mspacScript), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, script, target)
	cmd.Env = append(c.Env(), "KRB5_KTNAME=FILE:"+keytabPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python-gssapi (MIT) acceptor: %v\n%s", err, stderr.String())
	}
	var res mspacResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("python output: %v\n%s", err, stdout.String())
	}
	return res
}

// logonInfoFromMIT decodes the urn:mspac:logon-info value MIT returned.
func logonInfoFromMIT(t *testing.T, res mspacResult) (*pac.LogonInfo, bool) {
	t.Helper()
	a, ok := res.Attrs["urn:mspac:logon-info"]
	if !ok || len(a.Values) != 1 {
		t.Fatalf("MIT exposes no urn:mspac:logon-info; attributes: %v", res.Attrs)
	}
	b, err := hex.DecodeString(a.Values[0])
	if err != nil {
		t.Fatal(err)
	}
	var li pac.LogonInfo
	if err := li.Unmarshal(b); err != nil {
		t.Fatalf("logon info bytes from MIT: %v", err)
	}
	return &li, a.Authenticated
}

func groupRIDs(li *pac.LogonInfo) []uint32 {
	var out []uint32
	for _, g := range li.GroupIDs {
		out = append(out, g.RID)
	}
	slices.Sort(out)
	return out
}

// MIT kinit and kvno get tickets from Warden, and MIT's GSS-API acceptor
// (python-gssapi over libgssapi_krb5) accepts the service ticket, verifies
// its PAC with the keytab and marks urn:mspac:logon-info authenticated;
// the logon info it returns names alice and her groups.
func TestMITAcceptsWardenPAC(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "kvno")
	e := newPACRealm(t)
	c := testkit.NewClient(t, wardenRealm, e.k.Addr, false)
	if out, err := c.Run(t, pacUserPW+"\n", "kinit", "alice@"+wardenRealm); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	if out, err := c.Run(t, "", "kvno", "-k", e.keytab, pacService); err != nil || !strings.Contains(out, "keytab entry valid") {
		t.Fatalf("kvno: %v\n%s", err, out)
	}
	res := acceptWithMIT(t, c, e.keytab, pacService+"@"+wardenRealm)
	if res.Initiator != "alice@"+wardenRealm || !res.Complete {
		t.Fatalf("MIT acceptor: %+v", res)
	}
	for _, a := range []string{"urn:mspac:logon-info", "urn:mspac:client-info", "urn:mspac:upn-dns-info", "urn:mspac:server-checksum", "urn:mspac:privsvr-checksum"} {
		if _, ok := res.Attrs[a]; !ok {
			t.Errorf("MIT does not expose %s (has %v)", a, keysOf(res.Attrs))
		}
	}
	li, authenticated := logonInfoFromMIT(t, res)
	if !authenticated {
		t.Error("MIT did not mark urn:mspac:logon-info authenticated: it did not verify the PAC")
	}
	if got := li.UserSID().String(); got != e.userSID {
		t.Errorf("user SID %s, want %s", got, e.userSID)
	}
	if got := groupRIDs(li); !slices.Equal(got, e.groupRIDs) {
		t.Errorf("group RIDs %v, want %v", got, e.groupRIDs)
	}

	// The same ticket with one group RID changed by someone who holds
	// the service key: MIT's acceptor refuses it, or at least no longer
	// vouches for the PAC.
	tamperCachedPAC(t, c.CCache, e.keytab, pacService, func(p *pac.PAC) {
		p.LogonInfo.GroupIDs[len(p.LogonInfo.GroupIDs)-1].RID++
	})
	res = acceptWithMIT(t, c, e.keytab, pacService+"@"+wardenRealm)
	if !res.Complete || res.Initiator != "alice@"+wardenRealm {
		t.Fatalf("MIT acceptor on the tampered ticket: %+v", res)
	}
	got, ok := res.Attrs["urn:mspac:logon-info"]
	if ok && got.Error == "" && got.Authenticated {
		t.Fatalf("MIT's acceptor vouches for a tampered PAC: %+v", res.Attrs)
	}
	t.Logf("tampered PAC: MIT accepts the context (the ticket itself is sound) but gives no verified PAC: %+v", got)
}

// tamperCachedPAC rewrites the cached ticket for svc: f changes its PAC,
// which keeps its old signatures, and the ticket is re-encrypted with the
// service key from kt (what someone holding only that key could do).
func tamperCachedPAC(t *testing.T, cachePath, ktPath, svc string, f func(*pac.PAC)) {
	t.Helper()
	cache, err := ccache.Load(cachePath)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cache.Credentials {
		cr := &cache.Credentials[i]
		if cr.Server.Name.String() != svc {
			continue
		}
		var tk krb5.Ticket
		if err := tk.Unmarshal(cr.Ticket); err != nil {
			t.Fatal(err)
		}
		en, err := kt.Find(tk.SName, tk.Realm, tk.EncPart.KVNO, tk.EncPart.EType)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := kcrypto.NewKey(en.Key, kcrypto.Options{})
		plain, err := key.DecryptData(kcrypto.UsageTicket, tk.EncPart)
		if err != nil {
			t.Fatal(err)
		}
		var etp krb5.EncTicketPart
		if err := etp.Unmarshal(plain); err != nil {
			t.Fatal(err)
		}
		p, err := pac.FromTicket(&etp)
		if err != nil || p == nil {
			t.Fatalf("cached ticket PAC: %v", err)
		}
		f(p)
		raw, err := p.Encode() // the signatures as they were
		if err != nil {
			t.Fatal(err)
		}
		if etp.AuthorizationData, err = pac.WithPAC(etp.AuthorizationData, raw); err != nil {
			t.Fatal(err)
		}
		etp.Raw = nil
		b, _ := etp.Marshal()
		if tk.EncPart, err = key.EncryptData(rand.Reader, kcrypto.UsageTicket, b, en.KVNO, true); err != nil {
			t.Fatal(err)
		}
		tk.Raw = nil
		if cr.Ticket, err = tk.Marshal(); err != nil {
			t.Fatal(err)
		}
		if err := cache.WriteFile(cachePath); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no cached ticket for %s", svc)
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A user in 1,000 groups: MIT kinit starts over UDP, gets
// KRB_ERR_RESPONSE_TOO_BIG for the ~9.4 KB AS-REP and retries over TCP;
// kvno likewise for the TGS-REP; MIT's acceptor takes the ~9 KB PAC and
// reads all 1,001 group RIDs.
func TestThousandGroupsOverUDPThenTCP(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "kvno")
	r := testkit.NewRealm(t, wardenRealm)
	alice := r.AddUser(t, "alice", pacUserPW, admin.UserOptions{})
	kt := r.AddService(t, pacService, admin.ServiceOptions{})
	want := []uint32{store.RIDDomainUsers}
	for i := range 1000 {
		g := &store.Group{Name: fmt.Sprintf("g%04d", i), Members: []store.Member{{Name: "alice"}}}
		if err := r.Store.CreateGroup(context.Background(), g); err != nil {
			t.Fatal(err)
		}
		want = append(want, g.RID)
	}
	slices.Sort(want)
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	c := testkit.NewClient(t, wardenRealm, k.Addr, false) // UDP first
	trace := filepath.Join(c.Dir, "trace")
	env := append(c.Env(), "KRB5_TRACE="+trace)
	for _, args := range [][]string{{"kinit", "alice@" + wardenRealm}, {"kvno", "-k", kt, pacService}} {
		p, _ := testkit.LookPath(args[0])
		cmd := exec.Command(p, args[1:]...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(pacUserPW+"\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", args[0], err, out)
		}
	}
	tr, _ := os.ReadFile(trace)
	for _, want := range []string{
		"Sending initial UDP request to dgram " + k.Addr,
		"Received error from KDC: -1765328332/Response too big for UDP, retry with TCP",
		"Sending TCP request to stream " + k.Addr,
	} {
		if !strings.Contains(string(tr), want) {
			t.Errorf("MIT trace lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("trace:\n%s", tr)
	}
	res := acceptWithMIT(t, c, kt, pacService+"@"+wardenRealm)
	li, authenticated := logonInfoFromMIT(t, res)
	if !authenticated || li.UserSID().String() != store.SID(r.Admin.Realm().DomainSID, alice.RID) {
		t.Errorf("authenticated %v, user %v", authenticated, li.UserSID())
	}
	if got := groupRIDs(li); !slices.Equal(got, want) {
		t.Errorf("MIT's acceptor read %d group RIDs, want %d", len(got), len(want))
	}
}

// Our PAC decoder reads a PAC issued by MIT krb5kdc 1.20+, which puts a
// minimal PAC (client info, signatures) in every ticket, and verifies its
// signatures with the service's and the krbtgt's keys exported from MIT.
func TestDecodeMITKDCPAC(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "kvno")
	m := testkit.StartMITKDC(t, "MIT.TEST")
	m.AddPrincipal(t, "alice", pacUserPW)
	m.AddRandKey(t, "HTTP/web.mit.test")
	ktPath := filepath.Join(m.Dir(), "mit.keytab")
	m.ExportKeytab(t, ktPath, "HTTP/web.mit.test", "krbtgt/MIT.TEST")
	m.Kinit(t, nil, "alice", pacUserPW)
	if out, errOut, err := m.Run(t, nil, "kvno", "HTTP/web.mit.test"); err != nil {
		t.Fatalf("kvno: %v\n%s%s", err, out, errOut)
	}
	cache, err := ccache.Load(filepath.Join(m.Dir(), "ccache"))
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	krbtgtKey := func(et krb5.EncType) pac.SigningKey {
		en, err := kt.Find(krb5.PrincipalName{NameType: krb5.NameTypeSrvInst, NameString: []string{"krbtgt", "MIT.TEST"}}, "MIT.TEST", 0, et)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := kcrypto.NewKey(en.Key, kcrypto.Options{})
		return pac.SigningKey{Key: k, KVNO: en.KVNO}
	}
	for _, svc := range []string{"HTTP/web.mit.test", "krbtgt/MIT.TEST"} {
		t.Run(svc, func(t *testing.T) {
			name := krb5.PrincipalName{NameType: krb5.NameTypeSrvInst, NameString: strings.Split(svc, "/")}
			cr, err := cache.Find(ccache.Principal{Realm: "MIT.TEST", Name: name})
			if err != nil {
				t.Fatal(err)
			}
			var tk krb5.Ticket
			if err := tk.Unmarshal(cr.Ticket); err != nil {
				t.Fatal(err)
			}
			en, err := kt.Find(tk.SName, tk.Realm, tk.EncPart.KVNO, tk.EncPart.EType)
			if err != nil {
				t.Fatal(err)
			}
			key, _ := kcrypto.NewKey(en.Key, kcrypto.Options{})
			plain, err := key.DecryptData(kcrypto.UsageTicket, tk.EncPart)
			if err != nil {
				t.Fatal(err)
			}
			var etp krb5.EncTicketPart
			if err := etp.Unmarshal(plain); err != nil {
				t.Fatal(err)
			}
			p, err := pac.FromTicket(&etp)
			if err != nil {
				t.Fatalf("our decoder on MIT's PAC: %v", err)
			}
			if p == nil {
				t.Fatal("MIT's KDC issued no PAC (MIT 1.20+ issues one in every ticket)")
			}
			var types []string
			for _, bi := range p.Layout {
				types = append(types, bi.Type.String())
			}
			t.Logf("MIT %s PAC: %d bytes, buffers %v", svc, len(p.Raw), types)
			if svc != "krbtgt/MIT.TEST" && p.TicketSignature == nil {
				t.Error("MIT 1.20 signs service tickets (PAC_TICKET_CHECKSUM); this PAC has no ticket signature")
			}
			if p.ClientInfo == nil || p.ClientInfo.Name != "alice" {
				t.Errorf("client info %+v", p.ClientInfo)
			}
			if err := p.VerifyClientInfo(etp.AuthTime, etp.CName); err != nil {
				t.Error(err)
			}
			if err := p.VerifyServerSignature(pac.SigningKey{Key: key, KVNO: en.KVNO}); err != nil {
				t.Errorf("server signature: %v", err)
			}
			kk := krbtgtKey(krb5.ETypeAES256CTSHMACSHA196)
			if err := p.VerifyKDCSignature(kk); err != nil {
				t.Errorf("KDC signature: %v", err)
			}
			if p.TicketSignature != nil {
				if err := p.VerifyTicketSignature(&etp, kk); err != nil {
					t.Errorf("ticket signature: %v", err)
				}
			}
			if p.FullSignature != nil {
				if err := p.VerifyFullSignature(kk); err != nil {
					t.Errorf("full signature: %v", err)
				}
			}
		})
	}
	// warden pac dump on MIT's ticket, with MIT's keytab (which holds the
	// krbtgt keys too): every signature checks out.
	var out, errOut bytes.Buffer
	code := cli.Execute("test", []string{"pac", "dump", "--ccache", filepath.Join(m.Dir(), "ccache"), "--service", "HTTP/web.mit.test",
		"--keytab", ktPath}, &out, &errOut)
	if code != 0 {
		t.Fatalf("warden pac dump: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, re := range []string{`server signature \(hmac-sha1-96-aes256\):\s+ok`, `KDC signature \(hmac-sha1-96-aes256\):\s+ok`,
		`ticket signature \(hmac-sha1-96-aes256\):\s+ok`, `client info matches the ticket:\s+ok`, `PAC_CLIENT_INFO \(10\)`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("pac dump of MIT's ticket lacks %s:\n%s", re, out.String())
		}
	}
}
