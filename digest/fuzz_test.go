package digest

import (
	"context"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Seeds: the RFC examples and what real clients send (curl, python
// requests, browsers), plus the edge cases of the table tests.
var challengeSeeds = []string{
	`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
	`Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true`,
	`Negotiate, NTLM, Basic realm="x, y", DIGEST REALM = "R" ,nonce=abc,  Algorithm="sha-512-256-SESS",qop=auth , stale=TRUE`,
	`Negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg==, Digest realm="a \"b\" \\c", nonce="n"`,
	`Digest realm="r, nonce=n`,
	`realm="r", Digest nonce=n`,
	"Digest realm=\"\xc3\xa4\", nonce=\"\x01\"",
	`Digest realm="r" nonce="n"`,
	`Digest ,,, realm=r,,nonce=n,`,
	`Digest abc==, realm=r`,
}

var credentialSeeds = []string{
	`Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
	`Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="api@example.org", uri="/doe.json", algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", nc=00000001, cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", qop=auth, response="3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"`,
	`Digest username="alice", realm="r", nonce="n", uri="/", response="ab", algorithm="SHA-256", qop="auth", nc=00000001, cnonce="c"`,
	`Digest username="0123", realm="r", nonce="n", uri="/", response="ab", cnonce="c", nc=00000001, qop=auth, userhash=true`,
	`Digest username*=iso-8859-1'en'j%F6rg, realm="r", nonce="n", uri="/", response="ab", cnonce="c", nc=00000001, qop=auth`,
	`Digest username="a", username*=UTF-8''a, realm="r"`,
	`Digest username*=UTF-8''a%4`,
	`Basic YWxpY2U6cHc=`,
	`Digest username="a", NC=1, nc=2`,
	``,
}

var authInfoSeeds = []string{
	`rspauth="86d3b25618d41854ca5039a5d7e53ff6355d5134a9b1fb088a78ac3c462195a0", qop=auth, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", nc=00000001, nextnonce="n2"`,
	`nextnonce="abc"`,
	`Digest rspauth="x"`,
	`rspauth="x", rspauth="y"`,
	`rspauth=`,
}

func typed(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("untyped error %T %v", err, err)
	}
}

// FuzzParseChallenges: never panics; refusals are *Error; a challenge
// with a known algorithm re-encodes to one that parses the same.
func FuzzParseChallenges(f *testing.F) {
	for _, s := range challengeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		chs, err := ParseChallenges([]string{v})
		if err != nil {
			typed(t, err)
			return
		}
		for _, c := range chs {
			if !c.Algorithm.Valid() || !quotable(c.Realm) || !quotable(c.Nonce) || !quotable(c.Opaque) || !quotable(c.Domain) {
				continue
			}
			again, err := ParseChallenges([]string{c.String()})
			if err != nil || len(again) != 1 {
				t.Fatalf("%q re-encoded as %q: %v", v, c.String(), err)
			}
			c.AlgorithmName = c.Algorithm.String()
			if c.Charset != "" && !isToken(c.Charset) && !quotable(c.Charset) {
				continue
			}
			if !reflect.DeepEqual(again[0].Realm, c.Realm) || again[0].Nonce != c.Nonce || again[0].Algorithm != c.Algorithm || again[0].Stale != c.Stale {
				t.Fatalf("%q: %+v became %+v", v, c, again[0])
			}
		}
	})
}

// FuzzParseCredentials: never panics; refusals are *Error; what parses
// re-encodes to the same credentials; a server never panics on it.
func FuzzParseCredentials(f *testing.F) {
	for _, s := range credentialSeeds {
		f.Add(s)
	}
	srv, err := NewServer(ServerConfig{Realm: "r", UserHash: true, AuthInt: true})
	if err != nil {
		f.Fatal(err)
	}
	never := ValidatorFunc(func(context.Context, *Validation) (*Verdict, error) {
		return nil, &Error{Code: LogonFailure}
	})
	f.Fuzz(func(t *testing.T, v string) {
		if _, err := srv.Authenticate(context.Background(), never, Request{Authorization: v, Method: "GET", URI: "/"}); err == nil {
			t.Fatal("authenticated without a validator's yes")
		}
		c, err := ParseCredentials(v)
		if err != nil {
			typed(t, err)
			return
		}
		for _, s := range []string{c.Username, c.Realm, c.Nonce, c.URI, c.Response, c.CNonce, c.Opaque, c.NC, c.QOP} {
			if !quotable(s) {
				return // quoted-pair of a control character: not re-encodable
			}
		}
		again, err := ParseCredentials(c.String())
		if err != nil {
			t.Fatalf("%q re-encoded as %q: %v", v, c.String(), err)
		}
		again.UsernameExt = c.UsernameExt
		if *again != *c {
			t.Fatalf("%q: %+v became %+v", v, c, again)
		}
	})
}

// FuzzParseAuthInfo: never panics; refusals are *Error; round trip.
func FuzzParseAuthInfo(f *testing.F) {
	for _, s := range authInfoSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		a, err := ParseAuthInfo(v)
		if err != nil {
			typed(t, err)
			return
		}
		for _, s := range []string{a.NextNonce, a.QOP, a.RspAuth, a.CNonce, a.NC} {
			if !quotable(s) {
				return
			}
		}
		again, err := ParseAuthInfo(a.String())
		if err != nil || *again != *a {
			t.Fatalf("%q re-encoded as %q: %v %+v", v, a.String(), err, again)
		}
	})
}

// FuzzVerify: the AA's check of whatever a server forwards never panics;
// refusals are *Error; what it accepts is exactly what Expected computes.
func FuzzVerify(f *testing.F) {
	for _, v := range loadVectors(f) {
		raw, _ := hex.DecodeString(v.HA1)
		f.Add(v.Algorithm, v.Username, v.Realm, v.Nonce, v.CNonce, v.NC, v.QOP, v.Method, v.URI, "", v.Response, raw)
	}
	f.Add("SHA-256", "a", "r", "n", "c", "00000001", "auth-int", "POST", "/", "00", "00", []byte{1, 2})
	f.Fuzz(func(t *testing.T, alg, user, realm, nonce, cnonce, nc, qop, method, uri, ehash, resp string, ha1 []byte) {
		a, _ := ParseAlgorithm(alg)
		v := &Validation{Algorithm: a, Username: user, Realm: realm, Nonce: nonce, CNonce: cnonce, NC: nc, QOP: qop,
			Method: method, URI: uri, EntityHash: ehash, Response: resp}
		rsp, err := v.Verify(ha1)
		if err != nil {
			typed(t, err)
			return
		}
		want, wantRsp := v.Expected(hex.EncodeToString(ha1))
		if strings.ToLower(resp) != want || rsp != wantRsp {
			t.Fatalf("accepted %+v", v)
		}
	})
}
