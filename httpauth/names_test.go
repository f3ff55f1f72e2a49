package httpauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/internal/testkit"
)

// fakeNames resolves from a map, or fails.
type fakeNames struct {
	names map[string]string
	fail  bool
	asked [][]string
}

func (f *fakeNames) Names(_ context.Context, sids []string) (map[string]string, error) {
	f.asked = append(f.asked, sids)
	if f.fail {
		return nil, errors.New("the AA is unreachable")
	}
	return f.names, nil
}

// With a resolver the Kerberos identity's group SIDs get names; a
// resolver failure is logged and leaves the SIDs, without refusing the
// user.
func TestNegotiateResolvesNames(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			res := &fakeNames{names: map[string]string{"S-1-5-21-1111-2222-3333-513": "Domain Users", "S-1-5-21-1111-2222-3333-1105": "developers"}, fail: fail}
			e := newEnv(t, envOptions{names: res})
			e.setHandler(e.auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var g []string
				for _, x := range auth.FromContext(r.Context()).Groups {
					g = append(g, x.SID+"="+x.Name)
				}
				fmt.Fprint(w, strings.Join(g, ","))
			})))
			src, _ := e.source(t, testkit.MintOptions{PAC: true, GroupRIDs: []uint32{1105}})
			resp, err := e.client(&httpauth.Transport{Credentials: src}).Get(e.srv.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := "S-1-5-21-1111-2222-3333-513=Domain Users,S-1-5-21-1111-2222-3333-1105=developers"
			if fail {
				want = "S-1-5-21-1111-2222-3333-513=,S-1-5-21-1111-2222-3333-1105="
			}
			if resp.StatusCode != 200 || string(body) != want {
				t.Fatalf("%d %q, want %q", resp.StatusCode, body, want)
			}
			if len(res.asked) != 1 || len(res.asked[0]) != 2 {
				t.Errorf("asked %v", res.asked)
			}
			if fail && !strings.Contains(e.log.String(), "cannot resolve group names") {
				t.Errorf("the failure was not logged:\n%s", e.log)
			}
		})
	}
}
