package digest

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// vector is one entry of testdata/vectors.json: RFC 7616 3.9 (with the
// SHA-512-256 erratum corrected), values derived from the same inputs,
// and RFC 2617 3.5.
type vector struct {
	Name          string `json:"name"`
	Algorithm     string `json:"algorithm"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	Realm         string `json:"realm"`
	Method        string `json:"method"`
	URI           string `json:"uri"`
	Nonce         string `json:"nonce"`
	CNonce        string `json:"cnonce"`
	NC            string `json:"nc"`
	QOP           string `json:"qop"`
	UserHash      bool   `json:"userhash"`
	UserHashValue string `json:"userhash_value"`
	HA1           string `json:"ha1"`
	Response      string `json:"response"`
	RspAuth       string `json:"rspauth"`
	Header        string `json:"header"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func (v vector) validation(t testing.TB) *Validation {
	a, ok := ParseAlgorithm(v.Algorithm)
	if !ok {
		t.Fatalf("%s: algorithm %q", v.Name, v.Algorithm)
	}
	user := v.Username
	if v.UserHash {
		user = v.UserHashValue
	}
	return &Validation{Algorithm: a, Username: user, UserHash: v.UserHash, Realm: v.Realm, Nonce: v.Nonce, CNonce: v.CNonce,
		NC: v.NC, QOP: v.QOP, Method: v.Method, URI: v.URI, Response: v.Response}
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			val := v.validation(t)
			a := val.Algorithm
			if got := HA1(a, v.Username, v.Realm, v.Password); got != v.HA1 {
				t.Fatalf("H(A1) = %s, want %s", got, v.HA1)
			}
			if v.UserHash {
				if got := UserHash(a, v.Username, v.Realm); got != v.UserHashValue {
					t.Fatalf("userhash = %s, want %s", got, v.UserHashValue)
				}
			}
			resp, rsp := val.Expected(v.HA1)
			if resp != v.Response {
				t.Fatalf("response = %s, want %s", resp, v.Response)
			}
			if v.RspAuth != "" && rsp != v.RspAuth {
				t.Fatalf("rspauth = %s, want %s", rsp, v.RspAuth)
			}
			// The AA's side: the stored H(A1) is raw bytes.
			raw, _ := hex.DecodeString(v.HA1)
			got, err := val.Verify(raw)
			if err != nil || got != rsp {
				t.Fatalf("Verify = %s, %v", got, err)
			}
			raw[0] ^= 1
			if _, err := val.Verify(raw); !errors.Is(err, &Error{Code: WrongPassword}) {
				t.Fatalf("Verify with another H(A1): %v", err)
			}
			if v.Header == "" {
				return
			}
			c, err := ParseCredentials(v.Header)
			if err != nil {
				t.Fatal(err)
			}
			if pv := c.Validation(v.Method); *pv != *val {
				t.Fatalf("parsed %+v\nwant   %+v", pv, val)
			}
		})
	}
}

// TestSHA512_256Erratum: RFC 7616 3.9.2 prints a userhash and response
// that only truncated SHA-512 reproduces; SHA-512/256 (FIPS 180-4), which
// the RFC mandates and this package uses, must not verify them.
func TestSHA512_256Erratum(t *testing.T) {
	const (
		printedUserHash = "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec"
		printedResponse = "ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd"
	)
	sum := sha512.Sum512([]byte("J\u00e4s\u00f8n Doe:api@example.org"))
	if hex.EncodeToString(sum[:32]) != printedUserHash {
		t.Fatal("the RFC's userhash is not truncated SHA-512 after all; revisit the erratum note")
	}
	if UserHash(SHA512_256, "J\u00e4s\u00f8n Doe", "api@example.org") == printedUserHash {
		t.Fatal("SHA-512-256 computed as truncated SHA-512")
	}
	var v vector
	for _, x := range loadVectors(t) {
		if x.UserHash {
			v = x
		}
	}
	val := v.validation(t)
	val.Username, val.Response = printedUserHash, printedResponse
	raw, _ := hex.DecodeString(v.HA1)
	if _, err := val.Verify(raw); !errors.Is(err, &Error{Code: WrongPassword}) {
		t.Fatalf("the RFC's printed response verified: %v", err)
	}
}

// The name of RFC 7616 3.9.2 without userhash travels as username*.
func TestUsernameExt(t *testing.T) {
	const h = `Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="api@example.org", uri="/doe.json", algorithm=SHA-512-256, ` +
		`nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", nc=00000001, cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", qop=auth, response="00", opaque="x"`
	c, err := ParseCredentials(h)
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "J\u00e4s\u00f8n Doe" || !c.UsernameExt {
		t.Fatalf("username %q ext=%v", c.Username, c.UsernameExt)
	}
	// And back: a name outside ASCII is written as username*.
	c.Opaque = ""
	if again, err := ParseCredentials(c.String()); err != nil || *again != *c {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, again, c)
	}
}
