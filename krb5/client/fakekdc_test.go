package client

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

const (
	testRealm    = "TEST.REALM"
	testUser     = "alice"
	testPassword = "correct horse battery staple"
	testService  = "host/svc.test.realm"
)

// fakeKDC is a minimal KDC for unit tests: enough of RFC 4120 to answer
// the client's AS and TGS requests, with hooks that alter replies so that
// the client's checks can be exercised. It verifies what the client sends
// (timestamp usage and usec, authenticator checksum over the raw body) so
// that a wrong request fails the test rather than passing silently.
type fakeKDC struct {
	t              testing.TB
	realm          string
	now            func() time.Time
	requirePreauth bool
	krbtgt         *kcrypto.Key
	svcKeys        map[string]*kcrypto.Key

	mu        sync.Mutex
	users     map[string]bool
	userKeys  map[string]*kcrypto.Key // "name etype"
	seen      []seenReq
	asHook    func(rep *krb5.KDCRep, part *krb5.EncKDCRepPart)
	tgsHook   func(rep *krb5.KDCRep, part *krb5.EncKDCRepPart)
	errHook   func(req *krb5.KDCReq) *krb5.KRBError
	udpTooBig bool
	dropUDP   bool
	lastAuth  *krb5.Authenticator
	lastTS    *krb5.PAEncTSEnc

	// FAST (fakefast_test.go)
	fast           bool   // process PA-FX-FAST and advertise it
	requireFAST    bool   // unarmored AS requests get PREAUTH_REQUIRED offering only FAST
	cookie         []byte // PA-FX-COOKIE sent with PREAUTH_REQUIRED, required back
	noKDCChallenge bool
	fastHook       func(resp *krb5.KrbFastResponse, rep *krb5.KDCRep)
	fastErrHook    func(resp *krb5.KrbFastResponse)
	stripFAST      bool // answer armored requests without PA-FX-FAST
	stripFASTReply bool // the same, for replies only (errors stay armored)
	lastFAST       *fastCtx
	encPARep       bool // answer PA-REQ-ENC-PA-REP (RFC 6806 11)
	encPARepHook   func(part *krb5.EncKDCRepPart)
}

type seenReq struct {
	proto string
	req   krb5.KDCReq
}

func newFakeKDC(t testing.TB) *fakeKDC {
	t.Helper()
	tgt, err := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA384, rand.Reader, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeKDC{
		t: t, realm: testRealm, now: time.Now, requirePreauth: true,
		krbtgt: tgt, svcKeys: map[string]*kcrypto.Key{testService: svc},
		users: map[string]bool{testUser: true}, userKeys: map[string]*kcrypto.Key{},
	}
}

func (f *fakeKDC) userKey(name string, e krb5.EncType) *kcrypto.Key {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("%s %d", name, e)
	if k, ok := f.userKeys[id]; ok {
		return k
	}
	k, err := kcrypto.StringToKey(e, testPassword, f.realm+name, nil, kcrypto.Options{})
	if err != nil {
		f.t.Errorf("fake KDC: s2k: %v", err)
		return nil
	}
	f.userKeys[id] = k
	return k
}

func (f *fakeKDC) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now()
}

func (f *fakeKDC) requests() []seenReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenReq(nil), f.seen...)
}

func (f *fakeKDC) set(fn func(f *fakeKDC)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeKDC) krbErr(code krb5.ErrorCode, text string, edata []byte) []byte {
	now := f.clock()
	ke := krb5.KRBError{STime: now.UTC().Truncate(time.Second), SUSec: int32(now.Nanosecond() / 1000),
		ErrorCode: code, Realm: f.realm, SName: TGTName(f.realm), EText: text, HasEText: text != "", EData: edata}
	b, _ := ke.Marshal()
	return b
}

