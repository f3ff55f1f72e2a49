package kdc_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// A FAST client written from RFC 6113 for the KDC's tests: it armors AS
// and TGS requests and opens the armored replies and errors. It is
// independent of krb5/client on purpose, so that the KDC is checked
// against the RFC rather than against our own client.

// computerTGT creates the computer WS01$ (once) and logs it in with its
// key: the TGT that armors users' requests.
func (e *env) computerTGT() tgt { e.t.Helper(); return e.computerTGTWith(0) }

// computerTGTWith logs WS01$ in with the KDC options opts.
func (e *env) computerTGTWith(opts krb5.Flags) tgt {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.r.Store.Account(ctx, "WS01$"); err != nil {
		if _, err := e.r.Admin.AddComputer(ctx, "ws01", admin.KeyOptions{}); err != nil {
			e.t.Fatal(err)
		}
		e.refresh()
	}
	key := e.signingKey("WS01$", aes256).Key
	now := e.clock.Now()
	ts := krb5.PAEncTSEnc{PATimestamp: now.Truncate(time.Second)}
	plain, _ := ts.Marshal()
	ed, _ := key.EncryptData(rand.Reader, kcrypto.UsageASReqPAEncTimestamp, plain, 0, false)
	v, _ := ed.Marshal()
	r := e.asReq("WS01$")
	r.etypes = []krb5.EncType{aes256}
	r.padata = krb5.MethodData{{Type: krb5.PAEncTimestamp, Value: v}}
	r.opts = opts
	ke, rep, res := e.handle(r.bytes())
	if ke != nil {
		e.t.Fatalf("computer login: %v %s (%s)", ke.ErrorCode, ke.EText, res.Detail)
	}
	var kr krb5.KDCRep
	if err := kr.Unmarshal(rep); err != nil {
		e.t.Fatal(err)
	}
	pt, err := key.DecryptData(kcrypto.UsageASRepEncPart, kr.EncPart)
	if err != nil {
		e.t.Fatal(err)
	}
	var part krb5.EncKDCRepPart
	if err := part.Unmarshal(pt); err != nil {
		e.t.Fatal(err)
	}
	sk, _ := kcrypto.NewKey(part.Key, kcrypto.Options{})
	return tgt{ticket: kr.Ticket, key: sk, part: part}
}

// armorParts is an AP-REQ armor under construction.
type armorParts struct {
	ticket   krb5.Ticket
	auth     krb5.Authenticator
	noSubkey bool
	typ      int32
}

// fastArmor is a built armor and the armor key it yields.
type fastArmor struct {
	armor *krb5.KrbFastArmor
	key   *kcrypto.Key // CF2(subkey, ticket session key)
}

// newArmor makes an FX_FAST_ARMOR_AP_REQUEST from the TGT tg; mutate may
// change the parts first.
func (e *env) newArmor(tg tgt, mutate func(*armorParts)) fastArmor {
	e.t.Helper()
	sub, _ := kcrypto.RandomKey(aes256, rand.Reader, kcrypto.Options{})
	subEK := sub.EncryptionKey()
	p := &armorParts{
		ticket: tg.ticket, typ: krb5.ArmorAPRequest,
		// The authenticator names the TGT's client.
		auth: krb5.Authenticator{CRealm: realm, CName: e.open(tg.ticket, "krbtgt").CName, CTime: e.clock.Now().Truncate(time.Second), Subkey: &subEK},
	}
	p.ticket.Raw = nil
	p.ticket.EncPart.Cipher = append([]byte(nil), p.ticket.EncPart.Cipher...)
	if mutate != nil {
		mutate(p)
	}
	if p.noSubkey {
		p.auth.Subkey = nil
	}
	ab, _ := p.auth.Marshal()
	encAuth, _ := tg.key.EncryptData(rand.Reader, kcrypto.UsageAPReqAuthenticator, ab, 0, false)
	ap := krb5.APReq{Ticket: p.ticket, Authenticator: encAuth}
	apb, _ := ap.Marshal()
	key, err := kcrypto.CF2(sub, tg.key, "subkeyarmor", "ticketarmor")
	if err != nil {
		e.t.Fatal(err)
	}
	return fastArmor{armor: &krb5.KrbFastArmor{ArmorType: p.typ, ArmorValue: apb}, key: key}
}

// fastReq is an armored request under construction: the inner request
// and what to do to the tunnel.
type fastReq struct {
	opts       krb5.Flags
	innerPA    krb5.MethodData
	noArmor    bool
	badCksum   bool
	wrongKey   bool
	innerBytes []byte // replaces the encoded KrbFastReq when set
}

