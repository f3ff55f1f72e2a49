package digest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name     string
		values   []string
		want     []Challenge
		wantCode Code
		wantText string
	}{
		{name: "RFC 7616 3.9.1, two challenges in two headers",
			values: []string{
				`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
				`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`},
			want: []Challenge{
				{Realm: "http-auth@example.org", Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", Opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
					Algorithm: SHA256, AlgorithmName: "SHA-256", QOP: []string{"auth", "auth-int"}},
				{Realm: "http-auth@example.org", Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", Opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
					Algorithm: MD5, AlgorithmName: "MD5", QOP: []string{"auth", "auth-int"}},
			}},
		{name: "other schemes around, quoted tokens, odd case and spacing",
			values: []string{`Negotiate, NTLM, Basic realm="x, y", DIGEST REALM = "R" ,nonce=abc,  Algorithm="sha-512-256-SESS",qop=auth , stale=TRUE, userhash=true, charset=UTF-8, Negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg==`},
			want: []Challenge{{Realm: "R", Nonce: "abc", Algorithm: SHA512_256Sess, AlgorithmName: "sha-512-256-SESS", QOP: []string{"auth"},
				Stale: true, UserHash: true, Charset: "UTF-8"}}},
		{name: "no algorithm means MD5", values: []string{`Digest realm="r", nonce="n"`},
			want: []Challenge{{Realm: "r", Nonce: "n", Algorithm: MD5}}},
		{name: "unknown algorithm kept for the client to skip", values: []string{`Digest realm="r", nonce="n", algorithm=SHA3-256, qop=auth`},
			want: []Challenge{{Realm: "r", Nonce: "n", AlgorithmName: "SHA3-256", QOP: []string{"auth"}}}},
		{name: "escapes in quoted strings", values: []string{`Digest realm="a \"b\" \\c", nonce="n"`},
			want: []Challenge{{Realm: `a "b" \c`, Nonce: "n", Algorithm: MD5}}},
		{name: "no Digest at all", values: []string{`Negotiate`, `Basic realm="x"`}},
		{name: "duplicate parameter", values: []string{`Digest realm="r", nonce="n", Realm="s"`}, wantCode: BadHeader, wantText: "appears twice"},
		{name: "no nonce", values: []string{`Digest realm="r"`}, wantCode: BadHeader, wantText: "no nonce"},
		{name: "no realm", values: []string{`Digest nonce="n"`}, wantCode: BadHeader, wantText: "no realm"},
		{name: "unterminated quote", values: []string{`Digest realm="r, nonce=n`}, wantCode: BadHeader, wantText: "unterminated"},
		{name: "control character", values: []string{"Digest realm=\"r\x01\", nonce=n"}, wantCode: BadHeader, wantText: "control character"},
		{name: "parameter before scheme", values: []string{`realm="r", Digest nonce=n`}, wantCode: BadHeader, wantText: "before any authentication scheme"},
		{name: "junk after a value", values: []string{`Digest realm="r" nonce="n"`}, wantCode: BadHeader, wantText: "unexpected"},
		{name: "too long", values: []string{`Digest realm="` + strings.Repeat("r", MaxHeaderBytes) + `"`}, wantCode: BadHeader, wantText: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenges(tt.values)
			if tt.wantCode != 0 {
				if !errors.Is(err, &Error{Code: tt.wantCode}) || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("err = %v, want %v with %q", err, tt.wantCode, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
			for _, c := range got {
				if !c.Algorithm.Valid() {
					continue
				}
				again, err := ParseChallenges([]string{c.String()})
				c.AlgorithmName = c.Algorithm.String()
				if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], c) {
					t.Fatalf("round trip of %s: %v %+v", c.String(), err, again)
				}
			}
		})
	}
}

