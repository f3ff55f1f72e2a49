package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/internal/testkit"
	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/client"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/krb5/keytab"
)

// The token framing of MIT's gss-sample programs (appl/gss-sample): one
// flags byte, a 4-byte big-endian length, the token.
const (
	tokNoop        = 1
	tokContext     = 2
	tokData        = 4
	tokMIC         = 8
	tokContextNext = 16
	tokWrapped     = 32
	tokEncrypted   = 64
	tokSendMIC     = 128
)

func sendTok(w io.Writer, flags byte, b []byte) error {
	hdr := []byte{flags, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(b)))
	_, err := w.Write(append(hdr, b...))
	return err
}

func recvTok(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("token of %d bytes", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return hdr[0], b, err
}

const sampleSPN = "host/svc.warden.test"

// sampleRealm is a Warden realm with alice and the sample service, its
// KDC, an MIT client environment with alice's TGT, and the keytab.
func sampleRealm(t *testing.T) (*testkit.Client, *keytab.Keytab, string) {
	t.Helper()
	r := testkit.NewRealm(t, wardenRealm)
	r.AddUser(t, "alice", "correct horse battery", admin.UserOptions{})
	ktPath := r.AddService(t, sampleSPN, admin.ServiceOptions{})
	k := testkit.StartKDC(t, r, kdc.Config{}, kdc.ServeConfig{})
	c := testkit.NewClient(t, wardenRealm, k.Addr, false)
	if out, err := c.Run(t, "correct horse battery\n", "kinit", "alice@"+wardenRealm); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	return c, kt, ktPath
}

// TestMITGSSClientToWardenAcceptor runs MIT's gss-client against Warden's
// acceptor speaking the gss-sample protocol: context establishment with
// mutual authentication (raw krb5 and SPNEGO), a sealed message that we
// unwrap, and a MIC over it that gss-client verifies.
func TestMITGSSClientToWardenAcceptor(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "gss-client")
	c, kt, _ := sampleRealm(t)
	for _, tc := range []struct {
		name          string
		spnego, deleg bool
	}{{"krb5", false, false}, {"spnego", true, false}, {"delegation", false, true}} {
		spnego := tc.spnego
		t.Run(tc.name, func(t *testing.T) {
			acc, err := gss.NewAcceptor(gss.AcceptorConfig{Keytab: kt})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			res := make(chan sampleResult, 1)
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					res <- sampleResult{err: err}
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(20 * time.Second))
				r := bufio.NewReader(conn)
				res <- serveSample(r, conn, acc, spnego)
			}()
			port := ln.Addr().(*net.TCPAddr).Port
			args := []string{"-port", fmt.Sprint(port)}
			if spnego {
				args = append(args, "-spnego")
			}
			if tc.deleg {
				// A forwardable TGT, which gss-client -d forwards.
				if out, err := c.Run(t, "correct horse battery\n", "kinit", "-f", "alice@"+wardenRealm); err != nil {
					t.Fatalf("kinit -f: %v\n%s", err, out)
				}
				args = append(args, "-d")
			}
			args = append(args, "127.0.0.1", "host@svc.warden.test", "hello from MIT")
			out, err := c.Run(t, "", "gss-client", args...)
			got := <-res
			if got.err != nil {
				t.Fatalf("acceptor: %v\ngss-client:\n%s", got.err, out)
			}
			if err != nil {
				t.Fatalf("gss-client: %v\n%s", err, out)
			}
			if got.client != "alice@"+wardenRealm || got.msg != "hello from MIT" || !got.mutual {
				t.Fatalf("acceptor saw client %q message %q mutual %v", got.client, got.msg, got.mutual)
			}
			if want := "alice@" + wardenRealm + " -> krbtgt/" + wardenRealm + "@" + wardenRealm; tc.deleg && got.delegated != want {
				t.Fatalf("delegated credentials %q, want %q", got.delegated, want)
			} else if !tc.deleg && got.delegated != "" {
				t.Fatalf("credentials delegated without -d: %q", got.delegated)
			}
			if !strings.Contains(out, "Signature verified") {
				t.Fatalf("gss-client did not verify our MIC:\n%s", out)
			}
		})
	}
}

// sampleResult is what the acceptor side of a gss-sample exchange saw.
type sampleResult struct {
	client, msg string
	mutual      bool
	delegated   string // the forwarded ticket's "client -> server", if any
	err         error
}