func (f *fakeKDC) handle(proto string, b []byte) []byte {
	var req krb5.KDCReq
	if err := req.Unmarshal(b); err != nil {
		f.t.Errorf("fake KDC: undecodable request: %v", err)
		return f.krbErr(krb5.KRBErrGeneric, "bad request", nil)
	}
	f.mu.Lock()
	f.seen = append(f.seen, seenReq{proto, req})
	tooBig, errHook := f.udpTooBig, f.errHook
	f.mu.Unlock()
	if proto == "udp" && tooBig {
		return f.krbErr(krb5.KRBErrResponseTooBig, "", nil)
	}
	if errHook != nil {
		if ke := errHook(&req); ke != nil {
			out, _ := ke.Marshal()
			return out
		}
	}
	// An armored request is unwrapped first; from then on only the inner
	// body and padata count, and every error goes back inside the armor.
	var fc *fastCtx
	if pa, ok := req.PAData.Find(krb5.PAFXFast); ok && f.fast {
		inner, c, err := f.unwrapFAST(&req, pa.Value)
		if err != nil {
			var ke *krb5.Error
			if errors.As(err, &ke) {
				return f.krbErr(ke.Code, ke.Reason, nil)
			}
			f.t.Errorf("fake KDC: FAST: %v", err)
			return f.krbErr(krb5.KRBErrGeneric, err.Error(), nil)
		}
		req, fc = *inner, c
	}
	var out []byte
	var err error
	if req.MsgType == krb5.MsgASReq {
		out, err = f.as(&req, fc)
	} else {
		out, err = f.tgs(&req, fc)
	}
	if err != nil {
		var ke *krb5.Error
		if errors.As(err, &ke) {
			return f.errReply(fc, ke.Code, ke.Reason, nil)
		}
		f.t.Errorf("fake KDC: %v", err)
		return f.krbErr(krb5.KRBErrGeneric, err.Error(), nil)
	}
	return out
}

