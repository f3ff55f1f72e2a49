package interop

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/keytab"
)

const (
	mitRealm    = "MIT.TEST"
	mitUser     = "alice"
	mitPassword = "correct horse battery staple"
	mitService  = "host/svc.mit.test"
)

// TestMITMessages records a real MIT kinit + kvno conversation with a real
// MIT KDC and checks, for every message on the wire, that Warden decodes it
// and re-encodes the very same bytes, then opens every encrypted layer with
// Warden's crypto: the PA-ENC-TIMESTAMP and AS-REP with the user's
// string-to-key, the TGT with the krbtgt key, the TGS authenticator with
// the TGT session key (and its checksum over the raw req-body), the TGS-REP
// and the service ticket with the service key.
func TestMITMessages(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "kvno", "krb5kdc", "kdb5_util", "kadmin.local")
	kdc := testkit.StartMITKDC(t, mitRealm)
	kdc.AddPrincipal(t, mitUser, mitPassword)
	kdc.AddRandKey(t, mitService)
	ktPath := filepath.Join(t.TempDir(), "keys.keytab")
	kdc.ExportKeytab(t, ktPath, "krbtgt/"+mitRealm, mitService)
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}

	rec := startRecorder(t, kdc.Addr())
	env := append(kdc.Env(), "KRB5_CONFIG="+kdc.WriteClientConf(rec.Addr()))
	kdc.Kinit(t, env, mitUser, mitPassword)
	if out, errOut, err := kdc.Run(t, env, "kvno", mitService); err != nil {
		t.Fatalf("kvno: %v\n%s%s", err, out, errOut)
	}

	var (
		saltByEType = map[krb5.EncType]string{}
		userKey     *kcrypto.Key
		tgtSession  *kcrypto.Key
		sawASRep    bool
		sawTGSRep   bool
		sawFAST     bool
	)
	for i, ex := range rec.Exchanges() {
		req := mustRoundTripKDCReq(t, i, ex.Request)
		typ, _ := krb5.MessageType(ex.Reply)
		switch typ {
		case krb5.MsgKRBError:
			var ke krb5.KRBError
			mustRoundTrip(t, "KRB-ERROR", ex.Reply, &ke)
			if ke.ErrorCode != krb5.KDCErrPreauthRequired {
				t.Fatalf("exchange %d: MIT KDC error %v", i, ke.Err())
			}
			md, err := ke.MethodData()
			if err != nil {
				t.Fatalf("PREAUTH_REQUIRED e-data: %v", err)
			}
			pa, ok := md.Find(krb5.PAETypeInfo2)
			if !ok {
				t.Fatal("PREAUTH_REQUIRED without PA-ETYPE-INFO2")
			}
			var info krb5.ETypeInfo2
			mustRoundTrip(t, "ETYPE-INFO2", pa.Value, &info)
			for _, e := range info {
				saltByEType[e.EType] = e.Salt
			}
		case krb5.MsgASRep:
			sawASRep = true
			// The client proved itself with PA-ENC-TIMESTAMP under the key
			// derived from the password and the salt the KDC announced.
			pa, ok := req.PAData.Find(krb5.PAEncTimestamp)
			if !ok {
				t.Fatal("AS-REQ with preauth has no PA-ENC-TIMESTAMP")
			}
			var ed krb5.EncryptedData
			mustRoundTrip(t, "EncryptedData", pa.Value, &ed)
			salt, ok := saltByEType[ed.EType]
			if !ok {
				t.Fatalf("PA-ENC-TIMESTAMP uses %v, which ETYPE-INFO2 did not offer", ed.EType)
			}
			userKey, err = kcrypto.StringToKey(ed.EType, mitPassword, salt, nil, kcrypto.Options{})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := userKey.DecryptData(kcrypto.UsageASReqPAEncTimestamp, ed)
			if err != nil {
				t.Fatalf("decrypting MIT's PA-ENC-TIMESTAMP: %v", err)
			}
			var ts krb5.PAEncTSEnc
			mustRoundTrip(t, "PA-ENC-TS-ENC", plain, &ts)
			if d := time.Since(ts.PATimestamp); d < -time.Minute || d > time.Minute {
				t.Errorf("PA-ENC-TIMESTAMP %v is not now", ts.PATimestamp)
			}

			rep := mustRoundTripKDCRep(t, i, ex.Reply)
			plain, err = userKey.DecryptData(kcrypto.UsageASRepEncPart, rep.EncPart)
			if err != nil {
				t.Fatalf("decrypting MIT's AS-REP enc-part: %v", err)
			}
			var encPart krb5.EncKDCRepPart
			mustRoundTrip(t, "EncASRepPart", plain, &encPart)
			if encPart.Nonce != req.ReqBody.Nonce {
				t.Errorf("AS-REP nonce %d, request nonce %d", encPart.Nonce, req.ReqBody.Nonce)
			}
			tgtSession, err = kcrypto.NewKey(encPart.Key, kcrypto.Options{})
			if err != nil {
				t.Fatal(err)
			}
			etp := openTicket(t, kt, rep.Ticket)
			if !bytes.Equal(etp.Key.KeyValue, encPart.Key.KeyValue) || etp.CName.String() != mitUser {
				t.Errorf("TGT: session key or client (%s) differs from the AS-REP", etp.CName)
			}
			if !etp.Flags.Has(krb5.TktFlagInitial | krb5.TktFlagPreAuthent) {
				t.Errorf("TGT flags %#x lack initial|pre-authent", uint32(etp.Flags))
			}
		case krb5.MsgTGSRep:
			sawTGSRep = true
			if tgtSession == nil {
				t.Fatal("TGS exchange before the AS exchange")
			}
			pa, ok := req.PAData.Find(krb5.PATGSReq)
			if !ok {
				t.Fatal("TGS-REQ without PA-TGS-REQ")
			}
			var ap krb5.APReq
			mustRoundTrip(t, "AP-REQ", pa.Value, &ap)
			plain, err := tgtSession.DecryptData(kcrypto.UsageTGSReqAuthenticator, ap.Authenticator)
			if err != nil {
				t.Fatalf("decrypting MIT's TGS authenticator: %v", err)
			}
			var auth krb5.Authenticator
			mustRoundTrip(t, "Authenticator", plain, &auth)
			if auth.Cksum == nil {
				t.Fatal("TGS authenticator has no checksum")
			}
			rep := mustRoundTripKDCRep(t, i, ex.Reply)
			replyKey, usage := tgtSession, kcrypto.UsageTGSRepEncPartSessionKey
			if auth.Subkey != nil {
				if replyKey, err = kcrypto.NewKey(*auth.Subkey, kcrypto.Options{}); err != nil {
					t.Fatal(err)
				}
				usage = kcrypto.UsageTGSRepEncPartSubkey
			}
			body := req.ReqBody
			if _, armored := req.PAData.Find(krb5.PAFXFast); armored {
				sawFAST = true
				body, replyKey = openFASTTGS(t, req, rep, &ap, tgtSession, replyKey)
			}
			// The authenticator checksum covers the (inner) req-body exactly
			// as MIT encoded it.
			if err := tgtSession.VerifyChecksum(kcrypto.UsageTGSReqAuthCksum, body.Raw, *auth.Cksum); err != nil {
				t.Errorf("authenticator checksum over MIT's raw req-body: %v", err)
			}
			plain, err = replyKey.DecryptData(usage, rep.EncPart)
			if err != nil {
				t.Fatalf("decrypting MIT's TGS-REP enc-part: %v", err)
			}
			var encPart krb5.EncKDCRepPart
			mustRoundTrip(t, "EncTGSRepPart", plain, &encPart)
			if encPart.SName.String() != mitService || encPart.Nonce != body.Nonce {
				t.Errorf("TGS-REP for %s nonce %d, want %s nonce %d", encPart.SName, encPart.Nonce, mitService, body.Nonce)
			}
			etp := openTicket(t, kt, rep.Ticket)
			if etp.CName.String() != mitUser || !bytes.Equal(etp.Key.KeyValue, encPart.Key.KeyValue) {
				t.Errorf("service ticket: client %s or session key differs from the TGS-REP", etp.CName)
			}
		default:
			t.Fatalf("exchange %d: unexpected reply type %v", i, typ)
		}
	}
	t.Logf("MIT armored its TGS request with FAST: %v", sawFAST)
	if !sawASRep || !sawTGSRep {
		t.Fatalf("recorded no complete AS and TGS exchange (AS %v, TGS %v)", sawASRep, sawTGSRep)
	}
}

