package krb5

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Native fuzz targets for the decoders in fast.go, mskile.go, krbmsg.go,
// ad.go and gssframe.go. Each asserts that decoding never panics, that
// every failure is a *ParseError (ErrMalformed), and that re-marshalling
// is stable: once a value has been decoded and encoded, decoding and
// encoding that output reproduces it byte for byte. (The first cycle may
// normalise tolerated input such as short BIT STRINGs or UTF8String
// realms.) Seeds come from the testdata vectors; the same seeds are kept
// as files under testdata/fuzz/<Target>/ (regenerate with
// WARDEN_WRITE_FUZZ_CORPUS=1 go test -run TestExtWriteFuzzCorpus ./krb5/).

// extFuzzSeeds maps each fuzz target to the vectors that seed it.
var extFuzzSeeds = map[string][]struct{ file, name string }{
	"FuzzKrbFastArmor": {{"fast_vectors.txt", "warden_fast_armor"}},
	"FuzzFastArmoredReq": {
		{"fast_vectors.txt", "warden_pa_fx_fast_request"},
		{"fast_vectors.txt", "warden_pa_fx_fast_request(no armor)"},
	},
	"FuzzKrbFastReq": {
		{"fast_vectors.txt", "warden_fast_req"},
		{"fast_vectors.txt", "warden_fast_req(empty padata)"},
	},
	"FuzzFastArmoredRep": {{"fast_vectors.txt", "encode_krb5_pa_fx_fast_reply"}},
	"FuzzKrbFastResponse": {
		{"fast_vectors.txt", "encode_krb5_fast_response"},
		{"fast_vectors.txt", "warden_fast_response(minimal)"},
		{"fast_vectors.txt", "warden_fast_response(high nonce)"},
	},
	"FuzzKrbFastFinished": {{"fast_vectors.txt", "mit_fast_finished"}},
	"FuzzPACOptions": {
		{"mskile_vectors.txt", "pa_pac_options(claims)"},
		{"mskile_vectors.txt", "pa_pac_options(claims+rbcd)"},
	},
	"FuzzKerbADRestrictionEntry": {
		{"mskile_vectors.txt", "ad_restriction(bare)"},
		{"mskile_vectors.txt", "ad_restriction(wrapped)"},
	},
	"FuzzKerbErrorData": {
		{"mskile_vectors.txt", "kerb_error_data(extended)"},
		{"mskile_vectors.txt", "kerb_error_data(skew)"},
	},
	"FuzzKILERawValues": {
		{"mskile_vectors.txt", "supported_enctypes_raw"},
		{"mskile_vectors.txt", "kerb_ext_error_raw"},
		{"mskile_vectors.txt", "ad_ap_options_raw"},
	},
	"FuzzChangePasswdData": {
		{"mskile_vectors.txt", "change_passwd_data"},
		{"mskile_vectors.txt", "change_passwd_data(minimal)"},
	},
	"FuzzKRBSafe": {
		{"krbmsg_vectors.txt", "encode_krb5_safe"},
		{"krbmsg_vectors.txt", "encode_krb5_safe(optionals NULL)"},
	},
	"FuzzKRBPriv": {{"krbmsg_vectors.txt", "encode_krb5_priv"}},
	"FuzzEncKrbPrivPart": {
		{"krbmsg_vectors.txt", "encode_krb5_enc_priv_part"},
		{"krbmsg_vectors.txt", "encode_krb5_enc_priv_part(optionals NULL)"},
		{"krbmsg_vectors.txt", "warden_enc_priv_part(no s-address)"},
		{"krbmsg_vectors.txt", "warden_enc_priv_part(kpasswd)"},
	},
	"FuzzKRBCred": {{"krbmsg_vectors.txt", "encode_krb5_cred"}},
	"FuzzEncKrbCredPart": {
		{"krbmsg_vectors.txt", "encode_krb5_enc_cred_part"},
		{"krbmsg_vectors.txt", "encode_krb5_enc_cred_part(optionals NULL)"},
	},
	"FuzzKDCIssuedAD": {{"ad_vectors.txt", "encode_krb5_ad_kdcissued"}},
	"FuzzFindAD": {
		{"ad_vectors.txt", "warden_ad_if_relevant"},
		{"ad_vectors.txt", "encode_krb5_authorization_data"},
	},
	"FuzzGSSToken": {
		{"gss_vectors.txt", "gss_krb5_ap_req"},
		{"gss_vectors.txt", "gss_krb5_ap_rep"},
		{"gss_vectors.txt", "gss_mskrb5_ap_rep"},
	},
}