func (f *fakeKDC) as(req *krb5.KDCReq, fc *fastCtx) ([]byte, error) {
	body := &req.ReqBody
	user := body.CName.String()
	f.mu.Lock()
	known := f.users[user]
	f.mu.Unlock()
	if !known {
		return nil, krb5.NewError(krb5.KDCErrCPrincipalUnknown, "Client not found in Kerberos database")
	}
	if pa, ok := req.PAData.Find(krb5.PAPACRequest); !ok {
		f.t.Error("AS-REQ without PA-PAC-REQUEST")
	} else {
		var pr krb5.PACRequest
		if err := pr.Unmarshal(pa.Value); err != nil || !pr.IncludePAC {
			f.t.Errorf("PA-PAC-REQUEST: %+v %v", pr, err)
		}
	}
	etype := body.EType[0]
	ukey := f.userKey(user, etype)
	now := f.clock()
	var edata []byte
	challenged := false
	if fc != nil {
		var (
			out []byte
			err error
		)
		if challenged, out, err = f.fastPreauth(req, fc, user, etype); err != nil || out != nil {
			return out, err
		}
	} else if f.requireFAST {
		md := krb5.MethodData{{Type: krb5.PAFXFast, Value: []byte{}}, {Type: krb5.PAEncryptedChallenge, Value: []byte{}}}
		edata, _ = md.Marshal()
		return f.krbErr(krb5.KDCErrPreauthRequired, "FAST required", edata), nil
	} else if pa, ok := req.PAData.Find(krb5.PAEncTimestamp); ok {
		var ed krb5.EncryptedData
		if err := ed.Unmarshal(pa.Value); err != nil {
			return nil, err
		}
		k := f.userKey(user, ed.EType)
		plain, err := k.DecryptData(kcrypto.UsageASReqPAEncTimestamp, ed)
		if err != nil {
			return nil, krb5.NewError(krb5.KDCErrPreauthFailed, "Preauthentication failed")
		}
		var ts krb5.PAEncTSEnc
		if err := ts.Unmarshal(plain); err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.lastTS = &ts
		f.mu.Unlock()
		if d := ts.Time().Sub(now); d > 5*time.Minute || d < -5*time.Minute {
			return nil, krb5.NewError(krb5.KRBAPErrSkew, "Clock skew too great")
		}
		ukey, etype = k, ed.EType
	} else if f.requirePreauth {
		info := krb5.ETypeInfo2{{EType: etype, Salt: f.realm + user, HasSalt: true}}
		md := krb5.MethodData{info.PAData(), {Type: krb5.PAEncTimestamp, Value: []byte{}}}
		if f.fast {
			md = append(md, krb5.PAData{Type: krb5.PAFXFast, Value: []byte{}})
		}
		edata, _ = md.Marshal()
		return f.krbErr(krb5.KDCErrPreauthRequired, "Additional pre-authentication required", edata), nil
	}
	sname := *body.SName
	skey := f.krbtgt
	if sname.String() != "krbtgt/"+f.realm {
		if skey = f.svcKeys[sname.String()]; skey == nil {
			return nil, krb5.NewError(krb5.KDCErrSPrincipalUnknown, "Server not found in Kerberos database")
		}
	}
	sess, err := kcrypto.RandomKey(body.EType[0], rand.Reader, kcrypto.Options{})
	if err != nil {
		return nil, err
	}
	at := now.UTC().Truncate(time.Second)
	etp := krb5.EncTicketPart{
		Flags: krb5.TktFlagInitial | krb5.TktFlagPreAuthent, Key: sess.EncryptionKey(),
		CRealm: f.realm, CName: *body.CName, Transited: krb5.TransitedEncoding{TRType: 1},
		AuthTime: at, StartTime: at, EndTime: minT(body.Till, at.Add(10*time.Hour)),
	}
	f.options(body, &etp, krb5.Flags(0xffffffff))
	tkt, err := f.seal(&etp, skey, sname)
	if err != nil {
		return nil, err
	}
	part := krb5.EncKDCRepPart{
		Tag: krb5.MsgEncASRepPart, Key: sess.EncryptionKey(), LastReq: []krb5.LastReqEntry{{Type: 0, Value: at}},
		Nonce: body.Nonce, Flags: etp.Flags, AuthTime: at, StartTime: at, EndTime: etp.EndTime,
		RenewTill: etp.RenewTill, SRealm: f.realm, SName: sname,
	}
	info := krb5.ETypeInfo2{{EType: etype, Salt: f.realm + user, HasSalt: true}}
	rep := krb5.KDCRep{MsgType: krb5.MsgASRep, PAData: krb5.MethodData{info.PAData()},
		CRealm: f.realm, CName: *body.CName, Ticket: tkt}
	f.mu.Lock()
	hook := f.asHook
	f.mu.Unlock()
	if hook != nil {
		hook(&rep, &part)
	}
	if _, ok := req.PAData.Find(krb5.PAReqEncPARep); ok && fc == nil && f.encPARep {
		f.negotiate(req, &part, ukey)
	}
	replyKey := ukey
	if fc != nil {
		if replyKey, err = f.fastReply(fc, &rep, ukey, challenged); err != nil {
			return nil, err
		}
	}
	pb, _ := part.Marshal()
	if rep.EncPart, err = replyKey.EncryptData(rand.Reader, kcrypto.UsageASRepEncPart, pb, 1, true); err != nil {
		return nil, err
	}
	return rep.Marshal()
}

