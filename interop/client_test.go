package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-auth/warden/cli"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/keytab"
)

// mitRealmForClient starts an MIT KDC with alice (password,
// requires_preauth) and a random-key service, and exports the service's
// and krbtgt's keys so tests can open the tickets Warden's client got.
func mitRealmForClient(t *testing.T) (*testkit.MITKDC, *keytab.Keytab, string) {
	t.Helper()
	kdc := testkit.StartMITKDC(t, mitRealm)
	kdc.AddPrincipal(t, mitUser, mitPassword)
	kdc.AddRandKey(t, mitService)
	ktPath := filepath.Join(t.TempDir(), "svc.keytab")
	kdc.ExportKeytab(t, ktPath, "krbtgt/"+mitRealm, mitService)
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	return kdc, kt, ktPath
}

// writeConf writes a krb5.conf for the MIT realm with kdc addr and the
// given extra [libdefaults] lines.
func writeConf(t *testing.T, addr string, extra ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "krb5.conf")
	body := fmt.Sprintf("[libdefaults]\n default_realm = %s\n%s\n[realms]\n %s = {\n  kdc = %s\n }\n",
		mitRealm, strings.Join(extra, "\n"), mitRealm, addr)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startUDPRelay forwards Kerberos datagrams to upstream and counts them.
// Nothing listens on its port over TCP, so a client that succeeds through
// it has spoken UDP.
func startUDPRelay(t *testing.T, upstream string) (string, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			m, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			n.Add(1)
			up, err := net.Dial("udp", upstream)
			if err != nil {
				continue
			}
			up.SetDeadline(time.Now().Add(5 * time.Second))
			up.Write(buf[:m])
			reply := make([]byte, 65536)
			if k, err := up.Read(reply); err == nil {
				pc.WriteTo(reply[:k], from)
			}
			up.Close()
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	return pc.LocalAddr().String(), &n
}

func newMITClient(t *testing.T, conf string, mod func(*client.Config)) *client.Client {
	t.Helper()
	cfg, err := client.LoadKrb5Conf(conf)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var aliceName = krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{mitUser}}

