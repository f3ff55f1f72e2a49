package interop

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/ccache"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/krb5/keytab"
	"github.com/warden-auth/warden/store"
)

// Warden's FAST client (RFC 6113) against MIT's krb5kdc, a FAST KDC we
// did not write. MIT has no "FAST required" switch, so it is made to
// prove that the requests really were armored another way: with
// encrypted_challenge_indicator it marks tickets from a login by
// encrypted challenge (which exists only inside FAST) with an
// authentication indicator, and a service with require_auth gets tickets
// only for such logins. A TGT from a plain login is refused for that
// service; one from our armored login is accepted, and the indicator is
// in the TGT's CAMMAC.

const (
	fastIndicator = "fast_ec"
	fastService   = "HTTP/fast.mit.test" // requires the indicator
	fastComputer  = "host/ws01.mit.test" // the armor's principal
)

// mitFASTRealm starts an MIT KDC that takes passwords only inside FAST
// and gives logins by encrypted challenge the indicator fastIndicator.
// It has alice (password, requires_preauth), the computer (random keys,
// keytab returned) and services with and without require_auth.
func mitFASTRealm(t testing.TB, lines ...string) (*testkit.MITKDC, string, *keytab.Keytab) {
	t.Helper()
	kdc := testkit.StartMITKDCWith(t, mitRealm, testkit.MITKDCOptions{RealmLines: append([]string{
		"encrypted_challenge_indicator = " + fastIndicator,
	}, lines...)})
	kdc.AddPrincipal(t, mitUser, mitPassword)
	kdc.AddRandKey(t, fastComputer)
	kdc.AddRandKey(t, mitService)
	kdc.AddRandKey(t, fastService)
	kdc.SetString(t, fastService, "require_auth", fastIndicator)
	dir := t.TempDir()
	compKT := filepath.Join(dir, "ws01.keytab")
	kdc.ExportKeytab(t, compKT, fastComputer)
	svcKT := filepath.Join(dir, "svc.keytab")
	kdc.ExportKeytab(t, svcKT, mitService, fastService, "krbtgt/"+mitRealm)
	kt, err := keytab.Load(svcKT)
	if err != nil {
		t.Fatal(err)
	}
	return kdc, compKT, kt
}

// computerTGT gets the computer's TGT with its keytab (no armor: the
// computer's key is random, nothing to guess offline).
func computerTGT(t testing.TB, c *client.Client, ktPath string) *client.Credentials {
	t.Helper()
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	name := krb5.NewPrincipalName(krb5.NameTypeSrvHst, fastComputer)
	cr, err := c.ASExchange(context.Background(), name, client.Keytab(kt), client.ASOptions{})
	if err != nil {
		t.Fatalf("computer TGT: %v", err)
	}
	return cr
}

