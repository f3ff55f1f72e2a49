package kdc_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kdc"
)

// serving starts a KDC on 127.0.0.1 over a fresh realm.
func serving(t *testing.T, scfg kdc.ServeConfig) (*testkit.KDC, *env) {
	t.Helper()
	r := testkit.NewRealm(t, realm)
	r.AddUser(t, "alice", alicePW, admin.UserOptions{})
	k := testkit.StartKDC(t, r, kdc.Config{}, scfg)
	return k, &env{t: t, r: r, clock: &clock{t: time.Now()}}
}

// askUDP sends one datagram and waits for one reply.
func askUDP(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	rep, err := testkit.AskUDP(addr, req, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func frame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func readFrame(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatalf("no TCP reply: %v", err)
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func errorCode(t *testing.T, rep []byte) krb5.ErrorCode {
	t.Helper()
	var ke krb5.KRBError
	if err := ke.Unmarshal(rep); err != nil {
		return 0
	}
	return ke.ErrorCode
}

// A hostile or broken client cannot stop the KDC from serving others: a
// 1 GiB TCP length prefix, a client that stalls mid-request, a truncated
// request and garbage UDP.
func TestHostileClientsLeaveKDCServing(t *testing.T) {
	k, e := serving(t, kdc.ServeConfig{TCPReadTimeout: 300 * time.Millisecond})
	good := e.asReq("alice").bytes() // answered with PREAUTH_REQUIRED

	// 1 GiB announced: refused with FIELD_TOOLONG, nothing allocated.
	c, err := net.Dial("tcp", k.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write(binary.BigEndian.AppendUint32(nil, 1<<30))
	if code := errorCode(t, readFrame(t, c)); code != krb5.KRBErrFieldTooLong {
		t.Errorf("1 GiB frame: got %v, want KRB_ERR_FIELD_TOOLONG", code)
	}

	// A slow client: sends half a request and stalls; it is cut off.
	slow, err := net.Dial("tcp", k.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	f := frame(good)
	_, _ = slow.Write(f[:len(f)/2])

	// Garbage and truncated UDP get no answer or a generic error, and
	// the KDC answers the next good request.
	for _, junk := range [][]byte{{0xff, 0x00, 0x01}, good[:len(good)/2], make([]byte, 2000)} {
		uc, _ := net.Dial("udp", k.Addr)
		_, _ = uc.Write(junk)
		uc.Close()
	}
	if code := errorCode(t, askUDP(t, k.Addr, good)); code != krb5.KDCErrPreauthRequired {
		t.Errorf("good UDP request after junk: got %v", code)
	}
	// TCP keeps serving while the slow client stalls.
	c2, err := net.Dial("tcp", k.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_, _ = c2.Write(frame(good))
	if code := errorCode(t, readFrame(t, c2)); code != krb5.KDCErrPreauthRequired {
		t.Errorf("good TCP request beside a slow client: got %v", code)
	}
	// Two requests on one connection are both answered.
	_, _ = c2.Write(frame(good))
	if code := errorCode(t, readFrame(t, c2)); code != krb5.KDCErrPreauthRequired {
		t.Errorf("second request on a connection: got %v", code)
	}
	// The stalled client is disconnected after the read timeout.
	_ = slow.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := slow.Read(make([]byte, 1)); err == nil {
		t.Error("slow client still connected")
	}
}

// A retransmitted request gets the same reply without being processed
// again: a wrong password retransmitted is counted once.
func TestLookasideAnswersRetransmits(t *testing.T) {
	k, e := serving(t, kdc.ServeConfig{})
	req := e.asReq("alice").withTimestamp(t, "wrong", time.Now()).bytes()
	r1 := askUDP(t, k.Addr, req)
	r2 := askUDP(t, k.Addr, req)
	if string(r1) != string(r2) {
		t.Error("retransmit got a different reply")
	}
	a, err := e.r.Store.Account(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if a.Lockout.BadCount != 1 {
		t.Errorf("bad count %d after one wrong password sent twice, want 1", a.Lockout.BadCount)
	}
}

// A reply larger than MaxUDPReply is not sent over UDP: the client gets
// KRB_ERR_RESPONSE_TOO_BIG with the sizes, and the same request over TCP
// gets the reply.
func TestBigReplyMovesToTCP(t *testing.T) {
	k, e := serving(t, kdc.ServeConfig{MaxUDPReply: 300})
	req := e.asReq("alice").withTimestamp(t, alicePW, time.Now()).bytes()
	var ke krb5.KRBError
	if err := ke.Unmarshal(askUDP(t, k.Addr, req)); err != nil {
		t.Fatal(err)
	}
	if ke.ErrorCode != krb5.KRBErrResponseTooBig || !strings.HasSuffix(ke.EText, "is too big for UDP (limit 300); retry over TCP") {
		t.Fatalf("UDP: %v %q", ke.ErrorCode, ke.EText)
	}
	c, err := net.Dial("tcp", k.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(frame(req)); err != nil {
		t.Fatal(err)
	}
	if mt, _ := krb5.MessageType(readFrame(t, c)); mt != krb5.MsgASRep {
		t.Fatalf("TCP reply is message type %d, want AS-REP", mt)
	}
}

// One TCP connection carries requests of different lengths in turn; it
// reuses its buffers, and each reply answers its own request.
func TestTCPConnectionServesManyRequests(t *testing.T) {
	k, e := serving(t, kdc.ServeConfig{})
	c, err := net.Dial("tcp", k.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	login := func(at time.Time) []byte { return e.asReq("alice").withTimestamp(t, alicePW, at).bytes() }
	bare := e.asReq("alice").bytes()
	for i, tc := range []struct {
		req  []byte
		want krb5.MsgType
	}{
		{login(time.Now()), krb5.MsgASRep},
		{bare, krb5.MsgKRBError},
		{login(time.Now().Add(time.Second)), krb5.MsgASRep},
	} {
		if _, err := c.Write(frame(tc.req)); err != nil {
			t.Fatal(err)
		}
		rep := readFrame(t, c)
		if mt, _ := krb5.MessageType(rep); mt != tc.want {
			t.Fatalf("request %d: reply is message type %d, want %d", i, mt, tc.want)
		}
		if tc.want == krb5.MsgKRBError {
			if code := errorCode(t, rep); code != krb5.KDCErrPreauthRequired {
				t.Fatalf("request %d: error %v, want PREAUTH_REQUIRED", i, code)
			}
			continue
		}
		e.decodeAS(rep, "alice", alicePW)
	}
}

// FuzzHandle: any bytes in, a KRB-ERROR, a KDC-REP or nothing out; never
// a panic.
func FuzzHandle(f *testing.F) {
	r := testkit.NewRealm(f, realm)
	r.AddUser(f, "alice", alicePW, admin.UserOptions{})
	r.AddService(f, service, admin.ServiceOptions{})
	k, err := kdc.New(kdc.Config{Store: r.Store, PollInterval: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { k.Close() })
	e := &env{r: r, k: k, clock: &clock{t: time.Now()}}
	f.Add(e.asReq("alice").bytes())
	f.Add(e.asReq("alice").withTimestamp(f, alicePW, time.Now()).bytes())
	f.Add(e.asReq("alice").withTimestamp(f, "wrong", time.Now()).bytes())
	f.Add([]byte{0x6c, 0x00})
	f.Add([]byte{})
	// FAST: armored AS rounds and an implicitly armored TGS-REQ.
	e.t = f
	a := e.newArmor(e.computerTGT(), nil)
	f.Add(e.armorAS(e.asReq("alice"), a, fastReq{}))
	f.Add(e.armorAS(e.asReq("alice"), a, fastReq{opts: krb5.FastOptHideClientNames,
		innerPA: krb5.MethodData{e.cookieRound1(a, "alice"), encChallenge(f, a.key, userKey(f, "alice", alicePW, aes256), e.clock.Now())}}))
	tgsReq, _, _ := e.armorTGS(e.login("alice", alicePW), service, nil)
	f.Add(tgsReq)
	f.Fuzz(func(t *testing.T, req []byte) {
		rep, _ := k.Handle(context.Background(), req)
		if rep == nil {
			return
		}
		mt, ok := krb5.MessageType(rep)
		if !ok || (mt != krb5.MsgKRBError && mt != krb5.MsgASRep && mt != krb5.MsgTGSRep) {
			t.Fatalf("reply is not a KRB-ERROR or KDC-REP: % x", rep[:min(len(rep), 16)])
		}
	})
}

// Request durations come from ServeConfig.Clock, not the wall clock: a
// clock that advances 7ms per reading makes every request take 7ms.
func TestServeClockTimesRequests(t *testing.T) {
	var mu sync.Mutex
	wall := time.Now()
	took := make(chan time.Duration, 1)
	k, e := serving(t, kdc.ServeConfig{
		Clock: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			wall = wall.Add(7 * time.Millisecond)
			return wall
		},
		OnResult: func(_ netip.AddrPort, _ string, _ kdc.Result, d time.Duration) {
			select {
			case took <- d:
			default:
			}
		},
	})
	askUDP(t, k.Addr, e.asReq("alice").withTimestamp(t, alicePW, time.Now()).bytes())
	if d := <-took; d != 7*time.Millisecond {
		t.Errorf("request took %v by ServeConfig.Clock, want 7ms", d)
	}
}

// AppendHandle puts the reply after what dst holds, replies and errors
// alike, and leaves dst as it was when there is nothing to answer.
func TestAppendHandleKeepsPrefix(t *testing.T) {
	e := newEnv(t)
	prefix := []byte("frame")
	for _, tc := range []struct {
		name string
		req  []byte
		want krb5.MsgType
	}{
		{"AS-REP", e.asReq("alice").withTimestamp(t, alicePW, e.clock.Now()).bytes(), krb5.MsgASRep},
		{"refusal", e.asReq("nobody").bytes(), krb5.MsgKRBError},
		{"malformed", []byte{0x6a, 0x03, 0x30, 0x01, 0x00}, krb5.MsgKRBError},
		{"not Kerberos", []byte("GET / HTTP/1.1\r\n"), 0},
	} {
		dst := append(make([]byte, 0, 16), prefix...)
		out, _ := e.k.AppendHandle(context.Background(), dst, tc.req)
		if !bytes.HasPrefix(out, prefix) {
			t.Fatalf("%s: the prefix is gone: %q", tc.name, out[:min(len(out), 8)])
		}
		if tc.want == 0 {
			if len(out) != len(prefix) {
				t.Errorf("%s: %d bytes appended, want none", tc.name, len(out)-len(prefix))
			}
			continue
		}
		if mt, _ := krb5.MessageType(out[len(prefix):]); mt != tc.want {
			t.Errorf("%s: message type %v, want %v", tc.name, mt, tc.want)
		}
	}
}
