package kcrypto

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-auth/warden/krb5"
)

func loadVectors(t *testing.T, kind string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Split(line, "|")
		if fields[0] == kind {
			out = append(out, fields[1:])
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s vectors", kind)
	}
	return out
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// text decodes a vector string: "hex:..." is hex, "hex:REPEAT_EFBFBF_120"
// is MS-KILE 4.4's 120 x U+FFFF in UTF-8, anything else is literal.
func text(t *testing.T, s string) string {
	if s == "hex:REPEAT_EFBFBF_120" {
		return strings.Repeat("\xef\xbf\xbf", 120)
	}
	if strings.HasPrefix(s, "hex:") {
		return string(unhex(t, s[4:]))
	}
	return s
}

func etype(t *testing.T, s string) krb5.EncType {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return krb5.EncType(n)
}

func usage(t *testing.T, s string) Usage {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return Usage(n)
}

var allowRC4 = Options{AllowRC4: true}

func TestNFold(t *testing.T) {
	for _, v := range loadVectors(t, "nfold") {
		n, _ := strconv.Atoi(v[1])
		if got := hex.EncodeToString(nfold([]byte(v[0]), n)); got != v[2] {
			t.Errorf("nfold(%q, %d) = %s, want %s", v[0], n, got, v[2])
		}
	}
}

func TestStringToKey(t *testing.T) {
	for _, v := range loadVectors(t, "s2k") {
		var params []byte
		if v[3] != "" {
			params = unhex(t, v[3])
		}
		k, err := StringToKey(etype(t, v[0]), text(t, v[1]), text(t, v[2]), params, allowRC4)
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if got := hex.EncodeToString(k.Bytes()); got != v[4] {
			t.Errorf("s2k %v %q: got %s, want %s", k.EType(), v[1], got, v[4])
		}
	}
}

func TestCTS(t *testing.T) {
	for _, v := range loadVectors(t, "cts") {
		b, _ := aes.NewCipher(unhex(t, v[0]))
		in, want := unhex(t, v[1]), unhex(t, v[2])
		got := make([]byte, len(in))
		ctsEncrypt(b, got, in, new(ctsScratch))
		if !bytes.Equal(got, want) {
			t.Errorf("cts encrypt: got %x, want %x", got, want)
		}
		back := make([]byte, len(in))
		ctsDecrypt(b, back, want, new(ctsScratch))
		if !bytes.Equal(back, in) {
			t.Errorf("cts decrypt: got %x, want %x", back, in)
		}
		// In place, both ways.
		buf := append([]byte(nil), in...)
		ctsEncrypt(b, buf, buf, new(ctsScratch))
		if !bytes.Equal(buf, want) {
			t.Errorf("cts encrypt in place: got %x, want %x", buf, want)
		}
		ctsDecrypt(b, buf, buf, new(ctsScratch))
		if !bytes.Equal(buf, in) {
			t.Errorf("cts decrypt in place: got %x, want %x", buf, in)
		}
	}
	// Every length from one block to five, both ways.
	b, _ := aes.NewCipher(make([]byte, 16))
	for n := 16; n <= 80; n++ {
		in := make([]byte, n)
		rand.Read(in)
		c := make([]byte, n)
		ctsEncrypt(b, c, in, new(ctsScratch))
		p := make([]byte, n)
		ctsDecrypt(b, p, c, new(ctsScratch))
		if !bytes.Equal(p, in) {
			t.Fatalf("cts round trip failed at %d bytes", n)
		}
	}
}

func TestDerivedKeys(t *testing.T) {
	for _, v := range loadVectors(t, "derive") {
		k, err := NewKey(krb5.EncryptionKey{KeyType: etype(t, v[0]), KeyValue: unhex(t, v[1])}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		u := usage(t, v[2])
		for i, suffix := range []byte{0x99, 0xAA, 0x55} {
			n := len(v[3+i]) / 2
			if got := hex.EncodeToString(k.dk(u, suffix, n)); got != v[3+i] {
				t.Errorf("%v usage %d constant %#x: got %s, want %s", k.EType(), u, suffix, got, v[3+i])
			}
		}
	}
}

func TestPRF(t *testing.T) {
	for _, v := range loadVectors(t, "prf") {
		k, _ := NewKey(krb5.EncryptionKey{KeyType: etype(t, v[0]), KeyValue: unhex(t, v[1])}, Options{})
		got, err := k.PRF(unhex(t, v[2]))
		if err != nil || hex.EncodeToString(got) != v[3] {
			t.Errorf("PRF %v: got %x (%v), want %s", k.EType(), got, err, v[3])
		}
	}
}

func TestChecksumVectors(t *testing.T) {
	for _, v := range loadVectors(t, "cksum") {
		k, _ := NewKey(krb5.EncryptionKey{KeyType: etype(t, v[0]), KeyValue: unhex(t, v[1])}, Options{})
		data := unhex(t, v[3])
		c, err := k.Checksum(usage(t, v[2]), data)
		if err != nil || hex.EncodeToString(c.Checksum) != v[4] {
			t.Errorf("checksum %v: got %x (%v), want %s", k.EType(), c.Checksum, err, v[4])
		}
		if err := k.VerifyChecksum(usage(t, v[2]), data, c); err != nil {
			t.Errorf("verify: %v", err)
		}
		bad := c
		bad.Checksum = append([]byte(nil), c.Checksum...)
		bad.Checksum[0] ^= 1
		if err := k.VerifyChecksum(usage(t, v[2]), data, bad); krb5.CodeOf(err) != krb5.KRBAPErrModified {
			t.Errorf("altered checksum: got %v, want KRB_AP_ERR_MODIFIED", err)
		}
		bad.CksumType = krb5.CksumHMACMD5
		if err := k.VerifyChecksum(usage(t, v[2]), data, bad); krb5.CodeOf(err) != krb5.KRBAPErrInappCksum {
			t.Errorf("wrong checksum type: got %v, want KRB_AP_ERR_INAPP_CKSUM", err)
		}
	}
}

func TestEncryptVectors(t *testing.T) {
	for _, v := range loadVectors(t, "encrypt") {
		k, _ := NewKey(krb5.EncryptionKey{KeyType: etype(t, v[0]), KeyValue: unhex(t, v[1])}, Options{})
		u := usage(t, v[2])
		plain, conf, want := unhex(t, v[3]), unhex(t, v[4]), unhex(t, v[5])
		got, err := k.EncryptWithConfounder(u, plain, conf)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("encrypt %v: got %x (%v), want %x", k.EType(), got, err, want)
		}
		back, err := k.Decrypt(u, want)
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("decrypt %v: got %x (%v)", k.EType(), back, err)
		}
		// Vectors that must fail.
		flipped := append([]byte(nil), want...)
		flipped[len(flipped)-1] ^= 1
		for name, c := range map[string][]byte{"flipped MAC": flipped, "truncated": want[:20], "empty": nil} {
			if _, err := k.Decrypt(u, c); krb5.CodeOf(err) != krb5.KRBAPErrBadIntegrity {
				t.Errorf("%s: got %v, want KRB_AP_ERR_BAD_INTEGRITY", name, err)
			}
		}
		if _, err := k.Decrypt(u+1, want); krb5.CodeOf(err) != krb5.KRBAPErrBadIntegrity {
			t.Errorf("wrong usage: got %v, want KRB_AP_ERR_BAD_INTEGRITY", err)
		}
	}
}

