package gss

import (
	"testing"
	"time"
)

// BenchmarkAcceptKerberos verifies AP-REQs as an HTTP server does for
// every request: decrypt the ticket and the authenticator, check times,
// the replay cache and the checksum, and make the AP-REP. Each token is
// fresh (the replay cache would refuse a repeat), made before timing.
func BenchmarkAcceptKerberos(b *testing.B) {
	t := &testing.T{}
	s := newKDCSim(t)
	a := s.acceptor(func(c *AcceptorConfig) { c.Replay = NewReplayCache(time.Hour, 0) })
	for _, mutual := range []bool{true, false} {
		name := "mutual"
		flags := DefaultFlags
		if !mutual {
			name, flags = "no-mutual", FlagInteg|FlagConf
		}
		b.Run(name, func(b *testing.B) {
			const n = 4096
			c := s.cred()
			toks := make([][]byte, n)
			for i := range toks {
				_, toks[i] = initiatorAt(t, c, tNow, InitiatorConfig{Flags: flags})
			}
			a.replay = NewReplayCache(time.Hour, 0)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == n {
					b.StopTimer()
					a.replay = NewReplayCache(time.Hour, 0)
					i = 0
					b.StartTimer()
				}
				if _, _, err := a.AcceptKerberos(toks[i], AcceptOptions{}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
