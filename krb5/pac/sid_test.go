package pac

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func TestSIDParseString(t *testing.T) {
	cases := []struct {
		in, want string // want "" = same as in
		bin      string
	}{
		{"S-1-5-21-3048156945-3961193616-3706469200", "", "010400000000000515000000112fafb590041bec503becdc"},
		{"S-1-5-9", "", "010100000000000509000000"},
		{"S-1-18-1", "", "010100000000001201000000"},
		{"s-1-5-21-0-0-0-497", "S-1-5-21-0-0-0-497", ""},
		{"S-1-0", "", "0100000000000000"},
		{"S-1-0x123456789ABC-1", "S-1-0x123456789ABC-1", "0101123456789abc01000000"},
		{"S-1-281474976710655-4294967295", "S-1-0xFFFFFFFFFFFF-4294967295", ""},
	}
	for _, tc := range cases {
		s, err := ParseSID(tc.in)
		if err != nil {
			t.Errorf("ParseSID(%q): %v", tc.in, err)
			continue
		}
		want := tc.want
		if want == "" {
			want = tc.in
		}
		if s.String() != want {
			t.Errorf("ParseSID(%q).String() = %q, want %q", tc.in, s, want)
		}
		b, _ := s.MarshalBinary()
		if tc.bin != "" && hex.EncodeToString(b) != tc.bin {
			t.Errorf("%s binary = %x, want %s", s, b, tc.bin)
		}
		var back SID
		if err := back.UnmarshalBinary(b); err != nil || back != s {
			t.Errorf("%s binary round trip: %v %v", s, back, err)
		}
		txt, _ := s.MarshalText()
		if err := back.UnmarshalText(txt); err != nil || back != s {
			t.Errorf("%s text round trip: %v %v", s, back, err)
		}
	}
	for _, bad := range []string{"", "S-1", "X-1-5", "S-2-5-1", "S-1-x", "S-1-5-4294967296", "S-1-281474976710656",
		"S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", "S-1-5--1"} {
		if _, err := ParseSID(bad); err == nil {
			t.Errorf("ParseSID(%q) succeeded", bad)
		}
	}
	for _, bad := range []string{"", "0201000000000005", "0101000000000005", "01100000000000050000000000", "0101000000000005010000000000"} {
		b, _ := hex.DecodeString(bad)
		var s SID
		if err := s.UnmarshalBinary(b); err == nil {
			t.Errorf("UnmarshalBinary(%s) succeeded", bad)
		}
	}
}

func TestSIDHelpers(t *testing.T) {
	dom := MustParseSID("S-1-5-21-1-2-3")
	u, err := dom.AppendRID(1104)
	if err != nil || u.String() != "S-1-5-21-1-2-3-1104" || u.RID() != 1104 || !u.InDomain(dom) || u.InDomain(u) {
		t.Fatalf("AppendRID: %v %v", u, err)
	}
	if d, rid := u.Domain(); d != dom || rid != 1104 {
		t.Errorf("Domain() = %v %d", d, rid)
	}
	if !(SID{}).IsZero() || dom.IsZero() || (SID{}).String() != "" {
		t.Error("IsZero")
	}
	full := MustParseSID("S-1-5" + strings.Repeat("-1", 15))
	if _, err := full.AppendRID(1); err == nil {
		t.Error("AppendRID on 15 sub-authorities succeeded")
	}
	if s, err := NewSID(5, 21, 0, 0, 0, 497); err != nil || s != SIDClaimsValid {
		t.Errorf("NewSID = %v %v", s, err)
	}
	if _, err := NewSID(1 << 48); err == nil {
		t.Error("NewSID with a 49-bit authority succeeded")
	}
	if got := dom.SubAuthorities(); len(got) != 4 || got[0] != 21 || dom.Authority() != 5 || dom.Len() != 24 {
		t.Errorf("accessors: %v %d %d", got, dom.Authority(), dom.Len())
	}
	m := map[SID]bool{MustParseSID("S-1-18-1"): true}
	if !m[SIDAuthenticationAuthorityAsserted] {
		t.Error("SIDs are not usable as map keys")
	}
}

func TestFileTime(t *testing.T) {
	tm := time.Date(2005, 7, 4, 1, 30, 9, 0, time.UTC) // 1120440609
	if NewFileTime(tm) != 127649142090000000 || NewFileTime(tm).Time() != tm {
		t.Errorf("NewFileTime = %d", NewFileTime(tm))
	}
	if NewFileTime(time.Time{}) != 0 || !FileTime(0).Time().IsZero() {
		t.Error("zero")
	}
	if NewFileTime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)) != 0 {
		t.Error("before 1601")
	}
	if NewFileTime(time.Date(40000, 1, 1, 0, 0, 0, 0, time.UTC)) != Never || !Never.IsNever() || Never.Time().Year() != 30828 {
		t.Error("never")
	}
	if got := NewFileTime(tm.Add(1234567 * time.Nanosecond)); got != 127649142090012345 {
		t.Errorf("sub-second = %d", got)
	}
	if TypeLogonInfo.String() != "PAC_LOGON_INFO" || BufferType(99).String() != "PAC_BUFFER_99" {
		t.Error("BufferType.String")
	}
}
