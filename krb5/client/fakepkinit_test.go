package client

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/warden-auth/warden/internal/cms"
	"github.com/warden-auth/warden/internal/der"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
	"github.com/warden-auth/warden/krb5/pkinit"
)

// fakePKINITKDC answers AS requests with PKINIT the way RFC 4556/8062
// say, built on the KDC half of krb5/pkinit, with hooks that alter its
// answers so that every check of the client's reply handling fails when
// it should. Real KDCs (MIT's) are in interop/pkinit_client_test.go.
type fakePKINITKDC struct {
	t      testing.TB
	realm  string
	ca     *testkit.PKICA
	signer *cms.Signer
	krbtgt *kcrypto.Key

	mu       sync.Mutex
	fresh    []byte         // freshness token handed out (RFC 8070); nil: none
	groups   []pkinit.Group // accepted groups (nil: all)
	kdfOff   bool           // reply with octetstring2key, not the client's KDF
	noKX     bool           // anonymous replies without PA-PKINIT-KX
	hook     func(rep *krb5.KDCRep, part *krb5.EncKDCRepPart)
	paHook   func(pa []byte) []byte // alters the PA-PK-AS-REP value
	seenFrsh [][]byte               // freshness tokens received
	requests int
}

func newFakePKINITKDC(t testing.TB, kdcCert testkit.CertOptions) *fakePKINITKDC {
	t.Helper()
	ca := testkit.NewPKICA(t, "fake PKINIT CA")
	kc := ca.IssueKDC(t, testRealm, kdcCert)
	tgt, err := kcrypto.RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, kcrypto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &fakePKINITKDC{t: t, realm: testRealm, ca: ca, krbtgt: tgt,
		signer: &cms.Signer{Cert: kc.Cert, Key: kc.Key}}
}

func (f *fakePKINITKDC) krbErr(code krb5.ErrorCode, text string, edata []byte) []byte {
	now := time.Now()
	ke := krb5.KRBError{STime: now.UTC().Truncate(time.Second), ErrorCode: code, Realm: f.realm,
		SName: TGTName(f.realm), EText: text, HasEText: text != "", EData: edata}
	b, _ := ke.Marshal()
	return b
}

