package interop

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/krb5/keytab"
)

// BenchmarkFASTKDC compares the armored throughput of the two KDCs, MIT's
// krb5kdc and Warden's, on this machine: the requests are built before
// the clock runs (every one fresh: own armor subkey and nonce, so that
// neither KDC's lookaside cache answers it), then sent over UDP by two
// workers that only check the answer's message type. What is timed is
// thus the KDCs' work plus loopback UDP, not a client library's.
//
//   - armored-as: one whole armored AS conversation (RFC 6113), two round
//     trips: the armored request without pre-authentication
//     (PREAUTH_REQUIRED inside FAST), then the one with the encrypted
//     challenge (AS-REP with the KDC challenge and a strengthened key).
//   - armored-tgs: a TGS-REQ with implicit FAST armor, as MIT kvno sends.
//
// Compare the rows of one run: both KDCs and the workers share the
// machine's cores.
func BenchmarkFASTKDC(b *testing.B) {
	testkit.RequirePeer(b, "krb5kdc", "kdb5_util", "kadmin.local")
	for _, name := range []string{"mit", "warden"} {
		b.Run(name, func(b *testing.B) {
			tg := fastBenchTarget(b, name)
			b.Run("armored-as", func(b *testing.B) {
				tg.run(b, func() [][]byte { r1, r2 := tg.asConversation(b); return [][]byte{r1, r2} },
					[]krb5.MsgType{krb5.MsgKRBError, krb5.MsgASRep})
			})
			b.Run("armored-tgs", func(b *testing.B) {
				tg.run(b, func() [][]byte { return [][]byte{tg.armoredTGS(b)} }, []krb5.MsgType{krb5.MsgTGSRep})
			})
		})
	}
}

// fastTarget is a KDC with what the requests are built from.
type fastTarget struct {
	addr    string
	realm   string
	machine *client.Credentials // the armor TGT
	user    *client.Credentials // the user's TGT, for TGS requests
	cname   krb5.PrincipalName
	userKey *kcrypto.Key // the user's long-term key (encrypted challenge)
	service krb5.PrincipalName
}

func fastBenchTarget(b *testing.B, name string) *fastTarget {
	const pw = "bench password 1"
	var (
		addr, realm string
		cfg         client.Config
		machineKT   *keytab.Keytab
		userKT      *keytab.Keytab
		machineName krb5.PrincipalName
		svc         = krb5.NewPrincipalName(krb5.NameTypeSrvHst, "HTTP/bench.test")
	)
	dir := b.TempDir()
	load := func(p string) *keytab.Keytab {
		kt, err := keytab.Load(p)
		if err != nil {
			b.Fatal(err)
		}
		return kt
	}
	switch name {
	case "mit":
		realm = "BENCH.TEST"
		m := testkit.StartMITKDC(b, realm)
		m.AddPrincipal(b, "alice", pw)
		m.AddRandKey(b, "host/ws01.bench.test")
		m.AddRandKey(b, "HTTP/bench.test")
		m.ExportKeytab(b, filepath.Join(dir, "ws01.kt"), "host/ws01.bench.test")
		m.ExportKeytab(b, filepath.Join(dir, "alice.kt"), "alice")
		machineKT, userKT = load(filepath.Join(dir, "ws01.kt")), load(filepath.Join(dir, "alice.kt"))
		machineName = krb5.NewPrincipalName(krb5.NameTypeSrvHst, "host/ws01.bench.test")
		addr = m.Addr()
	default:
		realm = wardenRealm
		r := testkit.NewRealm(b, realm)
		r.AddUser(b, "alice", pw, admin.UserOptions{})
		r.AddService(b, "HTTP/bench.test", admin.ServiceOptions{})
		ctx := b.Context()
		if _, err := r.Admin.AddComputer(ctx, "ws01", admin.KeyOptions{}); err != nil {
			b.Fatal(err)
		}
		mk, _, err := r.Admin.Keytab(ctx, "WS01$", false)
		if err != nil {
			b.Fatal(err)
		}
		uk, _, err := r.Admin.Keytab(ctx, "alice", false)
		if err != nil {
			b.Fatal(err)
		}
		machineKT, userKT = mk, uk
		machineName = krb5.NewPrincipalName(krb5.NameTypePrincipal, "WS01$")
		addr = testkit.StartKDC(b, r, kdc.Config{}, kdc.ServeConfig{}).Addr
	}
	cfg = client.Config{Realm: realm, KDCs: map[string][]string{realm: {addr}}}
	c, err := client.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	machine, err := c.ASExchange(ctx, machineName, client.Keytab(machineKT), client.ASOptions{})
	if err != nil {
		b.Fatalf("%s: computer TGT: %v", name, err)
	}
	cname := krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice")
	user, err := c.ASExchange(ctx, cname, client.Keytab(userKT), client.ASOptions{Armor: machine})
	if err != nil {
		b.Fatalf("%s: user TGT: %v", name, err)
	}
	var uk *kcrypto.Key
	for _, e := range userKT.Entries {
		if e.Key.KeyType == krb5.ETypeAES256CTSHMACSHA196 {
			uk, _ = kcrypto.NewKey(e.Key, kcrypto.Options{})
		}
	}
	if uk == nil {
		b.Fatal("no aes256 key for alice")
	}
	return &fastTarget{addr: addr, realm: realm, machine: machine, user: user, cname: cname, userKey: uk, service: svc}
}