func TestCF2(t *testing.T) {
	for _, v := range loadVectors(t, "cf2") {
		e := etype(t, v[0])
		k1, err := StringToKey(e, v[1], v[1], nil, allowRC4)
		if err != nil {
			t.Fatal(err)
		}
		k2, _ := StringToKey(e, v[2], v[2], nil, allowRC4)
		k, err := CF2(k1, k2, "a", "b")
		if err != nil || hex.EncodeToString(k.Bytes()) != v[3] || k.EType() != e {
			t.Errorf("CF2 %v: got %x (%v)", e, k.Bytes(), err)
		}
	}
}

func TestRoundTripEveryEType(t *testing.T) {
	for _, e := range []krb5.EncType{17, 18, 19, 20, 23} {
		k, err := RandomKey(e, rand.Reader, allowRC4)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n <= 70; n++ {
			plain := make([]byte, n)
			rand.Read(plain)
			ed, err := k.EncryptData(rand.Reader, UsageAPRepEncPart, plain, 3, true)
			if err != nil {
				t.Fatal(err)
			}
			back, err := k.DecryptData(UsageAPRepEncPart, ed)
			if err != nil || !bytes.Equal(back, plain) {
				t.Fatalf("%v len %d: round trip failed: %v", e, n, err)
			}
		}
		c, _ := k.Checksum(UsagePACSignature, []byte("pac"))
		if err := k.VerifyChecksum(UsagePACSignature, []byte("pac"), c); err != nil {
			t.Errorf("%v checksum: %v", e, err)
		}
	}
}

