package client

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// Fuzz targets for the client's handling of FAST answers: whatever a KDC
// (or anything pretending to be one) sends to an armored request must end
// in a clean error or a verified result, never a panic. The wire types
// have their own targets in krb5; these cover the client's unwrapping,
// decryption and checks on top of them.

const fuzzNonce = 0x1234567

// fuzzArmor is a fixed armor key, so that inputs decrypt reproducibly.
func fuzzArmor(tb testing.TB) *armor {
	k, err := kcrypto.NewKey(krb5.EncryptionKey{KeyType: krb5.ETypeAES256CTSHMACSHA196, KeyValue: bytes.Repeat([]byte{7}, 32)}, kcrypto.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return &armor{key: k}
}

// zeroRand makes the seeds' confounders deterministic.
type zeroRand struct{}

func (zeroRand) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// fuzzSeeds returns valid FAST response plaintexts: an error response
// with PA-FX-ERROR and hints, and a success response with finished,
// strengthen key and a KDC challenge.
func fuzzSeeds(tb testing.TB, a *armor) (errResp, okResp []byte, tkt krb5.Ticket) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	inner := krb5.KRBError{STime: now, ErrorCode: krb5.KDCErrPreauthRequired, Realm: testRealm, SName: TGTName(testRealm)}
	ib, _ := inner.Marshal()
	info := krb5.ETypeInfo2{{EType: krb5.ETypeAES256CTSHMACSHA196, Salt: testRealm + testUser, HasSalt: true}}
	er := krb5.KrbFastResponse{PAData: krb5.MethodData{krb5.FXErrorPAData(ib), info.PAData(),
		{Type: krb5.PAEncryptedChallenge, Value: []byte{}}, krb5.FXCookiePAData([]byte("cookie"))}, Nonce: fuzzNonce}
	errResp, _ = er.Marshal()

	tkt = krb5.Ticket{TktVNO: 5, Realm: testRealm, SName: TGTName(testRealm),
		EncPart: krb5.EncryptedData{EType: krb5.ETypeAES256CTSHMACSHA196, KVNO: 2, HasKVNO: true, Cipher: bytes.Repeat([]byte{9}, 64)}}
	tb2, _ := tkt.Marshal()
	sum, _ := a.key.Checksum(kcrypto.UsageFastFinished, tb2)
	sk := krb5.EncryptionKey{KeyType: krb5.ETypeAES256CTSHMACSHA196, KeyValue: bytes.Repeat([]byte{3}, 32)}
	ts := krb5.PAEncTSEnc{PATimestamp: now, PAUSec: 5, HasUSec: true}
	tsb, _ := ts.Marshal()
	ed, _ := a.key.EncryptData(zeroRand{}, kcrypto.UsageEncChallengeKDC, tsb, 0, false)
	ok := krb5.KrbFastResponse{PAData: krb5.MethodData{krb5.EncryptedChallengePAData(ed), info.PAData()}, StrengthenKey: &sk,
		Finished: &krb5.KrbFastFinished{Timestamp: now, CRealm: testRealm, CName: alice, TicketChecksum: sum}, Nonce: fuzzNonce}
	okResp, _ = ok.Marshal()
	return errResp, okResp, tkt
}

// armoredAnswers wraps a FAST response plaintext into the two answers a
// KDC can send: a KRB-ERROR with it in e-data, and an AS-REP with it in
// padata.
func armoredAnswers(tb testing.TB, a *armor, plain []byte, tkt krb5.Ticket) (krbErr, asRep []byte) {
	enc, err := a.key.EncryptData(zeroRand{}, kcrypto.UsageFastRep, plain, 0, false)
	if err != nil {
		tb.Fatal(err)
	}
	pa, _ := krb5.FastArmoredRep{EncFastRep: enc}.PAData()
	md := krb5.MethodData{pa}
	edata, _ := md.Marshal()
	ke := krb5.KRBError{STime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ErrorCode: krb5.KDCErrPreauthRequired,
		Realm: testRealm, SName: TGTName(testRealm), EData: edata}
	krbErr, _ = ke.Marshal()
	rep := krb5.KDCRep{MsgType: krb5.MsgASRep, PAData: md, CRealm: testRealm, CName: alice, Ticket: tkt,
		EncPart: krb5.EncryptedData{EType: krb5.ETypeAES256CTSHMACSHA196, Cipher: bytes.Repeat([]byte{1}, 48)}}
	asRep, _ = rep.Marshal()
	return krbErr, asRep
}