func serveSample(r *bufio.Reader, w io.Writer, acc *gss.Acceptor, spnego bool) (res sampleResult) {
	fail := func(err error) sampleResult { return sampleResult{err: err} }
	flags, _, err := recvTok(r)
	if err != nil || flags != tokNoop|tokContextNext {
		return fail(fmt.Errorf("first token flags %d: %v", flags, err))
	}
	var ctx *gss.Context
	neg := acc.NewSPNEGO(gss.AcceptOptions{})
	for ctx == nil {
		flags, tok, err := recvTok(r)
		if err != nil || flags&tokContext == 0 {
			return fail(fmt.Errorf("context token flags %d: %v", flags, err))
		}
		var out []byte
		if spnego {
			var done bool
			out, done, err = neg.Step(tok)
			if done {
				ctx = neg.Context().(*gss.Context)
			}
		} else {
			ctx, out, err = acc.AcceptKerberos(tok, gss.AcceptOptions{})
		}
		if err != nil {
			return fail(err)
		}
		if len(out) > 0 {
			if err := sendTok(w, tokContext, out); err != nil {
				return fail(err)
			}
		}
	}
	flags, tok, err := recvTok(r)
	if err != nil || flags&tokData == 0 {
		return fail(fmt.Errorf("data token flags %d: %v", flags, err))
	}
	msg := tok
	if flags&tokWrapped != 0 {
		var conf bool
		if msg, conf, err = ctx.Unwrap(tok); err != nil {
			return fail(err)
		}
		if flags&tokEncrypted != 0 && !conf {
			return fail(fmt.Errorf("message was to be encrypted but is only signed"))
		}
	}
	if flags&tokSendMIC != 0 {
		mic, err := ctx.MakeMIC(msg)
		if err != nil {
			return fail(err)
		}
		if err := sendTok(w, tokMIC, mic); err != nil {
			return fail(err)
		}
	}
	// gss-client ends with an empty NOOP token.
	recvTok(r)
	res.client, res.msg, res.mutual = ctx.ClientPrincipal(), string(msg), ctx.Mutual
	if d := ctx.Delegated; d != nil && d.Info.PName != nil {
		res.delegated = d.Info.PName.String() + "@" + d.Info.PRealm + " -> " + d.Ticket.SName.String() + "@" + d.Ticket.Realm
	}
	return res
}

// TestWardenInitiatorToMITGSSServer runs Warden's initiator (ticket from
// Warden's client, context, sealed message, MIC check) against MIT's
// gss-server with the service's keytab.
func TestWardenInitiatorToMITGSSServer(t *testing.T) {
	testkit.RequirePeer(t, "kinit", "gss-server")
	c, _, ktPath := sampleRealm(t)
	port := testkit.FreePort(t)
	bin, _ := testkit.LookPath("gss-server")
	srv := exec.Command(bin, "-port", fmt.Sprint(port), "-once", "-verbose", "-keytab", ktPath, "host@svc.warden.test")
	srv.Env = c.Env()
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()

	cfg, err := client.LoadKrb5Conf(c.Conf)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctxb := context.Background()
	tgt, err := kc.ASExchange(ctxb, krb5.NewPrincipalName(krb5.NameTypePrincipal, "alice"), client.Password("correct horse battery"), client.ASOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := kc.TGSExchange(ctxb, tgt, krb5.NewPrincipalName(krb5.NameTypeSrvHst, sampleSPN), client.TGSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cc := st.CCache()
	cred, err := gss.CredentialFromCCache(&cc)
	if err != nil {
		t.Fatal(err)
	}

	var conn net.Conn
	for i := 0; i < 100; i++ {
		if conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("gss-server did not start: %v\n%s", err, srvOut.String())
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)

	ini, tok, err := gss.NewInitiator(cred, gss.InitiatorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\ngss-server:\n%s", err, srvOut.String())
		}
	}
	must(sendTok(conn, tokNoop|tokContextNext, nil))
	must(sendTok(conn, tokContext, tok))
	flags, rep, err := recvTok(r)
	must(err)
	if flags&tokContext == 0 {
		t.Fatalf("reply flags %d", flags)
	}
	ctx, err := ini.Step(rep)
	must(err)
	if !ctx.Mutual {
		t.Fatal("MIT's acceptor did not authenticate itself")
	}
	const msg = "hello from Warden"
	w, err := ctx.Wrap([]byte(msg), true)
	must(err)
	must(sendTok(conn, tokData|tokWrapped|tokEncrypted|tokSendMIC, w))
	flags, mic, err := recvTok(r)
	must(err)
	if flags != tokMIC {
		t.Fatalf("expected a MIC token, got flags %d", flags)
	}
	must(ctx.VerifyMIC([]byte(msg), mic))
	must(sendTok(conn, tokNoop, nil))
	srv.Wait()
	if !strings.Contains(srvOut.String(), msg) {
		t.Fatalf("gss-server did not print our message:\n%s", srvOut.String())
	}
}
