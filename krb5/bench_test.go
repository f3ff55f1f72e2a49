package krb5

import "testing"

// Codec cost of the messages on the AS and TGS hot path. Run with
// `make bench` or `go test -bench . -benchmem ./krb5/`.

func BenchmarkASReqMarshal(b *testing.B) {
	req := sampleASReq()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := req.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkASReqUnmarshal(b *testing.B) {
	req := sampleASReq()
	raw, _ := req.Marshal()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		var r KDCReq
		if err := r.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func sampleASRep() KDCRep {
	return KDCRep{MsgType: MsgASRep, CRealm: "EXAMPLE.TEST",
		CName:   PrincipalName{NameType: NameTypePrincipal, NameString: []string{"alice"}},
		Ticket:  sampleTicket(),
		EncPart: EncryptedData{EType: 18, KVNO: 1, HasKVNO: true, Cipher: make([]byte, 300)}}
}

func BenchmarkASRepMarshal(b *testing.B) {
	rep := sampleASRep()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := rep.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkASRepUnmarshal(b *testing.B) {
	rep := sampleASRep()
	raw, _ := rep.Marshal()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		var r KDCRep
		if err := r.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncTicketPartMarshal(b *testing.B) {
	etp := sampleEncTicketPart()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := etp.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncTicketPartUnmarshal(b *testing.B) {
	etp := sampleEncTicketPart()
	raw, _ := etp.Marshal()
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		var e EncTicketPart
		if err := e.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkASExchangeCodec is the codec share of one KDC AS exchange:
// decode the AS-REQ and its PA-ENC-TS-ENC, encode the EncTicketPart, the
// EncASRepPart and the AS-REP (crypto excluded). Target: < 5 us, < 20 allocs.
func BenchmarkASExchangeCodec(b *testing.B) {
	req := sampleASReq()
	tsv := PAEncTSEnc{PATimestamp: req.ReqBody.Till, PAUSec: 1234, HasUSec: true}
	ts, _ := tsv.Marshal()
	req.PAData[0].Value = ts
	rawReq, _ := req.Marshal()
	etp := sampleEncTicketPart()
	rep := sampleASRep()
	part := EncKDCRepPart{Tag: MsgEncASRepPart, Key: etp.Key, LastReq: []LastReqEntry{{0, etp.AuthTime}},
		Flags: etp.Flags, AuthTime: etp.AuthTime, EndTime: etp.EndTime, SRealm: "EXAMPLE.TEST", SName: rep.Ticket.SName}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var r KDCReq
		if err := r.Unmarshal(rawReq); err != nil {
			b.Fatal(err)
		}
		var t PAEncTSEnc
		if err := t.Unmarshal(r.PAData[0].Value); err != nil {
			b.Fatal(err)
		}
		etp.CName = *r.ReqBody.CName
		if _, err := etp.Marshal(); err != nil {
			b.Fatal(err)
		}
		part.Nonce = r.ReqBody.Nonce
		if _, err := part.Marshal(); err != nil {
			b.Fatal(err)
		}
		if _, err := rep.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