func TestFASTClientAgainstMIT(t *testing.T) {
	kdc, compKT, svcKT := mitFASTRealm(t)
	ctx := context.Background()
	c := newMITClient(t, writeConf(t, kdc.Addr()), nil)
	machine := computerTGT(t, c, compKT)

	// A plain login works, and MIT says it does FAST, under the reply key
	// (RFC 6806 FAST negotiation), so the TGT's TGS requests are armored;
	// but the service that requires the indicator is refused to it.
	plain, err := c.ASExchange(ctx, aliceName, client.Password(mitPassword), client.ASOptions{})
	if err != nil || !plain.FAST || !plain.FASTOffered {
		t.Fatalf("plain login: %v (FAST %v, offered %v)", err, plain != nil && plain.FAST, plain != nil && plain.FASTOffered)
	}
	if ind := indicators(t, svcKT, plain.Ticket); len(ind) != 0 {
		t.Errorf("plain TGT has indicators %q", ind)
	}
	_, err = c.TGSExchange(ctx, plain, krb5.NewPrincipalName(krb5.NameTypeSrvHst, fastService), client.TGSOptions{})
	if krb5.CodeOf(err) != krb5.KDCErrPolicy {
		t.Fatalf("plain TGT for the service requiring %s: %v", fastIndicator, err)
	}

	// Armored: encrypted challenge inside FAST.
	tgt, err := c.ASExchange(ctx, aliceName, client.Password(mitPassword), client.ASOptions{Armor: machine})
	if err != nil {
		t.Fatalf("armored login: %v", err)
	}
	if !tgt.FAST || tgt.Client.String() != mitUser+"@"+mitRealm || !tgt.IsTGT() {
		t.Fatalf("armored TGT: FAST %v, %s -> %s", tgt.FAST, tgt.Client, tgt.Server)
	}
	if ind := indicators(t, svcKT, tgt.Ticket); len(ind) != 1 || ind[0] != fastIndicator {
		t.Errorf("armored TGT's indicators %q, want [%s]: MIT did not see an encrypted challenge", ind, fastIndicator)
	}

	// Armored TGS (implicit armor): MIT answers with FAST, or the client
	// refuses. The service requiring the indicator gets a ticket: MIT saw
	// the encrypted challenge.
	for _, svc := range []string{mitService, fastService} {
		st, err := c.TGSExchange(ctx, tgt, krb5.NewPrincipalName(krb5.NameTypeSrvHst, svc), client.TGSOptions{})
		if err != nil {
			t.Fatalf("armored TGS for %s: %v", svc, err)
		}
		if !st.FAST {
			t.Errorf("%s: TGS reply not marked FAST", svc)
		}
		if etp := openTicket(t, svcKT, st.Ticket); etp.CName.String() != mitUser {
			t.Errorf("%s: ticket client %s", svc, etp.CName)
		}
	}

	// A TGT not obtained with FAST armors its TGS requests on demand.
	if st, err := c.TGSExchange(ctx, plain, krb5.NewPrincipalName(krb5.NameTypeSrvHst, mitService), client.TGSOptions{FAST: client.FASTOn}); err != nil || !st.FAST {
		t.Errorf("FASTOn with a plain TGT: %v", err)
	}
	// MIT refuses explicit (AP-REQ) armor in a TGS request, unprotected
	// since no armor key was agreed; the client does not trust that
	// answer. MIT's log shows it decoded our armor as AP-REQ armor.
	_, err = c.TGSExchange(ctx, tgt, krb5.NewPrincipalName(krb5.NameTypeSrvHst, mitService), client.TGSOptions{Armor: machine})
	if !errors.Is(err, client.ErrFASTDowngrade) || !strings.Contains(kdc.Log(t), "Ap-request armor not permitted with TGS") {
		t.Errorf("explicit TGS armor at MIT: %v", err)
	}

	// A wrong password: MIT's refusal comes back inside the armor.
	_, err = c.ASExchange(ctx, aliceName, client.Password("wrong password"), client.ASOptions{Armor: machine})
	if krb5.CodeOf(err) != krb5.KDCErrPreauthFailed || errors.Is(err, client.ErrFASTDowngrade) ||
		!strings.Contains(err.Error(), "password incorrect for alice@"+mitRealm) {
		t.Errorf("wrong password: %v", err)
	}
	// An unknown user likewise.
	_, err = c.ASExchange(ctx, krb5.NewPrincipalName(krb5.NameTypePrincipal, "nobody"), client.Password("x"), client.ASOptions{Armor: machine})
	if krb5.CodeOf(err) != krb5.KDCErrCPrincipalUnknown || errors.Is(err, client.ErrFASTDowngrade) {
		t.Errorf("unknown user: %v", err)
	}
	// And a TGS refusal.
	_, err = c.TGSExchange(ctx, tgt, krb5.NewPrincipalName(krb5.NameTypeSrvHst, "host/nowhere.mit.test"), client.TGSOptions{})
	if krb5.CodeOf(err) != krb5.KDCErrSPrincipalUnknown || errors.Is(err, client.ErrFASTDowngrade) {
		t.Errorf("unknown service: %v", err)
	}
}