func TestParseCredentials(t *testing.T) {
	const ok = `realm="r", nonce="n", uri="/", response="ab", cnonce="c", nc=00000001, qop=auth`
	tests := []struct {
		name     string
		value    string
		check    func(*Credentials) bool
		wantCode Code
		wantText string
	}{
		{name: "python requests quotes algorithm and qop", value: `Digest username="alice", ` + `realm="r", nonce="n", uri="/", response="ab", algorithm="SHA-256", qop="auth", nc=00000001, cnonce="c"`,
			check: func(c *Credentials) bool { return c.Algorithm == SHA256 && c.QOP == "auth" && c.Username == "alice" }},
		{name: "curl with userhash", value: `Digest username="0123", ` + ok + `, algorithm=SHA-256, userhash=true`,
			check: func(c *Credentials) bool { return c.UserHash && c.Username == "0123" }},
		{name: "raw UTF-8 in the quoted name (curl)", value: "Digest username=\"j\xc3\xb6rg\", " + ok,
			check: func(c *Credentials) bool { return c.Username == "jörg" }},
		{name: "latin-1 username*", value: `Digest username*=iso-8859-1'en'j%F6rg, ` + ok,
			check: func(c *Credentials) bool { return c.Username == "jörg" && c.UsernameExt }},
		{name: "no algorithm is MD5", value: `Digest username="a", ` + ok, check: func(c *Credentials) bool { return c.Algorithm == MD5 }},
		{name: "another scheme", value: `Basic YWxpY2U6cHc=`, wantCode: UnsupportedScheme, wantText: `not "Basic"`},
		{name: "empty", value: ` `, wantCode: BadHeader, wantText: "empty"},
		{name: "two credentials", value: `Digest username="a", ` + ok + `, Digest username="b"`, wantCode: BadHeader, wantText: "more than one"},
		{name: "missing nc", value: `Digest username="a", realm="r", nonce="n", uri="/", response="ab", cnonce="c", qop=auth`, wantCode: BadHeader, wantText: "no nc"},
		{name: "missing qop (RFC 2069)", value: `Digest username="a", realm="r", nonce="n", uri="/", response="ab", cnonce="c", nc=00000001`, wantCode: BadHeader, wantText: "no qop"},
		{name: "no username", value: `Digest ` + ok, wantCode: BadHeader, wantText: "no username"},
		{name: "both username forms", value: `Digest username="a", username*=UTF-8''a, ` + ok, wantCode: BadHeader, wantText: "together"},
		{name: "username* with userhash", value: `Digest username*=UTF-8''a, userhash=true, ` + ok, wantCode: BadHeader, wantText: "username* with userhash"},
		{name: "username* not UTF-8", value: `Digest username*=UTF-8''%FF, ` + ok, wantCode: BadHeader, wantText: "not valid UTF-8"},
		{name: "username* bad escape", value: `Digest username*=UTF-8''a%4, ` + ok, wantCode: BadHeader, wantText: "percent-escape"},
		{name: "username* other charset", value: `Digest username*=KOI8-R''a, ` + ok, wantCode: BadHeader, wantText: "charset"},
		{name: "unknown algorithm", value: `Digest username="a", algorithm=SHA-1, ` + ok, wantCode: UnsupportedAlgorithm, wantText: "SHA-1"},
		{name: "duplicate nc", value: `Digest username="a", ` + ok + `, NC=00000002`, wantCode: BadHeader, wantText: "twice"},
		{name: "bad userhash", value: `Digest username="a", userhash=maybe, ` + ok, wantCode: BadHeader, wantText: "userhash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCredentials(tt.value)
			if tt.wantCode != 0 {
				if !errors.Is(err, &Error{Code: tt.wantCode}) || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("err = %v, want %v with %q", err, tt.wantCode, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("parsed %+v", c)
			}
			// A name outside ASCII comes back as username*.
			again, err := ParseCredentials(c.String())
			if err == nil {
				again.UsernameExt = c.UsernameExt
			}
			if err != nil || *again != *c {
				t.Fatalf("round trip of %s: %v\n%+v", c.String(), err, again)
			}
		})
	}
}

func TestParseAuthInfo(t *testing.T) {
	a, err := ParseAuthInfo(`rspauth="86d3b25618d41854ca5039a5d7e53ff6355d5134a9b1fb088a78ac3c462195a0", qop=auth, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", nc=00000001, nextnonce="n2"`)
	if err != nil {
		t.Fatal(err)
	}
	want := AuthInfo{NextNonce: "n2", QOP: "auth", RspAuth: "86d3b25618d41854ca5039a5d7e53ff6355d5134a9b1fb088a78ac3c462195a0",
		CNonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", NC: "00000001"}
	if *a != want {
		t.Fatalf("%+v", a)
	}
	if again, err := ParseAuthInfo(a.String()); err != nil || *again != want {
		t.Fatalf("round trip %v %+v", err, again)
	}
	for _, bad := range []string{`Digest rspauth="x"`, `rspauth="x", rspauth="y"`, `rspauth=`, `nc=` + strings.Repeat("1", 9)} {
		if _, err := ParseAuthInfo(bad); !errors.Is(err, &Error{Code: BadHeader}) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
