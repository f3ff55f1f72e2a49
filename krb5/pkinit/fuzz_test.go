package pkinit

import (
	"crypto/rand"
	"testing"
	"time"
)

// FuzzParsePAPKASReq: any bytes decode to a clean error or a Request
// whose checks do not panic.
func FuzzParsePAPKASReq(f *testing.F) {
	for _, anon := range []bool{false, true} {
		var s = testSigner(f, false)
		if anon {
			s = nil
		}
		pa, _, err := NewClientRequest(ClientRequestOptions{Rand: rand.Reader, Signer: s, Nonce: 1, ReqBody: []byte{0x30, 0}, Time: time.Unix(1.8e9, 0)})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pa)
	}
	for _, name := range []string{"mit-1.20-as-req-cert.der", "mit-1.20-as-req-anonymous.der"} {
		_, pa := loadMITReq(f, name)
		f.Add(pa)
	}
	f.Add([]byte{0x30, 0x02, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseASReq(b)
		if err != nil {
			return
		}
		_ = req.CheckChecksum(b)
		_, _ = req.Group()
		if req.Signed != nil {
			_, _ = req.Signed.Verify()
		}
	})
}

// FuzzParsePAPKASRep covers the client's reply parsing.
func FuzzParsePAPKASRep(f *testing.F) {
	f.Add([]byte{0xa0, 0x04, 0x30, 0x02, 0x80, 0x00})
	f.Add([]byte{0x81, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r PAPKASRep
		_ = r.Unmarshal(b)
		var k KDCDHKeyInfo
		_ = k.Unmarshal(b)
		var p TDDHParameters
		_ = p.Unmarshal(b)
		var n KRB5PrincipalName
		_ = n.Unmarshal(b)
		var rk ReplyKeyPack
		_ = rk.Unmarshal(b)
	})
}