// armorAS wraps the AS-REQ r in FAST with armor a.
func (e *env) armorAS(r *asReq, a fastArmor, f fastReq) []byte {
	e.t.Helper()
	body := krb5.KDCReqBody{
		KDCOptions: r.opts, CName: pn(r.cname), Realm: r.realm, SName: pn(r.sname),
		From: r.from, Till: r.till, Nonce: r.nonce, EType: r.etypes,
	}
	bodyDER, _ := body.Marshal()
	fr := e.sealFAST(a.key, bodyDER, body, f)
	if !f.noArmor {
		fr.Armor = a.armor
	}
	pa, _ := fr.PAData()
	req := krb5.KDCReq{MsgType: krb5.MsgASReq, PAData: krb5.MethodData{pa}, ReqBody: body}
	b, _ := req.Marshal()
	return b
}

// sealFAST builds the PA-FX-FAST-REQUEST: KrbFastReq under the armor key
// (usage 51) and the req-checksum over checksummed (usage 50).
func (e *env) sealFAST(key *kcrypto.Key, checksummed []byte, body krb5.KDCReqBody, f fastReq) krb5.FastArmoredReq {
	e.t.Helper()
	inner := krb5.KrbFastReq{FastOptions: f.opts, PAData: f.innerPA, ReqBody: body}
	if inner.PAData == nil {
		inner.PAData = krb5.MethodData{}
	}
	plain, _ := inner.Marshal()
	if f.innerBytes != nil {
		plain = f.innerBytes
	}
	encKey := key
	if f.wrongKey {
		encKey, _ = kcrypto.RandomKey(key.EType(), rand.Reader, kcrypto.Options{})
	}
	ed, _ := encKey.EncryptData(rand.Reader, kcrypto.UsageFastEnc, plain, 0, false)
	ck, _ := key.Checksum(kcrypto.UsageFastReqChecksum, checksummed)
	if f.badCksum {
		ck.Checksum[0] ^= 1
	}
	return krb5.FastArmoredReq{ReqChecksum: ck, EncFastReq: ed}
}

// userKey is alice's long-term key of enctype et (from her password).
func userKey(t testing.TB, name, pw string, et krb5.EncType) *kcrypto.Key {
	t.Helper()
	k, err := kcrypto.StringToKey(et, pw, realm+name, nil, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// encChallenge is the client's PA-ENCRYPTED-CHALLENGE: its time under
// CF2(armor key, long-term key, "clientchallengearmor", "challengelongterm").
func encChallenge(t testing.TB, armorKey, longTerm *kcrypto.Key, at time.Time) krb5.PAData {
	t.Helper()
	ck, err := kcrypto.CF2(armorKey, longTerm, "clientchallengearmor", "challengelongterm")
	if err != nil {
		t.Fatal(err)
	}
	ts := krb5.PAEncTSEnc{PATimestamp: at.Truncate(time.Second), PAUSec: int32(at.Nanosecond() / 1000), HasUSec: true}
	plain, _ := ts.Marshal()
	ed, _ := ck.EncryptData(rand.Reader, kcrypto.UsageEncChallengeClient, plain, 0, false)
	return krb5.EncryptedChallengePAData(ed)
}

// openFAST decrypts the KrbFastResponse in a reply's or error's padata.
func openFAST(t testing.TB, md krb5.MethodData, armorKey *kcrypto.Key) krb5.KrbFastResponse {
	t.Helper()
	pa, ok := md.Find(krb5.PAFXFast)
	if !ok {
		t.Fatalf("no PA-FX-FAST in %v", md)
	}
	var rep krb5.FastArmoredRep
	if err := rep.Unmarshal(pa.Value); err != nil {
		t.Fatal(err)
	}
	plain, err := armorKey.DecryptData(kcrypto.UsageFastRep, rep.EncFastRep)
	if err != nil {
		t.Fatalf("KrbFastResponse does not decrypt with the armor key: %v", err)
	}
	var resp krb5.KrbFastResponse
	if err := resp.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	return resp
}

// fastError opens an armored KRB-ERROR: the inner error and the
// response's padata.
func fastError(t testing.TB, ke *krb5.KRBError, armorKey *kcrypto.Key) (*krb5.KRBError, krb5.KrbFastResponse) {
	t.Helper()
	md, err := ke.MethodData()
	if err != nil {
		t.Fatalf("armored error e-data: %v (outer %v %q)", err, ke.ErrorCode, ke.EText)
	}
	if len(md) != 1 {
		t.Errorf("outer e-data carries %d elements, want PA-FX-FAST only", len(md))
	}
	resp := openFAST(t, md, armorKey)
	v, ok, err := krb5.FXErrorValue(resp.PAData)
	if !ok || err != nil {
		t.Fatalf("no PA-FX-ERROR in the FAST response (%v)", err)
	}
	var inner krb5.KRBError
	if err := inner.Unmarshal(v); err != nil {
		t.Fatal(err)
	}
	if inner.EData != nil {
		t.Error("the inner KRB-ERROR carries e-data")
	}
	return &inner, resp
}
