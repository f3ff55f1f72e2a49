package kdc_test

import (
	"context"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/store"
)

// Every refusal of an armored AS-REQ: code, reason, and whether it came
// inside the tunnel (only once the armor key is known and the KrbFastReq
// opened can the KDC answer inside it).
func TestFASTASRefusals(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(e *env)
		armor      func(e *env, p *armorParts)
		req        func(e *env, a fastArmor) []byte
		wantCode   krb5.ErrorCode
		wantReason string
		wrapped    bool
	}{
		{name: "bad armor ticket", armor: func(e *env, p *armorParts) { p.ticket.EncPart.Cipher[30] ^= 1 },
			wantCode: krb5.KRBAPErrBadIntegrity, wantReason: "FAST armor TGT does not decrypt with the realm's krbtgt key (forged, or from another KDC)"},
		{name: "armor ticket for another realm", armor: func(e *env, p *armorParts) {
			p.ticket.SName = *pn("krbtgt/OTHER.TEST")
			p.ticket.Realm = "OTHER.TEST"
		}, wantCode: krb5.KRBAPErrNotUs, wantReason: "FAST armor ticket is for krbtgt/OTHER.TEST@OTHER.TEST, not krbtgt/TEST.WARDEN: armor must be a TGT of this realm"},
		{name: "armor ticket is a service ticket", armor: func(e *env, p *armorParts) { p.ticket.SName = *pn(service) },
			wantCode: krb5.KRBAPErrNotUs, wantReason: "FAST armor ticket is for HTTP/web.test.warden@TEST.WARDEN, not krbtgt/TEST.WARDEN: armor must be a TGT of this realm"},
		{name: "armor without subkey", armor: func(e *env, p *armorParts) { p.noSubkey = true },
			wantCode: krb5.KDCErrPolicy, wantReason: "FAST armor authenticator carries no subkey (RFC 6113 requires one)"},
		{name: "armor authenticator for someone else", armor: func(e *env, p *armorParts) { p.auth.CName = *pn("alice") },
			wantCode: krb5.KRBAPErrBadMatch, wantReason: "FAST armor authenticator names alice@TEST.WARDEN but the armor TGT is for WS01$@TEST.WARDEN"},
		{name: "armor clock skew", armor: func(e *env, p *armorParts) { p.auth.CTime = t0.Add(-10 * time.Minute) },
			wantCode: krb5.KRBAPErrSkew, wantReason: "FAST armor: client clock is 10m0s behind the KDC (client 2026-11-23T11:50:00Z, KDC 2026-11-23T12:00:00Z, allowed 5m0s)"},
		{name: "armor of an unknown type", armor: func(e *env, p *armorParts) { p.typ = 2 },
			wantCode: krb5.KDCErrPreauthFailed, wantReason: "unknown FAST armor type 2 (this KDC accepts FX_FAST_ARMOR_AP_REQUEST, 1)"},
		{name: "no armor", req: func(e *env, a fastArmor) []byte { return e.armorAS(e.asReq("alice"), a, fastReq{noArmor: true}) },
			wantCode: krb5.KDCErrPreauthFailed, wantReason: "armored AS-REQ without armor: FAST in the AS exchange needs an AP-REQ armor on a TGT of this realm"},
		{name: "armor account disabled", setup: func(e *env) { e.setFlags("WS01$", store.FlagDisabled) },
			wantCode: krb5.KDCErrClientRevoked, wantReason: "FAST armor: account WS01$@TEST.WARDEN is disabled"},
		{name: "armor account deleted", setup: func(e *env) { _ = e.r.Admin.Delete(context.Background(), "WS01$") },
			wantCode: krb5.KDCErrTGTRevoked, wantReason: "the account of the FAST armor TGT (WS01$@TEST.WARDEN) no longer exists"},
		{name: "wrong req-checksum", req: func(e *env, a fastArmor) []byte { return e.armorAS(e.asReq("alice"), a, fastReq{badCksum: true}) },
			wantCode: krb5.KRBAPErrModified, wantReason: "FAST req-checksum does not verify with the armor key: the request was altered or the armor is not the client's"},
		{name: "outer body altered", req: func(e *env, a fastArmor) []byte {
			b := e.armorAS(e.asReq("alice"), a, fastReq{})
			var r krb5.KDCReq
			_ = r.Unmarshal(b)
			r.ReqBody.Nonce++
			out, _ := r.Marshal()
			return out
		}, wantCode: krb5.KRBAPErrModified, wantReason: "FAST req-checksum does not verify with the armor key: the request was altered or the armor is not the client's"},
		{name: "KrbFastReq under another key", req: func(e *env, a fastArmor) []byte { return e.armorAS(e.asReq("alice"), a, fastReq{wrongKey: true}) },
			wantCode: krb5.KRBAPErrBadIntegrity, wantReason: "FAST enc-fast-req does not decrypt with the armor key"},
		{name: "malformed PA-FX-FAST", req: func(e *env, a fastArmor) []byte {
			r := e.asReq("alice")
			r.padata = krb5.MethodData{{Type: krb5.PAFXFast, Value: []byte{0xa0, 0x02, 0x30, 0x00}}}
			return r.bytes()
		}, wantCode: krb5.KDCErrPreauthFailed, wantReason: "PA-FX-FAST is malformed"},
		{name: "unknown critical option", req: func(e *env, a fastArmor) []byte {
			return e.armorAS(e.asReq("alice"), a, fastReq{opts: krb5.Bit(3)})
		}, wantCode: krb5.KDCErrUnknownCriticalFastOptions, wantReason: "unknown critical FAST options 0x10000000 (this KDC knows hide-client-names only)", wrapped: true},
		{name: "non-critical option ignored", req: func(e *env, a fastArmor) []byte {
			return e.armorAS(e.asReq("alice"), a, fastReq{opts: krb5.FastOptKDCFollowReferrals})
		}, wantCode: krb5.KDCErrPreauthRequired, wantReason: "pre-authentication required", wrapped: true},
		{name: "challenge under another enctype", req: func(e *env, a fastArmor) []byte {
			lt := userKey(e.t, "alice", alicePW, aes128s2)
			ck := userKey(e.t, "x", "y", aes128s2) // an aes128 "armor" key
			return e.armorAS(e.asReq("alice"), a, fastReq{innerPA: krb5.MethodData{encChallenge(e.t, ck, lt, t0)}})
		}, wantCode: krb5.KDCErrPreauthFailed, wantReason: "PA-ENCRYPTED-CHALLENGE is encrypted with aes128-cts-hmac-sha256-128, but the armor key (and so the challenge key) is aes256-cts-hmac-sha1-96", wrapped: true},
		{name: "challenge clock skew", req: func(e *env, a fastArmor) []byte {
			lt := userKey(e.t, "alice", alicePW, aes256)
			return e.armorAS(e.asReq("alice"), a, fastReq{innerPA: krb5.MethodData{encChallenge(e.t, a.key, lt, t0.Add(6*time.Minute))}})
		}, wantCode: krb5.KRBAPErrSkew, wantReason: "client clock is 6m0s ahead of the KDC (client 2026-11-23T12:06:00Z, KDC 2026-11-23T12:00:00Z, allowed 5m0s)", wrapped: true},
		{name: "inner request for an unknown client", req: func(e *env, a fastArmor) []byte { return e.armorAS(e.asReq("nobody"), a, fastReq{}) },
			wantCode: krb5.KDCErrCPrincipalUnknown, wantReason: "client nobody@TEST.WARDEN not found", wrapped: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctgt := e.computerTGT()
			var mut func(*armorParts)
			if tc.armor != nil {
				mut = func(p *armorParts) { tc.armor(e, p) }
			}
			a := e.newArmor(ctgt, mut)
			if tc.setup != nil {
				tc.setup(e)
				e.refresh()
			}
			req := e.armorAS(e.asReq("alice"), a, fastReq{})
			if tc.req != nil {
				req = tc.req(e, a)
			}
			checkFASTRefusal(t, e, req, a, tc.wantCode, tc.wantReason, tc.wrapped)
		})
	}
}