// options applies forwardable/proxiable/renewable as requested and as
// allowed (mask: the TGT's flags for a TGS request).
func (f *fakeKDC) options(body *krb5.KDCReqBody, etp *krb5.EncTicketPart, allowed krb5.Flags) {
	o := body.KDCOptions
	if o.Has(krb5.KDCOptForwardable) && allowed.Has(krb5.TktFlagForwardable) {
		etp.Flags |= krb5.TktFlagForwardable
	}
	if o.Has(krb5.KDCOptProxiable) && allowed.Has(krb5.TktFlagProxiable) {
		etp.Flags |= krb5.TktFlagProxiable
	}
	if o.Has(krb5.KDCOptRenewable) && allowed.Has(krb5.TktFlagRenewable) && !body.RTime.IsZero() {
		etp.Flags |= krb5.TktFlagRenewable
		etp.RenewTill = minT(body.RTime, etp.AuthTime.Add(7*24*time.Hour))
	}
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (f *fakeKDC) seal(etp *krb5.EncTicketPart, key *kcrypto.Key, sname krb5.PrincipalName) (krb5.Ticket, error) {
	b, _ := etp.Marshal()
	ed, err := key.EncryptData(rand.Reader, kcrypto.UsageTicket, b, 2, true)
	if err != nil {
		return krb5.Ticket{}, err
	}
	return krb5.Ticket{TktVNO: 5, Realm: f.realm, SName: sname, EncPart: ed}, nil
}

func (f *fakeKDC) tgs(req *krb5.KDCReq, fc *fastCtx) ([]byte, error) {
	body := &req.ReqBody
	pa, ok := req.PAData.Find(krb5.PATGSReq)
	if !ok {
		return nil, krb5.NewError(krb5.KDCErrPADataTypeNoSupp, "no PA-TGS-REQ")
	}
	var ap krb5.APReq
	if err := ap.Unmarshal(pa.Value); err != nil {
		return nil, err
	}
	tkey := f.krbtgt
	if ap.Ticket.SName.String() != "krbtgt/"+f.realm {
		tkey = f.svcKeys[ap.Ticket.SName.String()]
	}
	plain, err := tkey.DecryptData(kcrypto.UsageTicket, ap.Ticket.EncPart)
	if err != nil {
		return nil, krb5.NewError(krb5.KRBAPErrBadIntegrity, "ticket does not decrypt")
	}
	var tgt krb5.EncTicketPart
	if err := tgt.Unmarshal(plain); err != nil {
		return nil, err
	}
	sess, err := kcrypto.NewKey(tgt.Key, kcrypto.Options{})
	if err != nil {
		return nil, err
	}
	aplain, err := sess.DecryptData(kcrypto.UsageTGSReqAuthenticator, ap.Authenticator)
	if err != nil {
		return nil, krb5.NewError(krb5.KRBAPErrBadIntegrity, "authenticator does not decrypt")
	}
	var auth krb5.Authenticator
	if err := auth.Unmarshal(aplain); err != nil {
		return nil, err
	}
	if auth.Cksum == nil {
		return nil, krb5.NewError(krb5.KRBAPErrInappCksum, "no checksum")
	}
	if err := sess.VerifyChecksum(kcrypto.UsageTGSReqAuthCksum, body.Raw, *auth.Cksum); err != nil {
		return nil, krb5.NewError(krb5.KRBAPErrModified, "body checksum")
	}
	if !auth.CName.Equal(tgt.CName) || auth.CRealm != tgt.CRealm {
		return nil, krb5.NewError(krb5.KRBAPErrBadMatch, "authenticator client")
	}
	f.mu.Lock()
	f.lastAuth = &auth
	hook := f.tgsHook
	f.mu.Unlock()
	now := f.clock().UTC().Truncate(time.Second)
	sname := *body.SName
	var etp krb5.EncTicketPart
	skey := f.krbtgt
	if body.KDCOptions.Has(krb5.KDCOptRenew) {
		if !tgt.Flags.Has(krb5.TktFlagRenewable) {
			return nil, krb5.NewError(krb5.KDCErrBadOption, "not renewable")
		}
		etp = tgt
		etp.Raw = nil
		etp.StartTime = now
		etp.EndTime = minT(now.Add(tgt.EndTime.Sub(tgt.StartTime)), tgt.RenewTill)
		etp.Flags &^= krb5.TktFlagInitial
		skey = tkey
	} else {
		if sname.String() != "krbtgt/"+f.realm {
			if skey = f.svcKeys[sname.String()]; skey == nil {
				return nil, krb5.NewError(krb5.KDCErrSPrincipalUnknown, "Server not found in Kerberos database")
			}
		}
		etp = krb5.EncTicketPart{CRealm: tgt.CRealm, CName: tgt.CName, Transited: krb5.TransitedEncoding{TRType: 1},
			AuthTime: tgt.AuthTime, StartTime: now, EndTime: minT(body.Till, tgt.EndTime)}
		f.options(body, &etp, tgt.Flags)
	}
	nk, err := kcrypto.RandomKey(body.EType[0], rand.Reader, kcrypto.Options{})
	if err != nil {
		return nil, err
	}
	etp.Key = nk.EncryptionKey()
	tkt, err := f.seal(&etp, skey, sname)
	if err != nil {
		return nil, err
	}
	part := krb5.EncKDCRepPart{
		Tag: krb5.MsgEncTGSRepPart, Key: etp.Key, LastReq: []krb5.LastReqEntry{{Type: 0, Value: now}},
		Nonce: body.Nonce, Flags: etp.Flags, AuthTime: etp.AuthTime, StartTime: etp.StartTime,
		EndTime: etp.EndTime, RenewTill: etp.RenewTill, SRealm: f.realm, SName: sname,
	}
	rep := krb5.KDCRep{MsgType: krb5.MsgTGSRep, CRealm: tgt.CRealm, CName: tgt.CName, Ticket: tkt}
	if hook != nil {
		hook(&rep, &part)
	}
	replyKey, usage := sess, kcrypto.UsageTGSRepEncPartSessionKey
	if auth.Subkey != nil {
		if replyKey, err = kcrypto.NewKey(*auth.Subkey, kcrypto.Options{}); err != nil {
			return nil, err
		}
		usage = kcrypto.UsageTGSRepEncPartSubkey
	}
	if fc != nil {
		if replyKey, err = f.fastReply(fc, &rep, replyKey, false); err != nil {
			return nil, err
		}
	}
	pb, _ := part.Marshal()
	if rep.EncPart, err = replyKey.EncryptData(rand.Reader, usage, pb, 0, false); err != nil {
		return nil, err
	}
	return rep.Marshal()
}

// start serves the fake KDC on UDP and TCP on one 127.0.0.1 port.
func (f *fakeKDC) start(t testing.TB) string {
	t.Helper()
	for range 50 {
		uc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := uc.LocalAddr().String()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			uc.Close()
			continue
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, 65536)
			for {
				n, from, err := uc.ReadFrom(buf)
				if err != nil {
					return
				}
				f.mu.Lock()
				drop := f.dropUDP
				f.mu.Unlock()
				if drop {
					// record it, but never answer
					var req krb5.KDCReq
					if req.Unmarshal(buf[:n]) == nil {
						f.mu.Lock()
						f.seen = append(f.seen, seenReq{"udp", req})
						f.mu.Unlock()
					}
					continue
				}
				uc.WriteTo(f.handle("udp", append([]byte(nil), buf[:n]...)), from)
			}
		}()
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					var hdr [4]byte
					if _, err := io.ReadFull(c, hdr[:]); err != nil {
						return
					}
					msg := make([]byte, binary.BigEndian.Uint32(hdr[:]))
					if _, err := io.ReadFull(c, msg); err != nil {
						return
					}
					rep := f.handle("tcp", msg)
					out := binary.BigEndian.AppendUint32(nil, uint32(len(rep)))
					c.Write(append(out, rep...))
				}()
			}
		}()
		t.Cleanup(func() {
			uc.Close()
			ln.Close()
			wg.Wait()
		})
		return addr
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}

func (f *fakeKDC) client(t testing.TB, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Realm: f.realm, KDCs: map[string][]string{f.realm: {f.start(t)}}, Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
