package httpauth_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/warden-auth/warden/httpauth"
)

func TestParseNegotiate(t *testing.T) {
	tok := []byte{0x60, 0x82, 0x01, 0x00, 0xff}
	b64 := base64.StdEncoding.EncodeToString(tok) // "YIIBAP8="
	for _, tc := range []struct {
		name       string
		in         string
		max        int
		want       []byte
		wantCode   httpauth.Code
		wantReason string
	}{
		{name: "canonical", in: "Negotiate " + b64, want: tok},
		{name: "lower case", in: "negotiate " + b64, want: tok},
		{name: "upper case, two spaces", in: "NEGOTIATE  " + b64, want: tok},
		{name: "tab", in: "Negotiate\t" + b64, want: tok},
		{name: "surrounding space", in: "  Negotiate " + b64 + " ", want: tok},
		{name: "no padding", in: "Negotiate " + strings.TrimRight(b64, "="), want: tok},
		{name: "empty", in: "", wantCode: httpauth.BadHeader, wantReason: "does not start with an authentication scheme"},
		{name: "only space", in: "   ", wantCode: httpauth.BadHeader, wantReason: "does not start with an authentication scheme"},
		{name: "bad scheme chars", in: "Nego(tiate) abc", wantCode: httpauth.BadHeader, wantReason: "does not start with an authentication scheme"},
		{name: "basic", in: "Basic YWxpY2U6cHc=", wantCode: httpauth.UnsupportedScheme, wantReason: `not "Basic"`},
		{name: "raw ntlm", in: "NTLM TlRMTVNTUAABAAAA", wantCode: httpauth.UnsupportedScheme, wantReason: `not "NTLM"`},
		{name: "prefix of scheme", in: "Negotiat " + b64, wantCode: httpauth.UnsupportedScheme},
		{name: "scheme glued to token", in: "Negotiate" + b64, wantCode: httpauth.BadHeader},
		{name: "scheme glued, no padding", in: "NegotiateYIIB", wantCode: httpauth.UnsupportedScheme, wantReason: `not "NegotiateYIIB"`},
		{name: "long scheme is cut", in: strings.Repeat("x", 100) + " abc", wantCode: httpauth.UnsupportedScheme, wantReason: `"` + strings.Repeat("x", 32) + `..."`},
		{name: "no token", in: "Negotiate", wantCode: httpauth.BadHeader, wantReason: "carries no token"},
		{name: "no token, space", in: "Negotiate   ", wantCode: httpauth.BadHeader, wantReason: "carries no token"},
		{name: "newline", in: "Negotiate YIIB\nAP8=", wantCode: httpauth.BadHeader, wantReason: `character '\n' at offset 4`},
		{name: "CRLF", in: "Negotiate YIIB\r\nAP8=", wantCode: httpauth.BadHeader, wantReason: `character '\r'`},
		{name: "inner space", in: "Negotiate YIIB AP8=", wantCode: httpauth.BadHeader, wantReason: "character ' '"},
		{name: "url-safe alphabet", in: "Negotiate YII-AP8_", wantCode: httpauth.BadHeader, wantReason: "character '-'"},
		{name: "comma list", in: "Negotiate " + b64 + ", Basic x", wantCode: httpauth.BadHeader, wantReason: "character '='"},
		{name: "too much padding", in: "Negotiate YIIBAP8===", wantCode: httpauth.BadHeader, wantReason: "3 padding characters"},
		{name: "padding not needed", in: "Negotiate YIIB=", wantCode: httpauth.BadHeader, wantReason: "1 padding characters after 4"},
		{name: "padding in the middle", in: "Negotiate YI=IBAP8", wantCode: httpauth.BadHeader, wantReason: "character '='"},
		{name: "one char", in: "Negotiate Y", wantCode: httpauth.BadHeader, wantReason: "1 characters cannot encode whole bytes"},
		{name: "only padding", in: "Negotiate ==", wantCode: httpauth.BadHeader},
		{name: "too long", in: "Negotiate " + strings.Repeat("A", 100), max: 64, wantCode: httpauth.TokenTooLarge, wantReason: "is 110 bytes, more than the 64"},
		{name: "at the limit", in: "Negotiate AAAA", max: 14, want: []byte{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := httpauth.ParseNegotiate(tc.in, tc.max)
			if tc.want != nil {
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Fatalf("got %x, %v; want %x", got, err, tc.want)
				}
				return
			}
			c, ok := httpauth.CodeOf(err)
			if !ok || c != tc.wantCode || !strings.Contains(err.Error(), tc.wantReason) {
				t.Fatalf("error %v; want %v containing %q", err, tc.wantCode, tc.wantReason)
			}
		})
	}
}

func TestNegotiateChallenge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  []string
		present bool
		token   string
		wantErr string
	}{
		{name: "none"},
		{name: "bare", values: []string{"Negotiate"}, present: true},
		{name: "token", values: []string{"Negotiate oRQwEqADCgEA"}, present: true, token: "oRQwEqADCgEA"},
		{name: "case", values: []string{"nEgOtIaTe oRQwEqADCgEA"}, present: true, token: "oRQwEqADCgEA"},
		{name: "second header", values: []string{`Basic realm="x"`, "Negotiate oRQw"}, present: true, token: "oRQw"},
		{name: "list", values: []string{`Basic realm="a, Negotiate b", Negotiate oRQw, NTLM`}, present: true, token: "oRQw"},
		{name: "after digest params", values: []string{`Digest realm="r", nonce="n,Negotiate x", qop="auth", Negotiate`}, present: true},
		{name: "param named negotiate", values: []string{`Digest Negotiate=1`}},
		{name: "param continues", values: []string{`Digest realm="r", Negotiate=1`}},
		{name: "other schemes only", values: []string{"NTLM", `Basic realm="Negotiate"`}},
		{name: "glued", values: []string{"Negotiateabc"}},
		{name: "bad token", values: []string{"Negotiate oRQw*"}, present: true, wantErr: "is not base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.values {
				h.Add("WWW-Authenticate", v)
			}
			present, tok, err := httpauth.NegotiateChallenge(h)
			if present != tc.present || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("present %v, err %v; want %v, %q", present, err, tc.present, tc.wantErr)
			}
			if want, _ := base64.StdEncoding.DecodeString(tc.token); !bytes.Equal(tok, want) || (tc.token == "") != (tok == nil) {
				t.Errorf("token %x, want %q", tok, tc.token)
			}
		})
	}
}