// indicators returns the authentication indicators MIT put in a ticket:
// AD-IF-RELEVANT → AD-CAMMAC (96) → AD-AUTHENTICATION-INDICATOR (97),
// a SEQUENCE OF UTF8String.
func indicators(t *testing.T, kt *keytab.Keytab, tkt krb5.Ticket) []string {
	t.Helper()
	etp := openTicket(t, kt, tkt)
	if etp.CName.String() != mitUser {
		t.Errorf("ticket client %s", etp.CName)
	}
	var out []string
	for _, rel := range etp.AuthorizationData {
		if rel.Type != krb5.ADIfRelevant {
			continue
		}
		var inner krb5.AuthorizationData
		if err := inner.Unmarshal(rel.Data); err != nil {
			t.Fatal(err)
		}
		for _, ad := range inner {
			if ad.Type == adCAMMAC {
				out = append(out, cammacIndicators(t, ad.Data)...)
			}
		}
	}
	return out
}

// RFC 7751 and RFC 8129 authorization-data types MIT uses for
// authentication indicators.
const (
	adCAMMAC                = krb5.ADType(96)
	adAuthenticationIndAttr = krb5.ADType(97)
)

// cammacIndicators decodes AD-CAMMAC (RFC 7751: SEQUENCE { elements [0]
// AuthorizationData, verifiers [1..3] OPTIONAL }) and returns the strings
// of its AD-AUTHENTICATION-INDICATOR elements (RFC 8129: SEQUENCE OF
// UTF8String).
func cammacIndicators(t *testing.T, b []byte) []string {
	t.Helper()
	in := cryptobyte.String(b)
	var seq, elems cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !seq.ReadASN1(&elems, asn1.Tag(0).Constructed().ContextSpecific()) {
		t.Fatalf("AD-CAMMAC does not decode: %x", b)
	}
	var ad krb5.AuthorizationData
	if err := ad.Unmarshal(elems); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ad {
		if e.Type != adAuthenticationIndAttr {
			continue
		}
		s := cryptobyte.String(e.Data)
		var list cryptobyte.String
		if !s.ReadASN1(&list, asn1.SEQUENCE) {
			t.Fatalf("AD-AUTHENTICATION-INDICATOR does not decode: %x", e.Data)
		}
		for !list.Empty() {
			var v cryptobyte.String
			if !list.ReadASN1(&v, asn1.UTF8String) {
				t.Fatalf("AD-AUTHENTICATION-INDICATOR element: %x", e.Data)
			}
			out = append(out, string(v))
		}
	}
	return out
}

