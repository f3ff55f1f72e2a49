package passthrough

import (
	"context"
	"errors"
	"testing"

	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/store"
)

// brokenAccounts is a store whose account lookups fail.
type brokenAccounts struct{ store.Store }

var errStoreDown = errors.New("database is locked")

func (brokenAccounts) Account(context.Context, string) (*store.Account, error) {
	return nil, errStoreDown
}

// A store that cannot answer is not a refusal of the calling server:
// the error says what failed (so the handlers answer 500, not 403 with a
// hint about certificates), while an unknown caller is still refused.
func TestCheckCallerStoreFailure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ne *ntlm.Error
	if _, err := e.svc.checkCaller(ctx, "NOSUCH$", e.now); !errors.As(err, &ne) || ne.Status != ntlm.StatusAccountRestriction {
		t.Fatalf("unknown caller: %v, want ACCOUNT_RESTRICTION", err)
	}
	svc, err := New(Config{Store: brokenAccounts{e.r.Store}, Time: e.svc.cfg.Time})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.checkCaller(ctx, "WEB01$", e.now)
	if !errors.Is(err, errStoreDown) || errors.As(err, &ne) {
		t.Fatalf("store failure: %v, want the store's error and no refusal", err)
	}
}