func (f *fakePKINITKDC) handle(b []byte) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	var req krb5.KDCReq
	if err := req.Unmarshal(b); err != nil {
		f.t.Errorf("fake KDC: undecodable request: %v", err)
		return f.krbErr(krb5.KRBErrGeneric, "bad request", nil)
	}
	pa, ok := req.PAData.Find(krb5.PAPKASReq)
	if !ok {
		md := krb5.MethodData{{Type: krb5.PAPKASReq, Value: []byte{}}}
		if _, asked := req.PAData.Find(krb5.PAASFreshness); asked && f.fresh != nil {
			md = append(md, krb5.PAData{Type: krb5.PAASFreshness, Value: f.fresh})
		}
		edata, _ := md.Marshal()
		return f.krbErr(krb5.KDCErrPreauthRequired, "Additional pre-authentication required", edata)
	}
	r, err := pkinit.ParseASReq(pa.Value)
	if err != nil {
		f.t.Errorf("fake KDC: PA-PK-AS-REQ: %v", err)
		return f.krbErr(krb5.KRBErrGeneric, err.Error(), nil)
	}
	if err := r.CheckChecksum(req.ReqBody.Raw); err != nil {
		f.t.Errorf("fake KDC: %v", err)
	}
	anon := req.ReqBody.KDCOptions.Has(krb5.KDCOptRequestAnonymous)
	if anon != r.Anonymous {
		f.t.Errorf("fake KDC: request-anonymous %v with an AuthPack signed %v", anon, !r.Anonymous)
	}
	if !r.Anonymous {
		if _, err := r.Signed.Verify(); err != nil {
			f.t.Errorf("fake KDC: the AuthPack's signature: %v", err)
		}
	}
	f.seenFrsh = append(f.seenFrsh, r.AuthPack.PKAuthenticator.FreshnessToken)
	g, err := r.Group()
	if err != nil {
		f.t.Errorf("fake KDC: %v", err)
	}
	if f.groups != nil && !slices.Contains(f.groups, g) {
		var params pkinit.TDDHParameters
		for _, a := range f.groups {
			params = append(params, pkinit.DHParameters(a))
		}
		pb, _ := params.Marshal()
		return f.krbErr(krb5.KDCErrDHKeyParametersNotAccepted, "Key parameters not accepted", typedDataDER(tdDHParameters, pb))
	}
	cname := *req.ReqBody.CName
	crealm := f.realm
	if anon {
		crealm = AnonymousRealm
	}
	etype := req.ReqBody.EType[0]
	if f.kdfOff {
		r.AuthPack.SupportedKDFs = nil
	}
	paRep, ek, err := r.BuildReply(pkinit.ReplyParams{Rand: rand.Reader, Signer: f.signer, EType: etype,
		Client: pkinit.KRB5PrincipalName{Realm: crealm, Name: cname},
		Server: pkinit.KRB5PrincipalName{Realm: f.realm, Name: *req.ReqBody.SName}, ASReq: b})
	if err != nil {
		f.t.Errorf("fake KDC: BuildReply: %v", err)
		return f.krbErr(krb5.KRBErrGeneric, err.Error(), nil)
	}
	if f.paHook != nil {
		paRep = f.paHook(paRep)
	}
	replyKey, _ := kcrypto.NewKey(ek, kcrypto.Options{})
	padata := krb5.MethodData{{Type: krb5.PAPKASRep, Value: paRep}}
	sess, _ := kcrypto.RandomKey(etype, rand.Reader, kcrypto.Options{})
	flags := krb5.TktFlagInitial | krb5.TktFlagPreAuthent
	if anon {
		flags |= krb5.TktFlagAnonymous
		if !f.noKX {
			kx, s, err := pkinit.NewKX(rand.Reader, replyKey, kcrypto.Options{})
			if err != nil {
				f.t.Fatal(err)
			}
			padata, sess = append(padata, krb5.PAData{Type: krb5.PAPKINITKX, Value: kx}), s
		}
	}
	at := time.Now().UTC().Truncate(time.Second)
	end := at.Add(10 * time.Hour)
	etp := krb5.EncTicketPart{Flags: flags, Key: sess.EncryptionKey(), CRealm: crealm, CName: cname,
		Transited: krb5.TransitedEncoding{TRType: 1}, AuthTime: at, StartTime: at, EndTime: end}
	eb, _ := etp.Marshal()
	enc, _ := f.krbtgt.EncryptData(rand.Reader, kcrypto.UsageTicket, eb, 1, true)
	tkt := krb5.Ticket{TktVNO: 5, Realm: f.realm, SName: *req.ReqBody.SName, EncPart: enc}
	part := krb5.EncKDCRepPart{Tag: krb5.MsgEncASRepPart, Key: sess.EncryptionKey(),
		LastReq: []krb5.LastReqEntry{{Type: 0, Value: at}}, Nonce: req.ReqBody.Nonce, Flags: flags,
		AuthTime: at, StartTime: at, EndTime: end, SRealm: f.realm, SName: *req.ReqBody.SName}
	rep := krb5.KDCRep{MsgType: krb5.MsgASRep, PAData: padata, CRealm: crealm, CName: cname, Ticket: tkt}
	if f.hook != nil {
		f.hook(&rep, &part)
	}
	pb, _ := part.Marshal()
	rep.EncPart, _ = replyKey.EncryptData(rand.Reader, kcrypto.UsageASRepEncPart, pb, 0, false)
	out, _ := rep.Marshal()
	return out
}

// typedDataDER encodes a one-element TYPED-DATA.
func typedDataDER(typ int32, value []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(der.Context(0), func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(typ)) })
			b.AddASN1(der.Context(1), func(b *cryptobyte.Builder) { b.AddASN1OctetString(value) })
		})
	})
	return b.BytesOrPanic()
}

// client starts the fake KDC over TCP and returns a client that trusts
// the fake's CA.
func (f *fakePKINITKDC) client(t testing.TB) *Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			func() {
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
				rep := f.handle(msg)
				c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(rep))), rep...))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	c, err := New(Config{Realm: f.realm, KDCs: map[string][]string{f.realm: {ln.Addr().String()}}, UDPPreferenceLimit: 1,
		Timeout: 2 * time.Second, PKINIT: PKINITConfig{Anchors: map[string][]string{"": {f.ca.CAFile}}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakePKINITKDC) set(fn func(f *fakePKINITKDC)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}