// checkFASTRefusal sends req and checks the error, opening the tunnel
// when it is expected to be there.
func checkFASTRefusal(t *testing.T, e *env, req []byte, a fastArmor, code krb5.ErrorCode, reason string, wrapped bool) {
	t.Helper()
	ke, _, res := e.handle(req)
	if ke == nil {
		t.Fatalf("request succeeded (%+v)", res)
	}
	if ke.ErrorCode != code {
		t.Errorf("outer code %v, want %v", ke.ErrorCode, code)
	}
	got := ke
	if wrapped {
		got, _ = fastError(t, ke, a.key)
		if !res.FAST {
			t.Error("Result.FAST not set")
		}
	} else if md, err := ke.MethodData(); err == nil {
		if _, ok := md.Find(krb5.PAFXFast); ok {
			t.Error("answered inside the tunnel")
		}
	}
	if got.ErrorCode != code || got.EText != reason {
		t.Errorf("got %v %q\nwant %v %q", got.ErrorCode, got.EText, code, reason)
	}
	if res.Code != code {
		t.Errorf("Result.Code %v", res.Code)
	}
}

// A TGT from another KDC (another realm's krbtgt key, same realm name)
// does not armor.
func TestFASTArmorFromAnotherKDC(t *testing.T) {
	e, other := newEnv(t), newEnv(t)
	a := other.newArmor(other.computerTGT(), nil)
	e.computerTGT()
	checkFASTRefusal(t, e, e.armorAS(e.asReq("alice"), a, fastReq{}), a, krb5.KRBAPErrBadIntegrity,
		"FAST armor TGT does not decrypt with the realm's krbtgt key (forged, or from another KDC)", false)
}