// openFASTTGS opens a TGS exchange that MIT armored with FAST using the
// TGT itself (RFC 6113 implicit armor): it derives the armor key with
// KRB-FX-CF2 from the authenticator subkey and the TGT session key,
// verifies the req-checksum over MIT's raw AP-REQ, decrypts the inner
// KrbFastReq, then opens the KDC's KrbFastResponse, checks its
// ticket checksum and returns the inner req-body and the strengthened
// reply key.
func openFASTTGS(t *testing.T, req *krb5.KDCReq, rep *krb5.KDCRep, ap *krb5.APReq, tgtSession, subkey *kcrypto.Key) (krb5.KDCReqBody, *kcrypto.Key) {
	t.Helper()
	pa, _ := req.PAData.Find(krb5.PAFXFast)
	var fr krb5.FastArmoredReq
	mustRoundTrip(t, "PA-FX-FAST request", pa.Value, &fr)
	if fr.Armor != nil {
		t.Fatal("TGS FAST request carries explicit armor; expected implicit armor")
	}
	armorKey, err := kcrypto.CF2(subkey, tgtSession, "subkeyarmor", "ticketarmor")
	if err != nil {
		t.Fatal(err)
	}
	if err := armorKey.VerifyChecksum(kcrypto.UsageFastReqChecksum, ap.Raw, fr.ReqChecksum); err != nil {
		t.Fatalf("FAST req-checksum over MIT's AP-REQ: %v", err)
	}
	plain, err := armorKey.DecryptData(kcrypto.UsageFastEnc, fr.EncFastReq)
	if err != nil {
		t.Fatalf("decrypting MIT's KrbFastReq: %v", err)
	}
	var inner krb5.KrbFastReq
	mustRoundTrip(t, "KrbFastReq", plain, &inner)

	rpa, ok := rep.PAData.Find(krb5.PAFXFast)
	if !ok {
		t.Fatal("FAST TGS-REP without PA-FX-FAST")
	}
	var far krb5.FastArmoredRep
	mustRoundTrip(t, "PA-FX-FAST reply", rpa.Value, &far)
	plain, err = armorKey.DecryptData(kcrypto.UsageFastRep, far.EncFastRep)
	if err != nil {
		t.Fatalf("decrypting MIT's KrbFastResponse: %v", err)
	}
	var resp krb5.KrbFastResponse
	mustRoundTrip(t, "KrbFastResponse", plain, &resp)
	if resp.Nonce != inner.ReqBody.Nonce || resp.StrengthenKey == nil || resp.Finished == nil {
		t.Fatalf("KrbFastResponse: nonce %d (want %d), strengthen-key %v, finished %v",
			resp.Nonce, inner.ReqBody.Nonce, resp.StrengthenKey != nil, resp.Finished != nil)
	}
	tktDER, _ := rep.Ticket.Marshal()
	if err := armorKey.VerifyChecksum(kcrypto.UsageFastFinished, tktDER, resp.Finished.TicketChecksum); err != nil {
		t.Errorf("KrbFastFinished ticket-checksum: %v", err)
	}
	strengthen, err := kcrypto.NewKey(*resp.StrengthenKey, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	replyKey, err := kcrypto.CF2(strengthen, subkey, "strengthenkey", "replykey")
	if err != nil {
		t.Fatal(err)
	}
	return inner.ReqBody, replyKey
}

// openTicket decrypts a ticket with the matching key from the keytab and
// checks that its plaintext re-encodes to the same bytes.
func openTicket(t *testing.T, kt *keytab.Keytab, tkt krb5.Ticket) krb5.EncTicketPart {
	t.Helper()
	entry, err := kt.Find(tkt.SName, tkt.Realm, tkt.EncPart.KVNO, tkt.EncPart.EType)
	if err != nil {
		t.Fatal(err)
	}
	key, err := kcrypto.NewKey(entry.Key, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := key.DecryptData(kcrypto.UsageTicket, tkt.EncPart)
	if err != nil {
		t.Fatalf("decrypting MIT's ticket for %s: %v", tkt.SName, err)
	}
	var etp krb5.EncTicketPart
	mustRoundTrip(t, "EncTicketPart", plain, &etp)
	return etp
}

type wireType interface {
	Unmarshal([]byte) error
	Marshal() ([]byte, error)
}

// mustRoundTrip decodes b into v and checks that re-encoding v's fields
// (with any Raw copy cleared, so the encoder really runs) gives b again.
func mustRoundTrip(t *testing.T, name string, b []byte, v wireType) {
	t.Helper()
	if err := v.Unmarshal(b); err != nil {
		t.Fatalf("%s from MIT does not decode: %v\n% x", name, err, b)
	}
	got, err := v.Marshal()
	if err != nil {
		t.Fatalf("%s re-marshal: %v", name, err)
	}
	if !bytes.Equal(got, b) {
		t.Fatalf("%s re-encodes differently:\nMIT:    % x\nWarden: % x", name, b, got)
	}
}

func mustRoundTripKDCReq(t *testing.T, i int, b []byte) *krb5.KDCReq {
	t.Helper()
	var req krb5.KDCReq
	mustRoundTrip(t, "KDC-REQ", b, &req)
	// Force a real re-encode of the body and tickets, not a Raw echo.
	body := req.ReqBody
	body.Raw = nil
	enc, _ := body.Marshal()
	if !bytes.Equal(enc, req.ReqBody.Raw) {
		t.Fatalf("exchange %d: KDC-REQ-BODY re-encodes differently:\nMIT:    % x\nWarden: % x", i, req.ReqBody.Raw, enc)
	}
	return &req
}

func mustRoundTripKDCRep(t *testing.T, i int, b []byte) *krb5.KDCRep {
	t.Helper()
	var rep krb5.KDCRep
	mustRoundTrip(t, "KDC-REP", b, &rep)
	tkt := rep.Ticket
	raw := tkt.Raw
	tkt.Raw = nil
	enc, _ := tkt.Marshal()
	if !bytes.Equal(enc, raw) {
		t.Fatalf("exchange %d: Ticket re-encodes differently:\nMIT:    % x\nWarden: % x", i, raw, enc)
	}
	return &rep
}
