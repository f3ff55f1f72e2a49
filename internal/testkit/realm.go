package testkit

import (
	"context"
	"crypto/rand"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/warden-auth/warden/admin"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/store"
	"github.com/warden-auth/warden/store/sqlite"
)

// Realm is a throwaway Warden realm on a temporary SQLite account DB.
type Realm struct {
	Name  string
	Dir   string
	Store store.Store
	Admin *admin.Admin
}

// NewRealm creates a realm in t.TempDir(); it is closed with the test.
func NewRealm(t testing.TB, name string) *Realm {
	t.Helper()
	dir := t.TempDir()
	mk := make([]byte, store.MasterKeySize)
	if _, err := rand.Read(mk); err != nil {
		t.Fatal(err)
	}
	st := OpenStore(t, dir, mk)
	ctx := context.Background()
	if _, err := admin.InitRealm(ctx, st, name, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	a, err := admin.New(ctx, admin.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return &Realm{Name: name, Dir: dir, Store: st, Admin: a}
}

// OpenStore opens, creating it if need be, the SQLite account DB in dir
// sealed under the master key mk; it is closed with the test.
func OpenStore(t testing.TB, dir string, mk []byte) *sqlite.DB {
	t.Helper()
	sealer, err := store.NewSealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(dir, "accounts.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// AddUser creates a user with a password.
func (r *Realm) AddUser(t testing.TB, name, password string, o admin.UserOptions) *store.Account {
	t.Helper()
	a, err := r.Admin.AddUser(context.Background(), name, password, o)
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	return a
}

// AddService creates a service and writes its keytab to Dir; it returns
// the keytab's path.
func (r *Realm) AddService(t testing.TB, spn string, o admin.ServiceOptions) string {
	t.Helper()
	ctx := context.Background()
	if _, err := r.Admin.AddService(ctx, spn, o); err != nil {
		t.Fatalf("add service %s: %v", spn, err)
	}
	kt, _, err := r.Admin.Keytab(ctx, spn, false)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.Dir, filepath.Base(spn)+".keytab")
	if err := kt.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// KDC is a Warden KDC serving a Realm on 127.0.0.1 (UDP and TCP, one port).
type KDC struct {
	*kdc.KDC
	Addr string
}

// StartKDC serves the realm until the test ends. cfg may set Time etc.;
// its Store is filled in.
func StartKDC(t testing.TB, r *Realm, cfg kdc.Config, scfg kdc.ServeConfig) *KDC {
	t.Helper()
	cfg.Store = r.Store
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	k, err := kdc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// UDP and TCP share one port number; the kernel picks a free UDP
	// port whose TCP twin may be taken, so try a few.
	var udp *net.UDPConn
	var tcp net.Listener
	for attempt := 0; ; attempt++ {
		udp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if tcp, err = net.Listen("tcp", udp.LocalAddr().String()); err == nil {
			break
		}
		udp.Close()
		if attempt == 20 {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = k.Serve(ctx, udp, tcp, scfg)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		k.Close()
	})
	return &KDC{KDC: k, Addr: udp.LocalAddr().String()}
}