// AppendEncrypt keeps what dst held, may encrypt a plaintext that lies
// in dst, gives what Encrypt gives (both decrypt), and allocates nothing
// when dst has room.
func TestAppendEncrypt(t *testing.T) {
	for _, e := range []krb5.EncType{17, 18, 19, 20, 23} {
		k, err := RandomKey(e, rand.Reader, allowRC4)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 0, 512)
		buf = append(buf, "header"...)
		buf = append(buf, bytes.Repeat([]byte{7}, 100)...)
		plain := buf[6:]
		out, err := k.AppendEncrypt(buf, rand.Reader, UsageTicket, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out[:len(buf)], buf) || string(out[:6]) != "header" {
			t.Fatalf("%v: dst's content changed", e)
		}
		back, err := k.Decrypt(UsageTicket, out[len(buf):])
		if err != nil || !bytes.Equal(back, bytes.Repeat([]byte{7}, 100)) {
			t.Fatalf("%v: decrypting what AppendEncrypt appended: %v", e, err)
		}
		if e == krb5.ETypeRC4HMAC || raceEnabled {
			continue // the legacy RC4 path allocates
		}
		allocs := testing.AllocsPerRun(50, func() {
			if _, err := k.AppendEncrypt(buf[:106], rand.Reader, UsageTicket, plain); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: AppendEncrypt into a buffer with room allocated %v times", e, allocs)
		}
	}
}

// TestBaseScheduleDropped checks that a key keeps its AES schedule only
// while its first usages are derived, and still derives later usages
// (and checksum keys) right once it has dropped it.
func TestBaseScheduleDropped(t *testing.T) {
	k, err := RandomKey(krb5.ETypeAES256CTSHMACSHA196, rand.Reader, Options{})
	if err != nil {
		t.Fatal(err)
	}
	k.derive(UsageASReqPAEncTimestamp)
	if k.base == nil {
		t.Fatal("the schedule is gone after the first usage; the second would make it again")
	}
	k.derive(UsageASRepEncPart)
	if k.base != nil {
		t.Fatal("the schedule is still kept after the inline usages are derived")
	}
	for _, u := range []Usage{UsageTicket, UsageKrbPriv} {
		fresh, _ := NewKey(k.EncryptionKey(), Options{})
		c, err := fresh.Encrypt(rand.Reader, u, []byte("late usage"))
		if err != nil {
			t.Fatal(err)
		}
		if p, err := k.Decrypt(u, c); err != nil || string(p) != "late usage" {
			t.Errorf("usage %d derived after the schedule was dropped: %v", u, err)
		}
		a, _ := k.Checksum(u, []byte("x"))
		b, _ := fresh.Checksum(u, []byte("x"))
		if !bytes.Equal(a.Checksum, b.Checksum) {
			t.Errorf("usage %d: checksum key derived after the drop differs", u)
		}
	}
	if _, err := k.PRFPlus("pepper", 32); err != nil {
		t.Fatal(err)
	}
	if k.base != nil {
		t.Error("a derivation after the drop kept the schedule again")
	}
}