// fuzzAnswer runs the client's FAST checks on one KDC answer; every
// failure must be a typed error.
func fuzzAnswer(t *testing.T, a *armor, b []byte) {
	longTerm, _ := kcrypto.NewKey(krb5.EncryptionKey{KeyType: krb5.ETypeAES256CTSHMACSHA196, KeyValue: bytes.Repeat([]byte{5}, 32)}, kcrypto.Options{})
	switch mt, _ := krb5.MessageType(b); mt {
	case krb5.MsgKRBError:
		var ke krb5.KRBError
		if ke.Unmarshal(b) != nil {
			return
		}
		inner, md, err := a.openError(&ke, fuzzNonce)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if inner == nil {
			t.Fatal("openError: no error and no inner KRB-ERROR")
		}
		_, _ = chooseS2K(md, DefaultETypes, alice, testRealm)
	case krb5.MsgASRep, krb5.MsgTGSRep:
		var rep krb5.KDCRep
		if rep.Unmarshal(b) != nil {
			return
		}
		resp, err := a.openReply(&rep, fuzzNonce)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if resp.Finished == nil {
			t.Fatal("openReply accepted a response without finished")
		}
		if err := checkKDCChallenge(a, longTerm, rep.PAData, time.Now(), 5*time.Minute); err != nil {
			checkFuzzErr(t, err)
		}
		if _, err := strengthen(resp, longTerm, kcrypto.Options{}); err != nil {
			checkFuzzErr(t, err)
		}
	}
}

func checkFuzzErr(t *testing.T, err error) {
	var ke *krb5.Error
	if !errors.As(err, &ke) || ke.Code == 0 {
		t.Fatalf("untyped error %T: %v", err, err)
	}
}

// FuzzFASTAnswer feeds whole KDC answers (KRB-ERROR or KDC-REP bytes) to
// the FAST unwrapping of an armored exchange.
func FuzzFASTAnswer(f *testing.F) {
	a := fuzzArmor(f)
	errResp, okResp, tkt := fuzzSeeds(f, a)
	for _, plain := range [][]byte{errResp, okResp} {
		ke, rep := armoredAnswers(f, a, plain, tkt)
		f.Add(ke)
		f.Add(rep)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzAnswer(t, a, b) })
}

// FuzzFASTResponse fuzzes the decrypted KrbFastResponse: random bytes
// almost never decrypt, so this target encrypts its input in the armor
// key and sends it through the same checks as FuzzFASTAnswer.
func FuzzFASTResponse(f *testing.F) {
	a := fuzzArmor(f)
	errResp, okResp, tkt := fuzzSeeds(f, a)
	f.Add(errResp)
	f.Add(okResp)
	f.Fuzz(func(t *testing.T, plain []byte) {
		ke, rep := armoredAnswers(t, a, plain, tkt)
		fuzzAnswer(t, a, ke)
		fuzzAnswer(t, a, rep)
	})
}

// The seeds themselves pass the checks they are meant to reach, so the
// fuzzers start from inputs that go all the way through.
func TestFuzzSeedsReachTheEnd(t *testing.T) {
	a := fuzzArmor(t)
	errResp, okResp, tkt := fuzzSeeds(t, a)
	keB, _ := armoredAnswers(t, a, errResp, tkt)
	var ke krb5.KRBError
	if err := ke.Unmarshal(keB); err != nil {
		t.Fatal(err)
	}
	inner, md, err := a.openError(&ke, fuzzNonce)
	if err != nil || inner.ErrorCode != krb5.KDCErrPreauthRequired {
		t.Fatalf("error seed: %v", err)
	}
	if _, ok := md.Find(krb5.PAFXCookie); !ok {
		t.Error("error seed lost its cookie")
	}
	_, repB := armoredAnswers(t, a, okResp, tkt)
	var rep krb5.KDCRep
	if err := rep.Unmarshal(repB); err != nil {
		t.Fatal(err)
	}
	resp, err := a.openReply(&rep, fuzzNonce)
	if err != nil || resp.StrengthenKey == nil {
		t.Fatalf("reply seed: %v", err)
	}
}
