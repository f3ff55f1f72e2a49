package interop

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/krb5/pac"
	"github.com/warden-auth/warden/store"
)

const plainSPN = "HTTP/plain.warden.test"

// compoundRealm is a Warden realm for compound identity: alice (claim
// department=Sales) and the computer WS01$ (keytab; group Workstations;
// claim site=Paris), the web service flagged compound-identity and
// HTTP/plain not; a running KDC and an MIT client environment whose
// krb5.conf and cache the warden CLI uses too.
type compoundRealm struct {
	r                     *testkit.Realm
	c                     *testkit.Client
	compKT, webKT, plKT   string
	pwFile                string
	wsRID, workstationRID uint32
	wsSID, workstationSID string
}

func newCompoundRealm(t *testing.T) *compoundRealm {
	t.Helper()
	ctx := context.Background()
	e := &compoundRealm{r: testkit.NewRealm(t, wardenRealm)}
	r := e.r
	r.AddUser(t, "alice", alicePW, admin.UserOptions{})
	for _, ct := range []store.ClaimType{
		{ID: "ad://ext/department", ValueType: store.ClaimString, AppliesTo: []store.Kind{store.KindUser}},
		{ID: "ad://ext/site", ValueType: store.ClaimString, AppliesTo: []store.Kind{store.KindComputer}},
	} {
		if err := r.Store.DefineClaimType(ctx, ct); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Admin.AddComputer(ctx, "ws01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	kt, _, err := r.Admin.Keytab(ctx, "WS01$", false)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e.compKT = filepath.Join(dir, "ws01.keytab")
	if err := kt.WriteFile(e.compKT); err != nil {
		t.Fatal(err)
	}
	g, err := r.Admin.AddGroup(ctx, "Workstations", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Admin.AddMembers(ctx, "Workstations", "WS01$"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct{ who, claim string }{{"alice", "ad://ext/department=Sales"}, {"WS01$", "ad://ext/site=Paris"}} {
		if _, err := r.Admin.SetClaim(ctx, a.who, a.claim); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := r.Store.Account(ctx, "WS01$")
	if err != nil {
		t.Fatal(err)
	}
	dom := r.Admin.Realm().DomainSID
	e.wsRID, e.workstationRID = ws.RID, g.RID
	e.wsSID, e.workstationSID = store.SID(dom, ws.RID), store.SID(dom, g.RID)
	e.webKT = r.AddService(t, httpSPN, admin.ServiceOptions{CompoundIdentity: true})
	e.plKT = r.AddService(t, plainSPN, admin.ServiceOptions{})
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	e.c = testkit.NewClient(t, wardenRealm, k.Addr, false)
	t.Setenv("KRB5_CONFIG", e.c.Conf)
	t.Setenv("KRB5CCNAME", "FILE:"+e.c.CCache)
	e.pwFile = filepath.Join(dir, "pw")
	if err := os.WriteFile(e.pwFile, []byte(alicePW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// The whole scenario with peers on the server side: alice signs in on
// WS01 (warden kinit --armor-keytab keeps the computer's TGT); warden get
// reaches warden proxy, which requires a device group, a device claim and
// a user claim, and passes the device upstream. The very ticket warden
// get obtained is then accepted by MIT's acceptor, which verifies the PAC
// and exposes PAC_DEVICE_INFO and PAC_DEVICE_CLAIMS_INFO as authenticated
// (their bytes decode to WS01$, its group and its claim), and Samba's
// ndrdump parses the PAC with both buffers. The same request for an
// unflagged service gets neither buffer; without the device the proxy
// refuses with the reason.
func TestCompoundIdentityWithPeers(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "ndrdump")
	e := newCompoundRealm(t)
	mustWardenCLI(t, "kinit", "--armor-keytab", e.compKT, "--password-file", e.pwFile, "alice")
	cache, err := ccache.Load(e.c.CCache)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := cache.Config(client.CompoundAvailKey, "krbtgt/"+wardenRealm+"@"+wardenRealm); !ok || string(v) != "yes" {
		t.Fatal("warden kinit did not record that the KDC does compound identity")
	}

	app := newHTTPApp(t)
	port, logs := startWardenProxy(t, "--upstream", app.URL, "--keytab", e.webKT, "--principal", httpSPN,
		"--require-device-group", "/="+e.workstationSID, "--require-device-claim", "/=ad://ext/site=Paris",
		"--require-claim", "/=ad://ext/department=Sales")
	url := fmt.Sprintf("http://127.0.0.1:%d/app", port)
	if out := mustWardenCLI(t, "get", "--spn", httpSPN, url); out != "hello "+aliceAtRealm {
		t.Fatalf("warden get printed %q\nproxy log:\n%s", out, logs)
	}
	_, h := app.seen()
	if h.Get("X-Warden-Device-Sid") != e.wsSID || !strings.Contains(h.Get("X-Warden-Device-Group-Sids"), e.workstationSID) ||
		h.Get("X-Warden-Device-Claims") != "ad://ext/site=Paris" || h.Get("X-Warden-Claims") != "ad://ext/department=Sales" {
		t.Errorf("upstream device headers: SID %q groups %q claims %q, user claims %q", h.Get("X-Warden-Device-Sid"),
			h.Get("X-Warden-Device-Group-Sids"), h.Get("X-Warden-Device-Claims"), h.Get("X-Warden-Claims"))
	}

	// MIT's acceptor on the ticket warden get left in the cache.
	res := acceptWithMIT(t, e.c, e.webKT, httpSPN+"@"+wardenRealm)
	if !res.Complete || res.Initiator != aliceAtRealm {
		t.Fatalf("MIT acceptor: %+v", res)
	}
	info := mitPACBuffer(t, res, "device-info", 14)
	var di pac.DeviceInfo
	if err := di.Unmarshal(info); err != nil {
		t.Fatalf("PAC_DEVICE_INFO from MIT: %v", err)
	}
	if di.UserID != e.wsRID || di.PrimaryGroupID != pac.RIDDomainComputers ||
		!slices.ContainsFunc(di.AccountGroupIDs, func(g pac.GroupMembership) bool { return g.RID == e.workstationRID }) {
		t.Errorf("PAC_DEVICE_INFO from MIT: %+v", di)
	}
	if got := testkit.ClaimStrings(t, mitPACBuffer(t, res, "device-claims", 15), "ad://ext/site"); !slices.Equal(got, []string{"Paris"}) {
		t.Errorf("PAC_DEVICE_CLAIMS_INFO from MIT: site %v", got)
	}
	li, _ := logonInfoFromMIT(t, res)
	if !slices.ContainsFunc(li.ExtraSIDs, func(s pac.SIDAndAttributes) bool { return s.SID == pac.SIDCompoundedAuthentication }) {
		t.Errorf("logon info extra SIDs %v lack COMPOUNDED_AUTHENTICATION", li.ExtraSIDs)
	}

	// Samba's ndrdump on the PAC of that ticket.
	out := ndrdumpTicketPAC(t, e.c.CCache, httpSPN, e.webKT)
	for _, w := range []string{"PAC_TYPE_DEVICE_INFO (14)", "PAC_TYPE_DEVICE_CLAIMS_INFO (15)", "PAC_TYPE_CLIENT_CLAIMS_INFO (13)", "S-1-5-21-0-0-0-496", "pull returned Success", "push returned Success"} {
		if !strings.Contains(out, w) {
			t.Errorf("ndrdump output lacks %q:\n%s", w, out)
		}
	}

	// An unflagged service: the same compound request, no device buffers.
	mustWardenCLI(t, "kvno", plainSPN)
	res = acceptWithMIT(t, e.c, e.plKT, plainSPN+"@"+wardenRealm)
	for _, a := range []string{"urn:mspac:device-info", "urn:mspac:14", "urn:mspac:device-claims", "urn:mspac:15"} {
		if _, ok := res.Attrs[a]; ok {
			t.Errorf("the unflagged service's ticket has %s", a)
		}
	}
	if out := ndrdumpTicketPAC(t, e.c.CCache, plainSPN, e.plKT); strings.Contains(out, "PAC_TYPE_DEVICE_INFO") {
		t.Errorf("ndrdump shows device info in the unflagged service's ticket")
	}

	// Without the computer's TGT the proxy refuses, saying why.
	mustWardenCLI(t, "kdestroy")
	mustWardenCLI(t, "kinit", "--password-file", e.pwFile, "alice")
	code, _, errOut := wardenCLI(t, "get", "--spn", httpSPN, url)
	if code == 0 || !strings.Contains(errOut, "requires the computer's identity (Kerberos compound identity)") {
		t.Errorf("warden get without the device: exit %d\n%s", code, errOut)
	}
}

// mitPACBuffer returns the bytes of PAC buffer n that MIT's acceptor
// exposed (as urn:mspac:NAME, or urn:mspac:N where Debian's MIT lacks
// the name), requiring it to be authenticated.
func mitPACBuffer(t *testing.T, res mspacResult, name string, n int) []byte {
	t.Helper()
	a, ok := res.Attrs["urn:mspac:"+name]
	if !ok {
		a, ok = res.Attrs[fmt.Sprintf("urn:mspac:%d", n)]
	}
	if !ok || len(a.Values) != 1 || !a.Authenticated {
		t.Fatalf("MIT exposes no authenticated urn:mspac:%s: %v", name, keysOf(res.Attrs))
	}
	b, err := hex.DecodeString(a.Values[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ndrdumpTicketPAC decrypts the cache's ticket for spn with the service
// keytab and runs ndrdump on its PAC.
func ndrdumpTicketPAC(t *testing.T, cachePath, spn, ktPath string) string {
	t.Helper()
	cache, err := ccache.Load(cachePath)
	if err != nil {
		t.Fatal(err)
	}
	name, _, _ := client.ParsePrincipal(spn, wardenRealm)
	cc, err := cache.Find(ccache.Principal{Realm: wardenRealm, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := client.FromCCache(*cc)
	if err != nil {
		t.Fatal(err)
	}
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	etp := openTicket(t, kt, cr.Ticket)
	raw, ok, err := pac.FromAuthorizationData(etp.AuthorizationData)
	if err != nil || !ok {
		t.Fatalf("ticket for %s: PAC %v %v", spn, ok, err)
	}
	path := filepath.Join(t.TempDir(), "ticket.pac")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	bin, _ := testkit.LookPath("ndrdump")
	out, err := exec.Command(bin, "--validate", "krb5pac", "PAC_DATA", "struct", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ndrdump: %v\n%s", err, out)
	}
	return string(out)
}