// TestWardenClientLibraryWithMIT: Warden's client library gets TGTs from
// a real MIT KDC over UDP and over TCP, with each AES enctype, uses them
// for service tickets (with and without a subkey) that the service's key
// opens, renews them, and maps MIT's refusals to the right codes.
func TestWardenClientLibraryWithMIT(t *testing.T) {
	kdc, kt, _ := mitRealmForClient(t)
	ctx := context.Background()

	udpAddr, udpCount := startUDPRelay(t, kdc.Addr())
	rec := startRecorder(t, kdc.Addr())
	transports := []struct {
		name string
		conf string
	}{
		{"udp", writeConf(t, udpAddr)},
		// The interop KDC's own client profile: udp_preference_limit = 1,
		// through a TCP-only relay.
		{"tcp", kdc.WriteClientConf(rec.Addr())},
	}
	for _, tr := range transports {
		for _, et := range []krb5.EncType{18, 17, 20, 19} {
			t.Run(fmt.Sprintf("%s/%v", tr.name, et), func(t *testing.T) {
				c := newMITClient(t, tr.conf, func(cfg *client.Config) { cfg.ETypes = []krb5.EncType{et} })
				tgt, err := c.ASExchange(ctx, aliceName, client.Password(mitPassword),
					client.ASOptions{Forwardable: true, RenewLifetime: 24 * time.Hour, Lifetime: time.Hour})
				if err != nil {
					t.Fatalf("AS exchange: %v", err)
				}
				if tgt.Key.KeyType != et || !tgt.Flags.Has(krb5.TktFlagInitial|krb5.TktFlagPreAuthent|krb5.TktFlagForwardable|krb5.TktFlagRenewable) {
					t.Errorf("TGT: session key %v, flags %#x", tgt.Key.KeyType, tgt.Flags)
				}
				// The TGT opens with the krbtgt key and names alice.
				etp := openTicket(t, kt, tgt.Ticket)
				if etp.CName.String() != mitUser || !bytes.Equal(etp.Key.KeyValue, tgt.Key.KeyValue) {
					t.Errorf("TGT contents: %v, key matches %v", etp.CName, bytes.Equal(etp.Key.KeyValue, tgt.Key.KeyValue))
				}
				for _, subkey := range []bool{true, false} {
					svc, err := c.TGSExchange(ctx, tgt, krb5.NewPrincipalName(krb5.NameTypeSrvHst, mitService), client.TGSOptions{Subkey: subkey})
					if err != nil {
						t.Fatalf("TGS exchange (subkey %v): %v", subkey, err)
					}
					st := openTicket(t, kt, svc.Ticket)
					if st.CName.String() != mitUser || !bytes.Equal(st.Key.KeyValue, svc.Key.KeyValue) || svc.Key.KeyType != et {
						t.Errorf("service ticket (subkey %v): client %v, session key %v", subkey, st.CName, svc.Key.KeyType)
					}
					if !svc.Flags.Has(krb5.TktFlagForwardable) || svc.Server.String() != mitService+"@"+mitRealm {
						t.Errorf("service ticket: flags %#x server %s", svc.Flags, svc.Server)
					}
				}
				renewed, err := c.Renew(ctx, tgt)
				if err != nil {
					t.Fatalf("renew: %v", err)
				}
				if bytes.Equal(renewed.Key.KeyValue, tgt.Key.KeyValue) || !renewed.RenewTill.Equal(tgt.RenewTill) || !renewed.Flags.Has(krb5.TktFlagRenewable) {
					t.Errorf("renewed TGT: new key %v, renew-till %v (was %v), flags %#x",
						!bytes.Equal(renewed.Key.KeyValue, tgt.Key.KeyValue), renewed.RenewTill, tgt.RenewTill, renewed.Flags)
				}
				// Renewable again, as MIT's kinit -R twice would be.
				if _, err := c.Renew(ctx, renewed); err != nil {
					t.Errorf("second renewal: %v", err)
				}
			})
		}
	}
	if udpCount.Load() == 0 {
		t.Error("no request went through the UDP relay")
	}
	if len(rec.Exchanges()) == 0 {
		t.Error("no request went through the TCP relay")
	}

	c := newMITClient(t, kdc.WriteClientConf(kdc.Addr()), nil)
	_, err := c.ASExchange(ctx, aliceName, client.Password("wrong password"), client.ASOptions{})
	var ke *krb5.Error
	if !errors.As(err, &ke) || ke.Code != krb5.KDCErrPreauthFailed || !strings.Contains(err.Error(), "password incorrect for alice@"+mitRealm) {
		t.Errorf("wrong password: %v", err)
	}
	t.Logf("wrong password: %v (hint: %s)", err, ke.Hint)
	_, err = c.ASExchange(ctx, krb5.NewPrincipalName(krb5.NameTypePrincipal, "nobody"), client.Password("x"), client.ASOptions{})
	if !errors.As(err, &ke) || ke.Code != krb5.KDCErrCPrincipalUnknown || !strings.Contains(ke.Hint, "check the user name and realm") {
		t.Errorf("unknown user: %v", err)
	}
	t.Logf("unknown user: %v (hint: %s)", err, ke.Hint)

	// A keytab with alice's password-derived keys logs in too.
	aliceKT := filepath.Join(t.TempDir(), "alice.keytab")
	kdc.ExportKeytab(t, aliceKT, mitUser)
	akt, err := keytab.Load(aliceKT)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ASExchange(ctx, aliceName, client.Keytab(akt), client.ASOptions{}); err != nil {
		t.Errorf("keytab AS exchange: %v", err)
	}
	// A service with random keys and no pre-authentication requirement.
	if _, err := c.ASExchange(ctx, krb5.NewPrincipalName(krb5.NameTypeSrvHst, mitService), client.Keytab(kt), client.ASOptions{}); err != nil {
		t.Errorf("service keytab AS exchange: %v", err)
	}
}

// wardenCLI runs the warden command line in-process.
func wardenCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = cli.Execute("interop", args, &o, &e)
	return code, o.String(), e.String()
}

func mustWardenCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := wardenCLI(t, args...)
	if code != 0 {
		t.Fatalf("warden %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// cLocaleEnv is env with the C locale, so that MIT klist's dates are in
// the layout warden klist prints.
func cLocaleEnv(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "LC_") && !strings.HasPrefix(e, "LANG") {
			out = append(out, e)
		}
	}
	return append(out, "LC_ALL=C")
}