// The armor TGT expires like any TGT.
func TestFASTArmorExpired(t *testing.T) {
	e := newEnv(t)
	ctgt := e.computerTGT()
	e.clock.Set(t0.Add(9 * time.Hour))
	a := e.newArmor(ctgt, nil)
	checkFASTRefusal(t, e, e.armorAS(e.asReq("alice"), a, fastReq{}), a, krb5.KRBAPErrTktExpired,
		"FAST armor TGT expired at 2026-11-23T20:00:00Z", false)
}

// cookieRound1 runs the first armored round for name and returns the
// cookie the KDC handed out.
func (e *env) cookieRound1(a fastArmor, name string) krb5.PAData {
	e.t.Helper()
	ke, _, _ := e.handle(e.armorAS(e.asReq(name), a, fastReq{}))
	if ke == nil {
		e.t.Fatal("round 1 succeeded")
	}
	_, resp := fastError(e.t, ke, a.key)
	c, ok := resp.PAData.Find(krb5.PAFXCookie)
	if !ok {
		e.t.Fatal("no cookie")
	}
	return *c
}

// The PA-FX-COOKIE binds a conversation: replayed into another armored
// conversation, for another client, after it expired, altered, or into an
// unarmored request (a downgrade), it is refused.
func TestFASTCookie(t *testing.T) {
	cases := []struct {
		name       string
		req        func(e *env, cookie krb5.PAData) ([]byte, fastArmor)
		at         time.Duration
		wantCode   krb5.ErrorCode
		wantReason string
		wrapped    bool
	}{
		{name: "same conversation", req: func(e *env, c krb5.PAData) ([]byte, fastArmor) {
			return e.armorAS(e.asReq("alice"), e.armorA, fastReq{innerPA: krb5.MethodData{c}}), e.armorA
		}, wantCode: krb5.KDCErrPreauthRequired, wantReason: "pre-authentication required", wrapped: true},
		{name: "replayed into another conversation", req: func(e *env, c krb5.PAData) ([]byte, fastArmor) {
			b := e.newArmor(e.computerTGT(), nil)
			lt := userKey(e.t, "alice", alicePW, aes256)
			return e.armorAS(e.asReq("alice"), b, fastReq{innerPA: krb5.MethodData{c, encChallenge(e.t, b.key, lt, t0)}}), b
		}, wantCode: krb5.KRBAPErrRepeat, wantReason: "the FAST cookie belongs to another armored conversation (another armor key): a replayed cookie", wrapped: true},
		{name: "replayed for another client", req: func(e *env, c krb5.PAData) ([]byte, fastArmor) {
			return e.armorAS(e.asReq("bob"), e.armorA, fastReq{innerPA: krb5.MethodData{c}}), e.armorA
		}, wantCode: krb5.KRBAPErrRepeat, wantReason: "the FAST cookie was issued to another client: a replayed cookie", wrapped: true},
		{name: "expired", at: 16 * time.Minute, req: func(e *env, c krb5.PAData) ([]byte, fastArmor) {
			b := e.newArmor(e.computerTGT(), nil)
			return e.armorAS(e.asReq("alice"), b, fastReq{innerPA: krb5.MethodData{c}}), b
		}, wantCode: krb5.KDCErrPreauthExpired, wantReason: "the FAST cookie expired (issued 2026-11-23T12:00:00Z, valid 15m0s)", wrapped: true},
		{name: "altered", req: func(e *env, c krb5.PAData) ([]byte, fastArmor) {
			c.Value = append([]byte(nil), c.Value...)
			c.Value[len(c.Value)-1] ^= 1
			return e.armorAS(e.asReq("alice"), e.armorA, fastReq{innerPA: krb5.MethodData{c}}), e.armorA
		}, wantCode: krb5.KRBAPErrModified, wantReason: "the FAST cookie was not sealed by this realm's KDC, or was altered", wrapped: true},
		{name: "downgrade: unarmored retry after armored", req: func(e *env, c krb5.PAData) ([]byte, fastArmor) {
			r := e.asReq("alice").withTimestamp(e.t, alicePW, t0)
			r.padata = append(r.padata, c)
			return r.bytes(), e.armorA
		}, wantCode: krb5.KDCErrPolicy, wantReason: "FAST downgrade refused: this conversation began armored, so the request must be armored too"},
		{name: "foreign cookie ignored", req: func(e *env, _ krb5.PAData) ([]byte, fastArmor) {
			mit := krb5.FXCookiePAData([]byte("MIT"))
			return e.armorAS(e.asReq("alice"), e.armorA, fastReq{innerPA: krb5.MethodData{mit}}), e.armorA
		}, wantCode: krb5.KDCErrPreauthRequired, wantReason: "pre-authentication required", wrapped: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.r.AddUser(t, "bob", "bob's password", admin.UserOptions{})
			e.armorA = e.newArmor(e.computerTGT(), nil)
			cookie := e.cookieRound1(e.armorA, "alice")
			e.clock.Set(t0.Add(tc.at))
			req, a := tc.req(e, cookie)
			checkFASTRefusal(t, e, req, a, tc.wantCode, tc.wantReason, tc.wrapped)
		})
	}
}
