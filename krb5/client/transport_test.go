package client

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
)

func protos(f *fakeKDC) string {
	var s []string
	for _, r := range f.requests() {
		s = append(s, r.proto)
	}
	return strings.Join(s, ",")
}

func TestTransportChoice(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*fakeKDC, *Config)
		want string // protocols of the requests the KDC saw
	}{
		{"small requests over UDP", nil, "udp,udp"},
		{"udp_preference_limit = 1: TCP", func(_ *fakeKDC, c *Config) { c.UDPPreferenceLimit = 1 }, "tcp,tcp"},
		{"request above the limit: TCP", func(_ *fakeKDC, c *Config) { c.UDPPreferenceLimit = 100 }, "tcp,tcp"},
		{"RESPONSE_TOO_BIG: retry over TCP", func(f *fakeKDC, _ *Config) { f.set(func(f *fakeKDC) { f.udpTooBig = true }) }, "udp,tcp,udp,tcp"},
		{"UDP unanswered: TCP", func(f *fakeKDC, c *Config) {
			f.set(func(f *fakeKDC) { f.dropUDP = true })
			c.Timeout = 300 * time.Millisecond
		}, "udp,tcp,udp,tcp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeKDC(t)
			c := f.client(t, func(cfg *Config) {
				if tc.mod != nil {
					tc.mod(f, cfg)
				}
			})
			kinit(t, c, ASOptions{})
			if got := protos(f); got != tc.want {
				t.Errorf("transports %s, want %s", got, tc.want)
			}
		})
	}
}

// deadAddr returns an address where nothing listens on UDP or TCP.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestTransportFailover(t *testing.T) {
	f := newFakeKDC(t)
	dead := deadAddr(t)
	c := mustClient(t, Config{KDCs: map[string][]string{testRealm: {dead, f.start(t)}}, Timeout: time.Second})
	kinit(t, c, ASOptions{})

	c = mustClient(t, Config{KDCs: map[string][]string{testRealm: {dead}}, Timeout: 300 * time.Millisecond})
	_, err := c.ASExchange(context.Background(), alice, Password(testPassword), ASOptions{})
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Realm != testRealm || len(ue.Errs) != 2 || !strings.Contains(ue.ErrorHint(), "port 88") {
		t.Fatalf("dead KDC: %v", err)
	}
	if !strings.Contains(err.Error(), "udp "+dead) || !strings.Contains(err.Error(), "tcp "+dead) {
		t.Errorf("error does not say what was tried: %v", err)
	}

	c = mustClient(t, Config{KDCs: map[string][]string{"OTHER": {dead}}})
	_, err = c.ASExchange(context.Background(), alice, Password(testPassword), ASOptions{})
	if !errors.As(err, &ue) || len(ue.KDCs) != 0 || !strings.Contains(ue.ErrorHint(), "[realms] TEST.REALM = { kdc") {
		t.Errorf("unknown realm: %v", err)
	}
}

// tcpServer answers every TCP request with reply (raw bytes, framing
// included).
func tcpServer(t *testing.T, reply []byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			var hdr [4]byte
			if _, err := io.ReadFull(c, hdr[:]); err == nil {
				io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(hdr[:])))
				c.Write(reply)
			}
			c.Close()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String()
}

func TestTCPReplyFraming(t *testing.T) {
	frame := func(n uint32, body []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, n), body...) }
	f := newFakeKDC(t)
	tooBigErr := f.krbErr(krb5.KDCErrCPrincipalUnknown, "nope", nil)
	tests := []struct {
		name  string
		reply []byte
		want  string
	}{
		{"length above the cap", frame(MaxReplySize+1, nil), "reply larger than the client accepts"},
		{"reserved high bit", frame(0x80000010, nil), "reserved high bit"},
		{"truncated", frame(100, []byte{0x7e, 1}), "reading a 100-byte reply"},
		{"empty", frame(0, nil), "empty reply"},
		{"not Kerberos", frame(3, []byte{1, 2, 3}), "not a Kerberos reply"},
		{"KRB-ERROR passes through", frame(uint32(len(tooBigErr)), tooBigErr), "KDC_ERR_C_PRINCIPAL_UNKNOWN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := tcpServer(t, tc.reply)
			c := mustClient(t, Config{KDCs: map[string][]string{testRealm: {addr}}, UDPPreferenceLimit: 1, Timeout: 500 * time.Millisecond})
			_, err := c.ASExchange(context.Background(), alice, Password(testPassword), ASOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
