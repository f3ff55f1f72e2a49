package sqlite

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/warden-auth/warden/store"
)

func testSealer(t *testing.T, fill byte) *store.Sealer {
	t.Helper()
	s, err := store.NewSealer(bytes.Repeat([]byte{fill}, store.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenSmoke(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "accounts.db")
	db, err := Open(path, testSealer(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.InitRealm(ctx, store.Realm{Name: "EXAMPLE.TEST", DomainSID: "S-1-5-21-1-2-3"}); err != nil {
		t.Fatal(err)
	}
	a := &store.Account{Kind: store.KindUser, Name: "alice", SPNs: []string{"HTTP/web"},
		Secrets: store.Secrets{NTHash: []byte{1, 2, 3}}}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := db.Account(ctx, "ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("got %+v\nwant %+v", got, a)
	}
}
