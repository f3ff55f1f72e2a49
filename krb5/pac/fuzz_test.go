package pac

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/warden-auth/warden/krb5"
)

// Native fuzz targets for every decoder in the package. Each asserts that
// decoding never panics, that every failure is a *Error of kind
// Malformed whose offset lies inside the input, and that what decodes
// re-encodes stably: once decoded and encoded, decoding and encoding the
// output reproduces it byte for byte (the first cycle may normalise
// tolerated input, such as Windows' MaximumLength or invalid UTF-16).
//
// Seeds are the vectors and PACs built by the tests; the same seeds are
// kept under testdata/fuzz/<Target>/ (regenerate with
// WARDEN_WRITE_FUZZ_CORPUS=1 go test -run TestWriteFuzzCorpus ./krb5/pac/).

// fuzzSeeds returns the seeds of each target, by name.
func fuzzSeeds(tb testing.TB) map[string]map[string][]byte {
	tb.Helper()
	vec := vectors(tb)
	w2003 := vec["samba_w2003"]
	svc, tgt := testKey(tb, krb5.ETypeAES256CTSHMACSHA196, 1), testKey(tb, krb5.ETypeAES256CTSHMACSHA196, 2)
	signed, _ := signedServicePAC(tb, 3, svc, tgt)
	p := samplePAC(3)
	must := func(b []byte, err error) []byte {
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	sig := must((&SignatureData{Type: krb5.CksumHMACMD5, Signature: make([]byte, 16), RODCIdentifier: 1, HasRODCIdentifier: true}).Marshal())
	sid := must(MustParseSID("S-1-5-21-1-2-3-1104").MarshalBinary())
	return map[string]map[string][]byte{
		"FuzzDecode": {"samba_w2003": w2003, "warden_signed": signed, "warden_unsigned": must(p.Encode())},
		"FuzzLogonInfo": {"samba_w2003": w2003[72 : 72+472], "warden": must(p.LogonInfo.Marshal()),
			"warden_empty": must((&LogonInfo{}).Marshal())},
		"FuzzDeviceInfo":     {"warden": must(p.DeviceInfo.Marshal())},
		"FuzzClientInfo":     {"samba_w2003": w2003[544 : 544+32], "warden": must(p.ClientInfo.Marshal())},
		"FuzzUPNDNSInfo":     {"warden_extended": must(p.UPNDNSInfo.Marshal()), "warden_plain": must((&UPNDNSInfo{UPN: "a@b", DNSDomainName: "B"}).Marshal())},
		"FuzzAttributesInfo": {"warden": must(p.Attributes.Marshal())},
		"FuzzSignatureData":  {"samba_w2003": w2003[576 : 576+20], "rodc": sig},
		"FuzzSID":            {"user": sid},
		"FuzzClaims":         {"win2022_client_claims": vec["win2022_client_claims"]},
	}
}

func addSeeds(f *testing.F, target string) {
	seeds := fuzzSeeds(f)[target]
	if len(seeds) == 0 {
		f.Fatalf("no seeds for %s", target)
	}
	for _, b := range seeds {
		f.Add(b)
	}
}

// checkDecodeError asserts err is a malformed-input *Error with a
// sensible offset.
func checkDecodeError(t *testing.T, err error, in []byte) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != KindMalformed || !errors.Is(err, ErrMalformed) {
		t.Fatalf("decode error %v (%T) is not a malformed *pac.Error", err, err)
	}
	if pe.Offset < -1 || pe.Offset > len(in) {
		t.Fatalf("error offset %d outside the %d-byte input: %v", pe.Offset, len(in), err)
	}
	if pe.Reason == "" {
		t.Fatal("error without a reason")
	}
}

