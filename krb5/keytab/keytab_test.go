package keytab

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/warden-auth/warden/krb5"
)

func sample() *Keytab {
	ts := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	kt := &Keytab{}
	for i, et := range []krb5.EncType{17, 18, 19, 20} {
		kt.Add(Entry{
			Principal: krb5.PrincipalName{NameType: krb5.NameTypeSrvHst, NameString: []string{"HTTP", "web.example.test"}},
			Realm:     "EXAMPLE.TEST", Timestamp: ts, KVNO: uint32(i + 1),
			Key: krb5.EncryptionKey{KeyType: et, KeyValue: bytes.Repeat([]byte{byte(i + 1)}, 16+16*(i%2))},
		})
	}
	kt.Add(Entry{Principal: krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{"host", "a"}},
		Realm: "EXAMPLE.TEST", Timestamp: ts, KVNO: 300, Key: krb5.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)}})
	return kt
}

func TestRoundTrip(t *testing.T) {
	kt := sample()
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, kt) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, kt)
	}
	again, _ := got.Marshal()
	if !bytes.Equal(again, b) {
		t.Fatal("re-marshal differs")
	}
	// Every strict prefix fails, except those that end exactly on a record
	// boundary, which are shorter valid keytabs.
	boundaries := map[int]bool{2: true}
	off := 2
	for range kt.Entries {
		n := int(uint32(b[off])<<24 | uint32(b[off+1])<<16 | uint32(b[off+2])<<8 | uint32(b[off+3]))
		off += 4 + n
		boundaries[off] = true
	}
	for i := 0; i < len(b); i++ {
		_, err := Parse(b[:i])
		if boundaries[i] != (err == nil) {
			t.Fatalf("prefix %d: err %v (record boundary %v)", i, err, boundaries[i])
		}
	}
}

func TestMITGolden(t *testing.T) {
	// Written by MIT ktutil 1.20: addent -password -p HTTP/web.mit.test@MIT.TEST
	// -k 3 -e aes256-cts-hmac-sha1-96 (password "secret") and the same for
	// aes128-cts-hmac-sha1-96, then wkt. Keys as printed by klist -k -K.
	b, err := os.ReadFile("testdata/mit-ktutil.keytab")
	if err != nil {
		t.Skip("golden file not generated yet:", err)
	}
	kt, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(kt.Entries) != 2 || kt.Entries[0].PrincipalString() != "HTTP/web.mit.test@MIT.TEST" || kt.Entries[0].KVNO != 3 ||
		kt.Entries[0].Key.KeyType != 18 || kt.Entries[1].Key.KeyType != 17 {
		t.Fatalf("MIT keytab decoded wrong: %+v", kt.Entries)
	}
	again, _ := kt.Marshal()
	if !bytes.Equal(again, b) {
		t.Fatalf("MIT keytab re-marshals differently:\n MIT % x\nours % x", b, again)
	}
}

func TestFind(t *testing.T) {
	kt := sample()
	web := krb5.PrincipalName{NameType: krb5.NameTypeSrvHst, NameString: []string{"HTTP", "web.example.test"}}
	tests := []struct {
		name     string
		p        krb5.PrincipalName
		realm    string
		kvno     uint32
		etype    krb5.EncType
		wantKVNO uint32
		wantErr  string
	}{
		{"highest", web, "EXAMPLE.TEST", 0, 0, 4, ""},
		{"by kvno", web, "EXAMPLE.TEST", 2, 0, 2, ""},
		{"by etype", web, "EXAMPLE.TEST", 0, 19, 3, ""},
		{"stale keytab", web, "EXAMPLE.TEST", 7, 18, 0, "kvno 7 [aes256-cts-hmac-sha1-96] is needed: re-export the keytab"},
		{"wrong realm", web, "OTHER.TEST", 0, 0, 0, "keytab has no entry for HTTP/web.example.test@OTHER.TEST (it holds: HTTP/web.example.test@EXAMPLE.TEST, host/a@EXAMPLE.TEST)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := kt.Find(tc.p, tc.realm, tc.kvno, tc.etype)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || e.KVNO != tc.wantKVNO {
				t.Fatalf("got kvno %d, %v; want %d", e.KVNO, err, tc.wantKVNO)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := sample().Marshal()
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "bad magic"},
		{"v1", []byte{5, 1}, "0x0501"},
		{"v9", []byte{5, 9}, "unknown version"},
		{"record overruns", append([]byte{5, 2, 0, 0, 1, 0}, 1, 2), "overruns"},
		{"min int size", []byte{5, 2, 0x80, 0, 0, 0}, "overruns"},
		{"component overruns record", append([]byte{5, 2, 0, 0, 0, 4}, 0xff, 0xff, 0, 0), "truncated"},
		{"huge", make([]byte, MaxFileSize+1), "more than"},
	}
	_ = good
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	// A hole (negative size) is skipped.
	hole := append([]byte{5, 2, 0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 0}, good[2:]...)
	if kt, err := Parse(hole); err != nil || len(kt.Entries) != len(sample().Entries) {
		t.Fatalf("hole: %v", err)
	}
}

func TestWriteFileLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.keytab")
	if err := sample().WriteFile(path); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	kt, err := Load(path)
	if err != nil || len(kt.Entries) != 5 {
		t.Fatalf("Load: %v", err)
	}
}

func FuzzKeytabParse(f *testing.F) {
	b, _ := sample().Marshal()
	f.Add(b)
	if g, err := os.ReadFile("testdata/mit-ktutil.keytab"); err == nil {
		f.Add(g)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		kt, err := Parse(b)
		if err != nil {
			return
		}
		m, err := kt.Marshal()
		if err != nil {
			return
		}
		kt2, err := Parse(m)
		if err != nil || !reflect.DeepEqual(kt.Entries, kt2.Entries) && len(kt.Entries) > 0 {
			t.Fatalf("re-parse of own encoding failed: %v", err)
		}
	})
}