// run times sending batches of fresh requests: build makes the requests
// of one operation, want is the message type each answer must have.
func (tg *fastTarget) run(b *testing.B, build func() [][]byte, want []krb5.MsgType) {
	const batch = 256
	var ops [][][]byte
	done := 0
	for b.Loop() {
		if len(ops) == 0 {
			b.StopTimer()
			for range batch {
				ops = append(ops, build())
			}
			b.StartTimer()
		}
		// Two workers per operation would serialise on the rounds of
		// one conversation; instead two operations run at once.
		n := min(2, len(ops))
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func(reqs [][]byte) {
				defer wg.Done()
				for j, req := range reqs {
					if mt, err := sendUDP(tg.addr, req); err != nil {
						b.Error(err)
					} else if mt != want[j] {
						b.Errorf("answer %d is %v, want %v", j, mt, want[j])
					}
				}
			}(ops[i])
		}
		wg.Wait()
		ops = ops[n:]
		done += n
	}
	// An iteration runs two operations at once; per operation is what
	// compares.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/operation")
}

// sendUDP sends one request and returns the answer's message type.
func sendUDP(addr string, req []byte) (krb5.MsgType, error) {
	rep, err := testkit.AskUDP(addr, req, 5*time.Second)
	if err != nil {
		return 0, err
	}
	mt, _ := krb5.MessageType(rep)
	return mt, nil
}

func benchNonce() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:]) & 0x7fffffff
}