func extAddSeeds(f *testing.F, target string) {
	seeds, ok := extFuzzSeeds[target]
	if !ok {
		f.Fatalf("no seeds for %s", target)
	}
	for _, s := range seeds {
		f.Add(extVector(f, s.file, s.name))
	}
}

// extFuzzWire is the common body: decode, then check the error kind or
// the re-marshal stability.
func extFuzzWire(t *testing.T, b []byte, newV func() extWire) {
	v := newV()
	if err := v.Unmarshal(b); err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("decode error %v is not ErrMalformed", err)
		}
		return
	}
	m1, err := v.Marshal()
	if err != nil {
		return // a decodable value Marshal refuses (EncKrbPrivPart without s-address)
	}
	w := newV()
	if err := w.Unmarshal(m1); err != nil {
		t.Fatalf("re-decode of own encoding %x failed: %v", m1, err)
	}
	m2, err := w.Marshal()
	if err != nil || !bytes.Equal(m1, m2) {
		t.Fatalf("unstable re-marshal\n m1 %x\n m2 %x (%v)", m1, m2, err)
	}
}

func FuzzKrbFastArmor(f *testing.F) {
	extAddSeeds(f, "FuzzKrbFastArmor")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(KrbFastArmor) }) })
}

func FuzzFastArmoredReq(f *testing.F) {
	extAddSeeds(f, "FuzzFastArmoredReq")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(FastArmoredReq) }) })
}

func FuzzKrbFastReq(f *testing.F) {
	extAddSeeds(f, "FuzzKrbFastReq")
	f.Fuzz(func(t *testing.T, b []byte) {
		extFuzzWire(t, b, func() extWire { return new(KrbFastReq) })
		var r KrbFastReq
		if r.Unmarshal(b) == nil {
			// Raw must be a sub-slice of the input's bytes: the checksum
			// covers it as sent.
			if !bytes.Contains(b, r.ReqBody.Raw) || len(r.ReqBody.Raw) == 0 {
				t.Fatalf("ReqBody.Raw %x not from input", r.ReqBody.Raw)
			}
		}
	})
}

func FuzzFastArmoredRep(f *testing.F) {
	extAddSeeds(f, "FuzzFastArmoredRep")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(FastArmoredRep) }) })
}

func FuzzKrbFastResponse(f *testing.F) {
	extAddSeeds(f, "FuzzKrbFastResponse")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(KrbFastResponse) }) })
}

func FuzzKrbFastFinished(f *testing.F) {
	extAddSeeds(f, "FuzzKrbFastFinished")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(KrbFastFinished) }) })
}

func FuzzPACOptions(f *testing.F) {
	extAddSeeds(f, "FuzzPACOptions")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(PACOptions) }) })
}

func FuzzKerbADRestrictionEntry(f *testing.F) {
	extAddSeeds(f, "FuzzKerbADRestrictionEntry")
	f.Fuzz(func(t *testing.T, b []byte) {
		extFuzzWire(t, b, func() extWire { return new(KerbADRestrictionEntry) })
		list, err := DecodeADRestrictions(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeADRestrictions: %v", err)
			}
			return
		}
		for _, r := range list {
			w := r.MarshalADData()
			again, err := DecodeADRestrictions(w)
			if err != nil || len(again) != 1 || again[0].RestrictionType != r.RestrictionType ||
				!bytes.Equal(again[0].Restriction, r.Restriction) {
				t.Fatalf("wrapped round trip: %v", err)
			}
		}
		if _, _, err := DecodeTokenRestrictions(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeTokenRestrictions: %v", err)
		}
	})
}

func FuzzKerbErrorData(f *testing.F) {
	extAddSeeds(f, "FuzzKerbErrorData")
	f.Fuzz(func(t *testing.T, b []byte) {
		extFuzzWire(t, b, func() extWire { return new(KerbErrorData) })
		var d KerbErrorData
		if d.Unmarshal(b) == nil && d.DataType == KerbErrTypeExtended {
			var x KerbExtError
			if err := x.Unmarshal(d.DataValue); err == nil && !bytes.Equal(x.Marshal(), d.DataValue) {
				t.Fatal("KERB-EXT-ERROR round trip")
			}
		}
	})
}

// FuzzKILERawValues feeds the little-endian (non-DER) decoders.
func FuzzKILERawValues(f *testing.F) {
	extAddSeeds(f, "FuzzKILERawValues")
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := DecodeSupportedEnctypes(b); err == nil {
			if !bytes.Equal(EncodeSupportedEnctypes(v), b) {
				t.Fatal("supported enctypes round trip")
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		if v, err := DecodeADAPOptions(b); err == nil && !bytes.Equal(EncodeADAPOptions(v), b) {
			t.Fatal("AP options round trip")
		}
		var x KerbExtError
		if err := x.Unmarshal(b); err == nil && !bytes.Equal(x.Marshal(), b) {
			t.Fatal("KERB-EXT-ERROR round trip")
		}
		var tii TokenInfoIntegrity
		if err := tii.Unmarshal(b); err == nil && !bytes.Equal(tii.Marshal(), b) {
			t.Fatal("LSAP_TOKEN_INFO_INTEGRITY round trip")
		}
	})
}