// wardenFASTRealm is a Warden realm with alice, bob (fast-required), a
// service and the computer WS01$ whose keytab is returned, served on
// 127.0.0.1, and a client of it.
func wardenFASTRealm(t testing.TB) (*testkit.Realm, *client.Client, string, *keytab.Keytab) {
	t.Helper()
	r := testkit.NewRealm(t, wardenRealm)
	r.AddUser(t, "alice", "correct horse battery", admin.UserOptions{})
	r.AddUser(t, "bob", "bob's password 1", admin.UserOptions{})
	ctx := t.Context()
	if _, err := r.Admin.SetFlags(ctx, "bob", store.FlagFASTRequired, 0); err != nil {
		t.Fatal(err)
	}
	svcKT, err := keytab.Load(r.AddService(t, "HTTP/web.warden.test", admin.ServiceOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Admin.AddComputer(ctx, "ws01", admin.KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	kt, _, err := r.Admin.Keytab(ctx, "WS01$", false)
	if err != nil {
		t.Fatal(err)
	}
	compKT := filepath.Join(t.TempDir(), "ws01.keytab")
	if err := kt.WriteFile(compKT); err != nil {
		t.Fatal(err)
	}
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	c, err := client.New(client.Config{Realm: wardenRealm, KDCs: map[string][]string{wardenRealm: {k.Addr}}})
	if err != nil {
		t.Fatal(err)
	}
	return r, c, compKT, svcKT
}

// Warden's FAST client against Warden's FAST KDC (krb5/kdc, written by
// another hand from the same RFC): armored logins, armored TGS with
// implicit and explicit armor, protected refusals, and the fast-required
// policy enforced on both exchanges.
func TestFASTClientAgainstWarden(t *testing.T) {
	_, c, compKT, svcKT := wardenFASTRealm(t)
	ctx := context.Background()
	kt, err := keytab.Load(compKT)
	if err != nil {
		t.Fatal(err)
	}
	machine, err := c.ASExchange(ctx, krb5.NewPrincipalName(krb5.NameTypePrincipal, "WS01$"), client.Keytab(kt), client.ASOptions{})
	if err != nil {
		t.Fatalf("computer TGT: %v", err)
	}
	alice := krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice")
	bob := krb5.NewPrincipalName(krb5.NameTypePrincipal, "bob")
	web := krb5.NewPrincipalName(krb5.NameTypeSrvHst, "HTTP/web.warden.test")
	var ke *krb5.Error

	tgt, err := c.ASExchange(ctx, alice, client.Password("correct horse battery"), client.ASOptions{Armor: machine})
	if err != nil || !tgt.FAST {
		t.Fatalf("armored login: %v", err)
	}
	for _, opts := range []client.TGSOptions{{}, {Armor: machine}} {
		st, err := c.TGSExchange(ctx, tgt, web, opts)
		if err != nil || !st.FAST {
			t.Fatalf("armored TGS (explicit armor %v): %v", opts.Armor != nil, err)
		}
		tkt := openTicket(t, svcKT, st.Ticket)
		if tkt.CName.String() != "alice" || !bytes.Equal(tkt.Key.KeyValue, st.Key.KeyValue) {
			t.Errorf("service ticket for %s", tkt.CName)
		}
	}

	// Refusals arrive inside the armor and read as without it.
	_, err = c.ASExchange(ctx, alice, client.Password("wrong password!"), client.ASOptions{Armor: machine})
	if krb5.CodeOf(err) != krb5.KDCErrPreauthFailed || errors.Is(err, client.ErrFASTDowngrade) ||
		!strings.Contains(err.Error(), "password incorrect for alice@"+wardenRealm) {
		t.Errorf("wrong password: %v", err)
	}
	_, err = c.TGSExchange(ctx, tgt, krb5.NewPrincipalName(krb5.NameTypeSrvHst, "HTTP/nowhere.warden.test"), client.TGSOptions{})
	if krb5.CodeOf(err) != krb5.KDCErrSPrincipalUnknown || errors.Is(err, client.ErrFASTDowngrade) {
		t.Errorf("unknown service: %v", err)
	}

	// An armor ticket the KDC cannot open: no armor key is agreed, so
	// the KDC's refusal cannot be protected, and the client reports it
	// as unverified.
	bad := *machine
	bad.Ticket.Raw = nil
	bad.Ticket.EncPart.Cipher = append([]byte(nil), machine.Ticket.EncPart.Cipher...)
	bad.Ticket.EncPart.Cipher[10] ^= 1
	_, err = c.ASExchange(ctx, alice, client.Password("correct horse battery"), client.ASOptions{Armor: &bad})
	if !errors.Is(err, client.ErrFASTDowngrade) || !errors.As(err, &ke) || !strings.Contains(ke.Hint, "could not use the armor") {
		t.Errorf("bad armor ticket: %v", err)
	}
	t.Logf("bad armor ticket: %v", err)

	// bob must use FAST: unarmored he is told so, with the KDC's reason;
	// armored he gets in, and his TGS requests must stay armored.
	_, err = c.ASExchange(ctx, bob, client.Password("bob's password 1"), client.ASOptions{})
	if !errors.Is(err, client.ErrFASTRequired) || !errors.As(err, &ke) || !strings.Contains(ke.Reason, "FAST armor is required") {
		t.Fatalf("fast-required user without armor: %v", err)
	}
	bobTGT, err := c.ASExchange(ctx, bob, client.Password("bob's password 1"), client.ASOptions{Armor: machine})
	if err != nil {
		t.Fatalf("fast-required user with armor: %v", err)
	}
	if _, err := c.TGSExchange(ctx, bobTGT, web, client.TGSOptions{}); err != nil {
		t.Errorf("fast-required user's armored TGS: %v", err)
	}
	if _, err := c.TGSExchange(ctx, bobTGT, web, client.TGSOptions{FAST: client.FASTOff}); krb5.CodeOf(err) != krb5.KDCErrPolicy {
		t.Errorf("fast-required user's unarmored TGS: %v", err)
	}
}

// warden kinit with FAST armor against MIT, through the CLI, and MIT's
// tools with the caches it writes: MIT kinit -T takes warden's computer
// cache as armor, MIT klist and kvno use warden's FAST TGT.
func TestWardenKinitArmoredWithMIT(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "klist", "kvno")
	kdc, compKT, svcKT := mitFASTRealm(t)
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.ccache")
	armorCache := filepath.Join(dir, "armor.ccache")
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(mitPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", kdc.WriteClientConf(kdc.Addr()))
	t.Setenv("KRB5CCNAME", "FILE:"+ours)
	mitEnv := func(cache string, extra ...string) []string {
		return cLocaleEnv(append(append(kdc.Env(), "KRB5CCNAME=FILE:"+cache), extra...))
	}
	fastSvc := fastService + "@" + mitRealm

	// The computer's TGT from its keytab, then alice armored with it
	// (--armor-ccache, MIT's -T).
	mustWardenCLI(t, "kinit", "-k", compKT, "-c", "FILE:"+armorCache, fastComputer)
	mustWardenCLI(t, "kinit", "-T", "FILE:"+armorCache, "--password-file", pwFile, mitUser)
	cache, err := ccache.Load(ours)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := cache.Config(client.FASTAvailKey, "krbtgt/"+mitRealm+"@"+mitRealm); !ok || string(v) != "yes" {
		t.Errorf("no fast_avail in warden's cache after an armored kinit")
	}
	tgt, err := client.TGTFromCache(cache, mitRealm)
	if err != nil {
		t.Fatal(err)
	}
	if ind := indicators(t, svcKT, tgt.Ticket); len(ind) != 1 || ind[0] != fastIndicator {
		t.Errorf("TGT from warden kinit -T has indicators %q: MIT saw no encrypted challenge", ind)
	}
	// warden kvno, armored, for the service that requires the indicator.
	if out := mustWardenCLI(t, "kvno", fastService); out != fastSvc+": kvno = 1\n" {
		t.Errorf("warden kvno printed %q", out)
	}
	// MIT's tools with warden's caches: klist lists, kvno gets a ticket
	// with the FAST TGT (MIT armors every TGS request).
	if out := runMIT(t, mitEnv(ours), "klist"); !containsAll(out, []string{"Default principal: " + mitUser + "@" + mitRealm, fastSvc}) {
		t.Errorf("MIT klist of warden's cache:\n%s", out)
	}
	runMIT(t, mitEnv(ours), "kvno", "-S", "HTTP", "fast.mit.test")

	// --armor-keytab does both steps in one command.
	os.Remove(ours)
	mustWardenCLI(t, "kinit", "--armor-keytab", compKT, "--password-file", pwFile, mitUser)
	if out := mustWardenCLI(t, "kvno", fastService); out != fastSvc+": kvno = 1\n" {
		t.Errorf("warden kvno after --armor-keytab printed %q", out)
	}

	// MIT kinit -T with the computer cache warden wrote: MIT's own FAST
	// client accepts it as armor, reads its fast_avail (from the FAST
	// negotiation of warden's unarmored computer login) to armor from the
	// first request, and its trace shows FAST and the encrypted challenge.
	mitCache := filepath.Join(dir, "mit.ccache")
	p, err := testkit.LookPath("kinit")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p, "-T", "FILE:"+armorCache, mitUser)
	cmd.Env = mitEnv(mitCache, "KRB5_TRACE=/dev/stdout")
	cmd.Stdin = strings.NewReader(mitPassword + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !containsAll(string(out), []string{"Using FAST due to armor ccache negotiation result",
		"Encoding request body and padata into FAST request", "Decoding FAST response",
		"Preauth module encrypted_challenge (138) (real) returned: 0/Success", "FAST reply key"}) {
		t.Errorf("MIT kinit -T with warden's armor cache: %v\n%s", err, out)
	}

	// A wrong password through the CLI, armored.
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("wrong password\n"), 0o600)
	code, _, errOut := wardenCLI(t, "kinit", "-T", "FILE:"+armorCache, "--password-file", bad, mitUser)
	if code != 1 || !strings.Contains(errOut, "warden: error: password incorrect for "+mitUser+"@"+mitRealm+": KDC_ERR_PREAUTH_FAILED") {
		t.Errorf("armored wrong password: %d\n%s", code, errOut)
	}
}

// ticketCount is the number of tickets in c, not counting configuration
// entries such as fast_avail.
func ticketCount(c *ccache.Cache) int {
	n := 0
	for _, cr := range c.Credentials {
		if !cr.IsConfig() {
			n++
		}
	}
	return n
}

// BenchmarkFASTClient measures armored exchanges end to end with this
// client, against MIT's krb5kdc and Warden's KDC on this machine: an
// armored AS exchange (two round trips: PREAUTH_REQUIRED inside the
// armor, then the encrypted challenge) and an armored TGS exchange
// (implicit armor). The user's key comes from a keytab so that the
// client's string-to-key does not dominate. Both KDCs and the client
// share the machine's cores: compare the two rows, not absolute rates.
func BenchmarkFASTClient(b *testing.B) {
	type target struct {
		c       *client.Client
		machine *client.Credentials
		user    krb5.PrincipalName
		keys    client.KeySource
		svc     krb5.PrincipalName
	}
	targets := map[string]func(b *testing.B) target{
		"mit": func(b *testing.B) target {
			kdc, compKT, _ := mitFASTRealm(b)
			userKT := filepath.Join(b.TempDir(), "alice.keytab")
			kdc.ExportKeytab(b, userKT, mitUser)
			cfg, err := client.LoadKrb5Conf(kdc.WriteClientConf(kdc.Addr()))
			if err != nil {
				b.Fatal(err)
			}
			c, err := client.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			kt, err := keytab.Load(userKT)
			if err != nil {
				b.Fatal(err)
			}
			return target{c, computerTGT(b, c, compKT), aliceName, client.Keytab(kt), krb5.NewPrincipalName(krb5.NameTypeSrvHst, mitService)}
		},
		"warden": func(b *testing.B) target {
			r, c, compKT, _ := wardenFASTRealm(b)
			kt, _, err := r.Admin.Keytab(b.Context(), "alice", false)
			if err != nil {
				b.Fatal(err)
			}
			ckt, err := keytab.Load(compKT)
			if err != nil {
				b.Fatal(err)
			}
			machine, err := c.ASExchange(b.Context(), krb5.NewPrincipalName(krb5.NameTypePrincipal, "WS01$"), client.Keytab(ckt), client.ASOptions{})
			if err != nil {
				b.Fatal(err)
			}
			return target{c, machine, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), client.Keytab(kt),
				krb5.NewPrincipalName(krb5.NameTypeSrvHst, "HTTP/web.warden.test")}
		},
	}
	for _, name := range []string{"mit", "warden"} {
		b.Run(name, func(b *testing.B) {
			testkit.RequirePeer(b, "krb5kdc", "kdb5_util", "kadmin.local")
			tg := targets[name](b)
			ctx := context.Background()
			tgt, err := tg.c.ASExchange(ctx, tg.user, tg.keys, client.ASOptions{Armor: tg.machine})
			if err != nil {
				b.Fatal(err)
			}
			b.Run("armored-as", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := tg.c.ASExchange(ctx, tg.user, tg.keys, client.ASOptions{Armor: tg.machine}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			b.Run("armored-tgs", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := tg.c.TGSExchange(ctx, tgt, tg.svc, client.TGSOptions{FAST: client.FASTOn}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}