// apReq makes an AP-REQ with tgt and a fresh subkey; checksum, when set,
// goes in the authenticator.
func apReq(b *testing.B, tgt *client.Credentials, usage kcrypto.Usage, checksum *krb5.Checksum) ([]byte, *kcrypto.Key, *kcrypto.Key) {
	sess, err := kcrypto.NewKey(tgt.Key, kcrypto.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sub, _ := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	ek := sub.EncryptionKey()
	now := time.Now()
	auth := krb5.Authenticator{CRealm: tgt.Client.Realm, CName: tgt.Client.Name, Cksum: checksum,
		CTime: now.UTC().Truncate(time.Second), CUSec: int32(now.Nanosecond() / 1000), Subkey: &ek}
	ab, _ := auth.Marshal()
	ed, _ := sess.EncryptData(rand.Reader, usage, ab, 0, false)
	ap := krb5.APReq{Ticket: tgt.Ticket, Authenticator: ed}
	der, _ := ap.Marshal()
	return der, sub, sess
}

// fastPAData is PA-FX-FAST carrying body and padata under armorKey, with
// the req-checksum over checksummed.
func fastPAData(armorKey *kcrypto.Key, armor *krb5.KrbFastArmor, checksummed []byte, body krb5.KDCReqBody, padata krb5.MethodData) krb5.PAData {
	inner := krb5.KrbFastReq{PAData: padata, ReqBody: body}
	plain, _ := inner.Marshal()
	enc, _ := armorKey.EncryptData(rand.Reader, kcrypto.UsageFastEnc, plain, 0, false)
	ck, _ := armorKey.Checksum(kcrypto.UsageFastReqChecksum, checksummed)
	pa, _ := krb5.FastArmoredReq{Armor: armor, ReqChecksum: ck, EncFastReq: enc}.PAData()
	return pa
}

// asConversation builds the two requests of one armored AS conversation
// (one armor): without pre-authentication, then with the encrypted
// challenge.
func (tg *fastTarget) asConversation(b *testing.B) ([]byte, []byte) {
	apDER, sub, sess := apReq(b, tg.machine, kcrypto.UsageAPReqAuthenticator, nil)
	armorKey, _ := kcrypto.CF2(sub, sess, "subkeyarmor", "ticketarmor")
	armor := &krb5.KrbFastArmor{ArmorType: krb5.ArmorAPRequest, ArmorValue: apDER}
	req := func(padata krb5.MethodData) []byte {
		body := krb5.KDCReqBody{KDCOptions: krb5.KDCOptForwardable, CName: &tg.cname, Realm: tg.realm,
			SName: &krb5.PrincipalName{NameType: krb5.NameTypeSrvInst, NameString: []string{"krbtgt", tg.realm}},
			Till:  time.Now().Add(10 * time.Hour), Nonce: benchNonce(), EType: []krb5.EncType{krb5.ETypeAES256CTSHMACSHA196}}
		bodyDER, _ := body.Marshal()
		r := krb5.KDCReq{MsgType: krb5.MsgASReq, ReqBody: body,
			PAData: krb5.MethodData{fastPAData(armorKey, armor, bodyDER, body, padata)}}
		out, _ := r.Marshal()
		return out
	}
	ck, _ := kcrypto.CF2(armorKey, tg.userKey, "clientchallengearmor", "challengelongterm")
	now := time.Now()
	ts := krb5.PAEncTSEnc{PATimestamp: now.UTC().Truncate(time.Second), PAUSec: int32(now.Nanosecond() / 1000), HasUSec: true}
	tsDER, _ := ts.Marshal()
	ed, _ := ck.EncryptData(rand.Reader, kcrypto.UsageEncChallengeClient, tsDER, 0, false)
	return req(krb5.MethodData{}), req(krb5.MethodData{krb5.EncryptedChallengePAData(ed)})
}

// armoredTGS builds a TGS-REQ for the service with implicit armor.
func (tg *fastTarget) armoredTGS(b *testing.B) []byte {
	body := krb5.KDCReqBody{Realm: tg.realm, SName: &tg.service, Till: time.Now().Add(time.Hour),
		Nonce: benchNonce(), EType: []krb5.EncType{krb5.ETypeAES256CTSHMACSHA196}}
	bodyDER, _ := body.Marshal()
	sess, _ := kcrypto.NewKey(tg.user.Key, kcrypto.Options{})
	cksum, _ := sess.Checksum(kcrypto.UsageTGSReqAuthCksum, bodyDER)
	apDER, sub, _ := apReq(b, tg.user, kcrypto.UsageTGSReqAuthenticator, &cksum)
	armorKey, _ := kcrypto.CF2(sub, sess, "subkeyarmor", "ticketarmor")
	r := krb5.KDCReq{MsgType: krb5.MsgTGSReq, ReqBody: body, PAData: krb5.MethodData{
		{Type: krb5.PATGSReq, Value: apDER}, fastPAData(armorKey, nil, apDER, body, krb5.MethodData{})}}
	out, _ := r.Marshal()
	return out
}
