package proxy

import (
	"net/http"
	"testing"
	"time"

	"github.com/warden-auth/warden/auth"
)

func TestNormPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "/",
		"/":                  "/",
		"/Admin/":            "/admin",
		"//admin//x":         "/admin/x",
		"/a/../admin":        "/admin",
		"/../../admin":       "/admin",
		"\\admin\\x":         "/admin/x",
		"/admin;jsessionid":  "/admin",
		"/admin;a=b/x;c/y":   "/admin/x/y",
		"/public/.;/../adm":  "/adm",
		"/admin/./x/.":       "/admin/x",
		"admin":              "/admin",
		"/ADMIN%2Fx (as is)": "/admin%2fx (as is)",
	} {
		if got := normPath(in); got != want {
			t.Errorf("normPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIdentityHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"X-Forwarded-User": true, "x-forwarded-user": true, "X_Forwarded_User": true, "X-Forwarded_user": true,
		"X-Forwarded-Groups": true, "X-Warden-User-SID": true, "x_warden_anything": true, "X-WARDEN-": true,
		"X-Forwarded-For": false, "X-Forwarded-Username": false, "X-Wardens": false, "Forwarded": false,
	} {
		if identityHeader(name) != want {
			t.Errorf("identityHeader(%q) = %v", name, !want)
		}
	}
}

func TestIdentityHeaderValues(t *testing.T) {
	h := http.Header{}
	id := &auth.Identity{User: "bob\r\nX-Evil: 1", Realm: "R,S", SID: "S-1-5-21-1-2-3-1104", Method: auth.MethodKerberos, Mutual: true,
		Groups:  []auth.Group{{SID: "S-1-5-21-1-2-3-513"}, {SID: "S-1-5-21-1-2-3-513"}, {SID: "S-1-5-21-1-2-3-1105", Name: "dev,ops 100%"}},
		Expires: time.Date(2026, 11, 23, 19, 0, 0, 0, time.FixedZone("x", 3600))}
	setIdentityHeaders(h, id)
	for k, want := range map[string]string{
		"X-Forwarded-User":    "bob%0D%0AX-Evil: 1@R%2CS",
		"X-Forwarded-Groups":  "S-1-5-21-1-2-3-513,dev%2Cops 100%25",
		"X-Warden-Group-Sids": "S-1-5-21-1-2-3-513,S-1-5-21-1-2-3-1105",
		"X-Warden-Mutual":     "true",
		"X-Warden-Expires":    "2026-11-23T18:00:00Z",
		"X-Warden-User-Sid":   "S-1-5-21-1-2-3-1104",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}
