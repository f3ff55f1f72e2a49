package passthrough

import (
	"context"
	"testing"

	"github.com/warden-auth/warden/ntlm"
)

// BenchmarkValidateNTLM is one NTLM validation at the AA: account and
// realm lookups in the store, NTLMv2 verification, group expansion.
func BenchmarkValidateNTLM(b *testing.B) {
	t := &testing.T{}
	e := newEnv(t)
	const n = 256
	vs := make([]*ntlm.Validation, n)
	for i := range vs {
		_, vs[i] = e.answer(t, "alice", "alice password", "WEB01")
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := e.svc.ValidateNTLM(ctx, "WEB01$", vs[i%n]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
