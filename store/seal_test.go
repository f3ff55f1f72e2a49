package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func testSecrets() Secrets {
	return Secrets{
		Keys: []Key{
			{EType: 18, KVNO: 3, Salt: "EXAMPLE.TESTalice", S2KParams: []byte{0, 0, 0x10, 0}, Value: bytes.Repeat([]byte{0xaa}, 32)},
			{EType: 17, KVNO: 3, Salt: "EXAMPLE.TESTalice", Value: bytes.Repeat([]byte{0xbb}, 16)},
			{EType: 23, KVNO: 2, Value: bytes.Repeat([]byte{0xcc}, 16)},
		},
		NTHash: bytes.Repeat([]byte{0xdd}, 16),
		HA1s: []HA1{
			{Algorithm: "SHA-256", Realm: "example.test", Value: bytes.Repeat([]byte{0x01}, 32)},
			{Algorithm: "MD5", Realm: "example.test", Value: bytes.Repeat([]byte{0x02}, 16)},
		},
	}
}

func newTestSealer(t *testing.T, fill byte) *Sealer {
	t.Helper()
	s, err := NewSealer(bytes.Repeat([]byte{fill}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	x := newTestSealer(t, 1)
	in := testSecrets()
	blob, err := x.Seal(1001, in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, in.NTHash) || bytes.Contains(blob, in.Keys[0].Value) {
		t.Fatal("sealed blob contains secret bytes in clear")
	}
	out, err := x.Open(1001, blob)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}

	// Two seals of the same secrets differ (fresh nonce), so equal
	// passwords are not visible as equal rows.
	blob2, err := x.Seal(1001, in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(blob, blob2) {
		t.Fatal("two seals produced the same blob")
	}
}

func TestSealEmpty(t *testing.T) {
	x := newTestSealer(t, 1)
	// An empty blob is an account with no secrets, not an error.
	s, err := x.Open(1001, nil)
	if err != nil || !reflect.DeepEqual(s, Secrets{}) {
		t.Fatalf("Open(nil) = %+v, %v", s, err)
	}
}

func TestSealRefusals(t *testing.T) {
	x := newTestSealer(t, 1)
	blob, err := x.Seal(1001, testSecrets())
	if err != nil {
		t.Fatal(err)
	}
	tampered := func(i int) []byte {
		b := bytes.Clone(blob)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name string
		x    *Sealer
		rid  uint32
		blob []byte
	}{
		{"wrong key", newTestSealer(t, 2), 1001, blob},
		{"moved to another RID", x, 1002, blob},
		{"tampered version", x, 1001, tampered(0)},
		{"tampered nonce", x, 1001, tampered(1)},
		{"tampered ciphertext", x, 1001, tampered(20)},
		{"tampered tag", x, 1001, tampered(len(blob) - 1)},
		{"truncated", x, 1001, blob[:len(blob)-1]},
		{"too short", x, 1001, blob[:10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.x.Open(tt.rid, tt.blob); !errors.Is(err, ErrSealed) {
				t.Fatalf("Open = %v, want ErrSealed", err)
			}
		})
	}
}

func TestNewSealerKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes) succeeded", n)
		}
	}
}

func TestMasterKeyStash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")

	if _, err := LoadMasterKey(path); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LoadMasterKey(missing) = %v, want ErrNotFound", err)
	}

	k, err := CreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k) != MasterKeySize {
		t.Fatalf("key is %d bytes", len(k))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("stash mode %v, want 0600", st.Mode().Perm())
	}

	got, err := LoadMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, k) {
		t.Fatal("loaded key differs from created key")
	}

	// Overwriting would lose every secret sealed under the old key.
	if _, err := CreateMasterKey(path); !errors.Is(err, ErrExists) {
		t.Fatalf("CreateMasterKey(existing) = %v, want ErrExists", err)
	}
	if again, _ := LoadMasterKey(path); !bytes.Equal(again, k) {
		t.Fatal("refused CreateMasterKey still changed the stash")
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKey(path); err == nil {
		t.Fatal("LoadMasterKey accepted a 0644 stash")
	}
}

func TestLoadMasterKeyWrongSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(path, make([]byte, 16), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKey(path); err == nil {
		t.Fatal("LoadMasterKey accepted a 16-byte stash")
	}
}
