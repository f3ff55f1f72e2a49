package httpauth_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/warden-auth/warden/httpauth"
)

// Seeds: real header shapes (an MIT curl token prefix, the gokrb5
// accept-completed reply, Windows-style challenges) and the edge cases of
// TestParseNegotiate; testdata/fuzz holds more.
var headerSeeds = []string{
	"Negotiate YIIBAP8=",
	"negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg==",
	"NEGOTIATE\toRQwEqADCgEAoQsGCSqGSIb3EgECAg",
	"Negotiate",
	"Negotiate ",
	"Basic YWxpY2U6cHc=",
	"NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==",
	"Negotiate YIIB\r\nAP8=",
	"Negotiate YIIBAP8===",
	`Digest realm="r", nonce="a,b", Negotiate oRQw, NTLM`,
	`Basic realm="Negotiate x", Negotiate=1`,
}

// FuzzParseNegotiate: never panics; what it accepts re-encodes to a
// header it accepts with the same token; what it refuses is an *Error.
func FuzzParseNegotiate(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := httpauth.ParseNegotiate(v, 0)
		if err != nil {
			if _, ok := httpauth.CodeOf(err); !ok {
				t.Fatalf("untyped error %T %v", err, err)
			}
			if tok != nil {
				t.Fatal("token with an error")
			}
			return
		}
		if len(tok) == 0 {
			t.Fatal("accepted an empty token")
		}
		again, err := httpauth.ParseNegotiate("Negotiate "+base64.StdEncoding.EncodeToString(tok), 0)
		if err != nil || !bytes.Equal(again, tok) {
			t.Fatalf("re-encoded token does not parse back: %v", err)
		}
		if strings.ContainsAny(strings.TrimSpace(v), "\r\n") {
			t.Fatalf("accepted a line break in %q", v)
		}
	})
}

// FuzzNegotiateChallenge: never panics; a token it returns comes with
// present = true and no error.
func FuzzNegotiateChallenge(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add(s, "")
		f.Add(`Basic realm="x"`, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		h := http.Header{}
		h.Add("WWW-Authenticate", a)
		if b != "" {
			h.Add("WWW-Authenticate", b)
		}
		present, tok, err := httpauth.NegotiateChallenge(h)
		if tok != nil && (!present || err != nil || len(tok) == 0) {
			t.Fatalf("token with present=%v err=%v", present, err)
		}
		if err != nil && !present {
			t.Fatal("error without a challenge")
		}
	})
}