// A key used for more usages than it holds inline spills the rest into
// its slice; every usage still derives the keys a fresh key derives, also
// when the usages are first used concurrently.
func TestUsageCacheSpill(t *testing.T) {
	usages := []Usage{UsageTicket, UsageASRepEncPart, UsageTGSReqAuthenticator, UsageFastEnc, UsageAPRepEncPart, UsageKrbPriv}
	for _, e := range []krb5.EncType{17, 20, 23} {
		k, err := RandomKey(e, rand.Reader, allowRC4)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		for range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for _, u := range usages {
					k.derive(u)
				}
			}()
		}
		for range 4 {
			<-done
		}
		for _, u := range usages {
			fresh, _ := NewKey(k.EncryptionKey(), allowRC4)
			c, err := fresh.Encrypt(rand.Reader, u, []byte("usage"))
			if err != nil {
				t.Fatal(err)
			}
			if p, err := k.Decrypt(u, c); err != nil || string(p) != "usage" {
				t.Errorf("%v usage %d: the cached derivation differs from a fresh one: %v", e, u, err)
			}
			if k.enc.get(u) == nil {
				t.Errorf("%v usage %d: not cached", e, u)
			}
		}
	}
}

func TestPolicyErrors(t *testing.T) {
	tests := []struct {
		name     string
		etype    krb5.EncType
		opt      Options
		wantCode krb5.ErrorCode
		reason   string
	}{
		{"rc4 not allowed", krb5.ETypeRC4HMAC, Options{}, krb5.KDCErrETypeNoSupp, "rc4-hmac (23) is disabled"},
		{"des", krb5.ETypeDESCBCMD5, allowRC4, krb5.KDCErrETypeNoSupp, "des-cbc-md5 (3)"},
		{"unknown", 99, Options{}, krb5.KDCErrETypeNoSupp, "enctype 99"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StringToKey(tc.etype, "pw", "salt", nil, tc.opt)
			var ke *krb5.Error
			if !errors.As(err, &ke) || ke.Code != tc.wantCode || !strings.Contains(ke.Reason, tc.reason) {
				t.Fatalf("got %v, want %v with %q", err, tc.wantCode, tc.reason)
			}
			if _, err := NewKey(krb5.EncryptionKey{KeyType: tc.etype, KeyValue: make([]byte, 16)}, tc.opt); krb5.CodeOf(err) != tc.wantCode {
				t.Fatalf("NewKey: got %v", err)
			}
		})
	}
	// Oversized iteration counts from a KDC are refused when capped.
	if _, err := StringToKey(18, "pw", "s", []byte{0x10, 0, 0, 0}, Options{MaxIterations: 100000}); krb5.CodeOf(err) != krb5.KDCErrPreauthFailed {
		t.Errorf("iteration cap: got %v", err)
	}
	if _, err := StringToKey(18, "pw", "s", []byte{1}, Options{}); krb5.CodeOf(err) != krb5.KDCErrPreauthFailed {
		t.Errorf("short s2kparams: got %v", err)
	}
	k, _ := RandomKey(18, rand.Reader, Options{})
	ed := krb5.EncryptedData{EType: 17, Cipher: make([]byte, 64)}
	if _, err := k.DecryptData(UsageTicket, ed); err == nil || !strings.Contains(err.Error(), "encrypted with aes128-cts-hmac-sha1-96 but the key is aes256-cts-hmac-sha1-96") {
		t.Errorf("etype mismatch: got %v", err)
	}
	if _, err := NewKey(krb5.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 16)}, Options{}); err == nil {
		t.Error("short key accepted")
	}
}

func FuzzDecrypt(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add(make([]byte, 28), uint8(1))
	f.Add(make([]byte, 60), uint8(2))
	f.Add(make([]byte, 40), uint8(4))
	etypes := []krb5.EncType{17, 18, 19, 20, 23}
	keys := make([]*Key, len(etypes))
	for i, e := range etypes {
		keys[i], _ = RandomKey(e, rand.Reader, allowRC4)
	}
	f.Fuzz(func(t *testing.T, c []byte, which uint8) {
		k := keys[int(which)%len(keys)]
		if p, err := k.Decrypt(UsageTicket, c); err == nil && len(p) > len(c) {
			t.Fatal("plaintext longer than ciphertext")
		}
	})
}