func FuzzChangePasswdData(f *testing.F) {
	extAddSeeds(f, "FuzzChangePasswdData")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(ChangePasswdData) }) })
}

func FuzzKRBSafe(f *testing.F) {
	extAddSeeds(f, "FuzzKRBSafe")
	f.Fuzz(func(t *testing.T, b []byte) {
		extFuzzWire(t, b, func() extWire { return new(KRBSafe) })
		var m KRBSafe
		if m.Unmarshal(b) == nil && !bytes.Contains(b, m.SafeBody.Raw) {
			t.Fatal("SafeBody.Raw not from input")
		}
	})
}

func FuzzKRBPriv(f *testing.F) {
	extAddSeeds(f, "FuzzKRBPriv")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(KRBPriv) }) })
}

func FuzzEncKrbPrivPart(f *testing.F) {
	extAddSeeds(f, "FuzzEncKrbPrivPart")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(EncKrbPrivPart) }) })
}

func FuzzKRBCred(f *testing.F) {
	extAddSeeds(f, "FuzzKRBCred")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(KRBCred) }) })
}

func FuzzEncKrbCredPart(f *testing.F) {
	extAddSeeds(f, "FuzzEncKrbCredPart")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(EncKrbCredPart) }) })
}

func FuzzKDCIssuedAD(f *testing.F) {
	extAddSeeds(f, "FuzzKDCIssuedAD")
	f.Fuzz(func(t *testing.T, b []byte) { extFuzzWire(t, b, func() extWire { return new(KDCIssuedAD) }) })
}

// FuzzFindAD decodes AuthorizationData and searches it through nested
// AD-IF-RELEVANT containers, which must terminate and fail cleanly.
func FuzzFindAD(f *testing.F) {
	extAddSeeds(f, "FuzzFindAD")
	f.Add(func() []byte {
		ad := AuthorizationData{{Type: ADWin2KPAC, Data: []byte("p")}}
		for i := 0; i < ADMaxDepth+2; i++ {
			ad = AuthorizationData{WrapADIfRelevant(ad)}
		}
		b, _ := ad.Marshal()
		return b
	}())
	f.Fuzz(func(t *testing.T, b []byte) {
		var ad AuthorizationData
		if ad.Unmarshal(b) != nil {
			return
		}
		for _, typ := range []ADType{ADWin2KPAC, ADIfRelevant, 1234} {
			got, err := FindAD(ad, typ)
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("FindAD: %v", err)
			}
			for _, e := range got {
				if e.Type != typ {
					t.Fatalf("FindAD returned type %v for %v", e.Type, typ)
				}
			}
		}
	})
}

func FuzzGSSToken(f *testing.F) {
	extAddSeeds(f, "FuzzGSSToken")
	f.Fuzz(func(t *testing.T, b []byte) {
		mech, id, msg, err := UnwrapGSSToken(b, 0)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		// DER lengths are minimal and the frame spans the input, so
		// re-wrapping must reproduce the input exactly.
		w, err := WrapGSSToken(mech, id, msg)
		if err != nil || !bytes.Equal(w, b) {
			t.Fatalf("re-wrap differs: %x (%v)", w, err)
		}
	})
}

// TestExtWriteFuzzCorpus writes the seed vectors as corpus files under
// testdata/fuzz/<Target>/ in the "go test fuzz v1" format. It runs only
// when WARDEN_WRITE_FUZZ_CORPUS=1; otherwise it checks that every seed
// file exists and matches its vector, so corpus and vectors cannot drift.
func TestExtWriteFuzzCorpus(t *testing.T) {
	write := os.Getenv("WARDEN_WRITE_FUZZ_CORPUS") == "1"
	unsafe := regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
	for target, seeds := range extFuzzSeeds {
		dir := filepath.Join("testdata", "fuzz", target)
		for _, s := range seeds {
			b := extVector(t, s.file, s.name)
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			name := "seed-" + strings.Trim(unsafe.ReplaceAllString(s.name, "_"), "_")
			path := filepath.Join(dir, name)
			if write {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != content {
				t.Errorf("%s missing or stale (regenerate with WARDEN_WRITE_FUZZ_CORPUS=1): %v", path, err)
			}
		}
	}
}