// TestWardenCLIWithMIT: warden kinit/kvno/klist/kdestroy against an MIT
// KDC, with MIT's klist and kvno reading the caches warden writes and
// warden reading the cache MIT kinit writes. warden klist's output is
// compared with MIT klist's, line for line.
func TestWardenCLIWithMIT(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "klist", "kvno")
	kdc, kt, svcKT := mitRealmForClient(t)
	dir := t.TempDir()
	conf := kdc.WriteClientConf(kdc.Addr())
	ours := filepath.Join(dir, "ours.ccache")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(mitPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", conf)
	t.Setenv("KRB5CCNAME", "FILE:"+ours)
	mitEnv := func(cache string) []string {
		return cLocaleEnv(append(kdc.Env(), "KRB5CCNAME=FILE:"+cache))
	}
	tgtName := "krbtgt/" + mitRealm + "@" + mitRealm
	svcName := mitService + "@" + mitRealm

	// warden kinit; MIT klist reads the cache and MIT kvno uses its TGT.
	mustWardenCLI(t, "kinit", "--password-file", pwFile, "-r", "2d", "-f", mitUser)
	out := runMIT(t, mitEnv(ours), "klist", "-e", "-f")
	if !containsAll(out, []string{"Default principal: " + mitUser + "@" + mitRealm, tgtName, "renew until", "Flags: FRIA"}) {
		t.Errorf("MIT klist of warden's cache:\n%s", out)
	}
	runMIT(t, mitEnv(ours), "kvno", mitService)

	// warden kvno with the cache MIT kvno added to: the cached ticket.
	if out := mustWardenCLI(t, "kvno", mitService); out != svcName+": kvno = 1\n" {
		t.Errorf("warden kvno printed %q", out)
	}
	// A fresh warden kvno: the ticket comes from warden's TGS exchange
	// and MIT klist lists it.
	mustWardenCLI(t, "kinit", "--password-file", pwFile, mitUser)
	if out := mustWardenCLI(t, "kvno", mitService); out != svcName+": kvno = 1\n" {
		t.Errorf("warden kvno printed %q", out)
	}
	out = runMIT(t, mitEnv(ours), "klist")
	if !containsAll(out, []string{tgtName, svcName}) {
		t.Errorf("MIT klist after warden kvno:\n%s", out)
	}
	cache, err := ccache.Load(ours)
	if err != nil {
		t.Fatal(err)
	}
	svcCred, err := cache.Find(ccache.Principal{Realm: mitRealm, Name: krb5.NewPrincipalName(krb5.NameTypeSrvHst, mitService)})
	if err != nil {
		t.Fatal(err)
	}
	var tkt krb5.Ticket
	if err := tkt.Unmarshal(svcCred.Ticket); err != nil {
		t.Fatal(err)
	}
	if etp := openTicket(t, kt, tkt); !bytes.Equal(etp.Key.KeyValue, svcCred.Key.KeyValue) {
		t.Error("the stored service ticket's session key differs from the cache's")
	}
	// Same cache, same listing: warden klist prints what MIT klist prints.
	mitOut := runMIT(t, mitEnv(ours), "klist")
	if wOut := mustWardenCLI(t, "klist"); wOut != mitOut {
		t.Errorf("warden klist differs from MIT klist:\n--- warden\n%s--- MIT\n%s", wOut, mitOut)
	}

	// MIT kinit writes a cache; warden klist reads it and warden kvno uses
	// its TGT.
	theirs := filepath.Join(dir, "mit.ccache")
	kdc.Kinit(t, append(kdc.Env(), "KRB5CCNAME=FILE:"+theirs), mitUser, mitPassword)
	wOut := mustWardenCLI(t, "klist", "-c", theirs)
	if !containsAll(wOut, []string{"Ticket cache: FILE:" + theirs, "Default principal: " + mitUser + "@" + mitRealm, tgtName}) {
		t.Errorf("warden klist of MIT's cache:\n%s", wOut)
	}
	if mitOut := runMIT(t, mitEnv(theirs), "klist"); wOut != mitOut {
		t.Errorf("warden klist differs from MIT klist on MIT's cache:\n--- warden\n%s--- MIT\n%s", wOut, mitOut)
	}
	if out := mustWardenCLI(t, "kvno", "-c", "FILE:"+theirs, mitService); out != svcName+": kvno = 1\n" {
		t.Errorf("warden kvno on MIT's cache printed %q", out)
	}
	if out := runMIT(t, mitEnv(theirs), "klist"); !strings.Contains(out, svcName) {
		t.Errorf("MIT klist after warden kvno on MIT's cache:\n%s", out)
	}

	// Keytab kinit: the service's exported keys (no pre-authentication)
	// and alice's password-derived keys (pre-authentication).
	svcCache := filepath.Join(dir, "svc.ccache")
	mustWardenCLI(t, "kinit", "-k", svcKT, "-c", svcCache, mitService)
	if out := runMIT(t, mitEnv(svcCache), "klist"); !strings.Contains(out, "Default principal: "+svcName) {
		t.Errorf("MIT klist of the service's cache:\n%s", out)
	}
	aliceKT := filepath.Join(dir, "alice.keytab")
	kdc.ExportKeytab(t, aliceKT, mitUser)
	mustWardenCLI(t, "kinit", "-k", aliceKT)
	if out := runMIT(t, mitEnv(ours), "klist"); !containsAll(out, []string{"Default principal: " + mitUser + "@" + mitRealm, tgtName}) {
		t.Errorf("MIT klist after keytab kinit:\n%s", out)
	}

	// Renewal: kinit -r, then kinit -R; MIT klist shows the renewed TGT
	// (and MIT kinit -R renews what warden wrote).
	mustWardenCLI(t, "kinit", "--password-file", pwFile, "-r", "1d", "-l", "1h", mitUser)
	before, _ := ccache.Load(ours)
	mustWardenCLI(t, "kinit", "-R")
	after, _ := ccache.Load(ours)
	if ticketCount(after) != 1 || bytes.Equal(after.Credentials[0].Key.KeyValue, before.Credentials[0].Key.KeyValue) ||
		!after.Credentials[0].TicketFlags.Has(krb5.TktFlagRenewable) || !after.Credentials[0].RenewTill.Equal(before.Credentials[0].RenewTill) {
		t.Errorf("kinit -R: %d tickets, flags %#x, renew-till %v (was %v)", ticketCount(after),
			after.Credentials[0].TicketFlags, after.Credentials[0].RenewTill, before.Credentials[0].RenewTill)
	}
	if out := runMIT(t, mitEnv(ours), "klist"); !containsAll(out, []string{tgtName, "renew until"}) {
		t.Errorf("MIT klist after warden kinit -R:\n%s", out)
	}
	runMIT(t, mitEnv(ours), "kinit", "-R")
	mustWardenCLI(t, "kinit", "-R")

	// Refusals, as the user sees them.
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("wrong password\n"), 0o600)
	code, _, errOut := wardenCLI(t, "kinit", "--password-file", bad, mitUser)
	if code != 1 || !strings.Contains(errOut, "warden: error: password incorrect for alice@"+mitRealm+": KDC_ERR_PREAUTH_FAILED") ||
		!strings.Contains(errOut, "warden: hint: password incorrect") {
		t.Errorf("wrong password: exit %d\n%s", code, errOut)
	}
	t.Logf("wrong password, as printed:\n%s", errOut)
	code, _, errOut = wardenCLI(t, "kinit", "--password-file", bad, "nobody")
	if code != 1 || !strings.Contains(errOut, "KDC_ERR_C_PRINCIPAL_UNKNOWN") || !strings.Contains(errOut, "warden: hint: check the user name and realm") {
		t.Errorf("unknown user: exit %d\n%s", code, errOut)
	}
	t.Logf("unknown user, as printed:\n%s", errOut)
	code, _, errOut = wardenCLI(t, "kvno", "host/nope.mit.test")
	if code != 1 || !strings.Contains(errOut, "KDC_ERR_S_PRINCIPAL_UNKNOWN") {
		t.Errorf("unknown service: exit %d\n%s", code, errOut)
	}

	mustWardenCLI(t, "kdestroy")
	if _, _, err := kdc.Run(t, mitEnv(ours), "klist"); err == nil {
		t.Error("MIT klist still finds a cache after warden kdestroy")
	}
}