func benchKey(b *testing.B, e krb5.EncType) *Key {
	k, err := RandomKey(e, rand.Reader, allowRC4)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func BenchmarkEncrypt200(b *testing.B) {
	for _, e := range []krb5.EncType{17, 18, 19, 20, 23} {
		b.Run(e.String(), func(b *testing.B) {
			k := benchKey(b, e)
			p := make([]byte, 200)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				k.Encrypt(rand.Reader, UsageASRepEncPart, p)
			}
		})
	}
}

func BenchmarkDecrypt200(b *testing.B) {
	for _, e := range []krb5.EncType{17, 18, 19, 20, 23} {
		b.Run(e.String(), func(b *testing.B) {
			k := benchKey(b, e)
			c, _ := k.Encrypt(rand.Reader, UsageASRepEncPart, make([]byte, 200))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := k.Decrypt(UsageASRepEncPart, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, e := range []krb5.EncType{18, 20} {
		b.Run(e.String(), func(b *testing.B) {
			k := benchKey(b, e)
			d := make([]byte, 300)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				k.Checksum(UsageTGSReqAuthCksum, d)
			}
		})
	}
}

// scratch.hmac is HMAC: compared with crypto/hmac for every hash, short and
// long keys (longer than a block are hashed first) and split messages,
// with pooled states reused across them.
func TestHMACSum(t *testing.T) {
	for _, h := range []func() hash.Hash{sha1.New, sha256.New, sha512.New384} {
		// One pool for every key and message: a reused state must not
		// carry anything from the one before.
		pool := newScratchPool(h)
		for _, kl := range []int{200, 0, 16, 32, 64, 129, 16} {
			key := make([]byte, kl)
			rand.Read(key)
			for _, ml := range []int{0, 1, 55, 64, 300} {
				msg := make([]byte, ml)
				rand.Read(msg)
				m := hmac.New(h, key)
				m.Write(msg)
				want := m.Sum(nil)
				st := pool.get()
				got := st.hmac(key, []byte("x"), msg[:ml/2], msg[ml/2:])
				pool.put(st)
				if !bytes.Equal(got[1:], want) || got[0] != 'x' {
					t.Errorf("key %d msg %d: got %x, want %x", kl, ml, got[1:], want)
				}
			}
		}
	}
}

func TestInitKey(t *testing.T) {
	ek := krb5.EncryptionKey{KeyType: krb5.ETypeAES256CTSHMACSHA196, KeyValue: bytes.Repeat([]byte{7}, 32)}
	var k Key
	if err := InitKey(&k, ek, Options{}); err != nil {
		t.Fatal(err)
	}
	ref, _ := NewKey(ek, Options{})
	conf := bytes.Repeat([]byte{1}, 16)
	a, _ := k.EncryptWithConfounder(UsageTicket, []byte("ticket"), conf)
	b, _ := ref.EncryptWithConfounder(UsageTicket, []byte("ticket"), conf)
	if !bytes.Equal(a, b) {
		t.Error("a key made by InitKey encrypts differently from one made by NewKey")
	}

	var bad Key
	for _, ek := range []krb5.EncryptionKey{
		{KeyType: krb5.ETypeAES256CTSHMACSHA196, KeyValue: make([]byte, 16)},
		{KeyType: krb5.ETypeRC4HMAC, KeyValue: make([]byte, 16)},
	} {
		if err := InitKey(&bad, ek, Options{}); err == nil {
			t.Errorf("InitKey(%v, %d bytes) succeeded", ek.KeyType, len(ek.KeyValue))
		}
	}
	if bad.etype != 0 || bad.key.n != 0 || bad.p != nil {
		t.Error("a failed InitKey changed its Key")
	}

	defer func() {
		if recover() == nil {
			t.Error("InitKey on a Key in use did not panic")
		}
	}()
	_ = InitKey(&k, ek, Options{})
}