// fuzzBuffer runs the decode / re-encode properties for one buffer type.
func fuzzBuffer(t *testing.T, b []byte, newV func() marshaler) {
	v := newV()
	if err := v.Unmarshal(b); err != nil {
		checkDecodeError(t, err, b)
		return
	}
	b1, err := v.Marshal()
	if err != nil {
		return // a decoded value that cannot be encoded (e.g. too long); not a decoder bug
	}
	w := newV()
	if err := w.Unmarshal(b1); err != nil {
		t.Fatalf("re-encoding does not decode: %v", err)
	}
	b2, err := w.Marshal()
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("re-encoding is not stable: %v\n%x\n%x", err, b1, b2)
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f, "FuzzDecode")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			checkDecodeError(t, err, b)
			return
		}
		if !bytes.Equal(p.Raw, b) {
			t.Fatal("Raw differs from the input")
		}
		b1, err := p.Encode()
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("encoding a decoded PAC: %v", err)
			}
			return
		}
		q, err := Decode(b1)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if b2, _ := q.Encode(); !bytes.Equal(b1, b2) {
			t.Fatal("re-encoding is not stable")
		}
	})
}

func FuzzLogonInfo(f *testing.F) {
	addSeeds(f, "FuzzLogonInfo")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzBuffer(t, b, func() marshaler { return new(LogonInfo) }) })
}

func FuzzDeviceInfo(f *testing.F) {
	addSeeds(f, "FuzzDeviceInfo")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzBuffer(t, b, func() marshaler { return new(DeviceInfo) }) })
}

func FuzzClientInfo(f *testing.F) {
	addSeeds(f, "FuzzClientInfo")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzBuffer(t, b, func() marshaler { return new(ClientInfo) }) })
}

func FuzzUPNDNSInfo(f *testing.F) {
	addSeeds(f, "FuzzUPNDNSInfo")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzBuffer(t, b, func() marshaler { return new(UPNDNSInfo) }) })
}

func FuzzAttributesInfo(f *testing.F) {
	addSeeds(f, "FuzzAttributesInfo")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzBuffer(t, b, func() marshaler { return new(AttributesInfo) }) })
}

func FuzzSignatureData(f *testing.F) {
	addSeeds(f, "FuzzSignatureData")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := unmarshalSignature(TypeKDCChecksum, b)
		if err != nil {
			checkDecodeError(t, err, b)
			return
		}
		b1, _ := s.Marshal()
		if !bytes.Equal(b1, b) {
			t.Fatalf("signature re-encodes differently:\n%x\n%x", b, b1)
		}
	})
}

func FuzzSID(f *testing.F) {
	addSeeds(f, "FuzzSID")
	f.Fuzz(func(t *testing.T, b []byte) {
		var s SID
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		if b1, err := s.MarshalBinary(); err != nil || !bytes.Equal(b1, b) {
			t.Fatalf("binary SID re-encodes differently: %x %x %v", b, b1, err)
		}
		back, err := ParseSID(s.String())
		if err != nil || back != s {
			t.Fatalf("String %q does not parse back: %v", s, err)
		}
	})
}

// TestWriteFuzzCorpus writes the seeds as corpus files when
// WARDEN_WRITE_FUZZ_CORPUS=1; otherwise it checks that every seed file
// exists and matches, so the corpus and the vectors cannot drift apart.
func TestWriteFuzzCorpus(t *testing.T) {
	write := os.Getenv("WARDEN_WRITE_FUZZ_CORPUS") == "1"
	seeds := fuzzSeeds(t)
	targets := make([]string, 0, len(seeds))
	for k := range seeds {
		targets = append(targets, k)
	}
	sort.Strings(targets)
	for _, target := range targets {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, b := range seeds[target] {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			path := filepath.Join(dir, "seed-"+name)
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
				t.Errorf("%s is missing or stale (regenerate with WARDEN_WRITE_FUZZ_CORPUS=1): %v", path, err)
			}
		}
	}
}

func FuzzClaims(f *testing.F) {
	addSeeds(f, "FuzzClaims")
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := DecodeClaims(b)
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return // compressed
			}
			checkDecodeError(t, err, b)
			return
		}
		b1, err := EncodeClaims(cs)
		if err != nil {
			return
		}
		cs2, err := DecodeClaims(b1)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if b2, err := EncodeClaims(cs2); err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("re-encoding is not stable: %v", err)
		}
	})
}
