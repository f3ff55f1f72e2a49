package passthrough

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/warden-auth/warden/ntlm"
)

// InfoPath tells a calling server the names it must use in its NTLM
// challenges, so that an application server needs only the AA's URL and
// its certificate to be configured.
const InfoPath = "/passthrough/v1/info"

// ServerInfo is what the AA knows of a calling server and its realm.
type ServerInfo struct {
	Realm           string `json:"realm"`            // "EXAMPLE.TEST"
	NetBIOSDomain   string `json:"netbios_domain"`   // "EXAMPLE"
	DNSDomain       string `json:"dns_domain"`       // "example.test"
	Account         string `json:"account"`          // "WEB01$"
	NetBIOSComputer string `json:"netbios_computer"` // "WEB01"
	DNSComputer     string `json:"dns_computer"`     // from its host/ SPN: "web01.example.test"
}

// NTLMServer returns the names of an NTLM server challenge from info.
func (i *ServerInfo) NTLMServer() ntlm.ServerConfig {
	return ntlm.ServerConfig{NetBIOSDomain: i.NetBIOSDomain, NetBIOSComputer: i.NetBIOSComputer,
		DNSDomain: i.DNSDomain, DNSComputer: i.DNSComputer}
}

// ServerInfo describes the calling server (a computer account).
func (s *Service) ServerInfo(ctx context.Context, caller string) (*ServerInfo, error) {
	now := s.cfg.Time()
	realm, err := s.cache.getRealm(ctx, now)
	if err != nil {
		return nil, err
	}
	a, err := s.checkCaller(ctx, caller, now)
	if err != nil {
		return nil, err
	}
	dns := strings.ToLower(realm.Name)
	nb := strings.TrimSuffix(a.Name, "$")
	info := &ServerInfo{Realm: realm.Name, NetBIOSDomain: realm.NetBIOS, DNSDomain: dns, Account: a.Name,
		NetBIOSComputer: strings.ToUpper(nb), DNSComputer: strings.ToLower(nb) + "." + dns}
	for _, spn := range a.SPNs {
		if host, ok := strings.CutPrefix(strings.ToLower(spn), "host/"); ok && strings.Contains(host, ".") {
			info.DNSComputer = host
			break
		}
	}
	return info, nil
}

// InfoHandler serves InfoPath (GET).
func InfoHandler(s *Service, caller CallerFunc, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := caller(r)
		var info *ServerInfo
		if err == nil {
			if info, err = s.ServerInfo(r.Context(), who); err == nil {
				writeJSON(w, http.StatusOK, info)
				return
			}
			if ne := (*ntlm.Error)(nil); !errors.As(err, &ne) {
				// The store could not answer: not the caller's fault.
				log.Error("server info failed", "op", "passthrough.info", "reason", err.Error(), "caller", who, "remote", r.RemoteAddr)
				writeJSON(w, http.StatusInternalServerError, ntlmResponse{Status: "internal", Reason: "the AA could not look this server up; try again later"})
				return
			}
		}
		log.Warn("server info refused", "op", "passthrough.info", "reason", err.Error(), "remote", r.RemoteAddr)
		writeJSON(w, http.StatusForbidden, ntlmResponse{Status: ntlm.StatusAccountRestriction.String(), Code: uint32(ntlm.StatusAccountRestriction), Reason: err.Error()})
	})
}

// ServerInfo asks the AA for this server's names (see InfoPath).
func (c *Client) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+InfoPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the AA at %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxRequest)
	if resp.StatusCode != http.StatusOK {
		var out ntlmResponse
		_ = json.NewDecoder(body).Decode(&out)
		if resp.StatusCode >= 500 {
			return nil, fmt.Errorf("the AA at %s could not answer (HTTP %d): %s; its log says why", c.URL, resp.StatusCode, out.Reason)
		}
		return nil, &ntlm.Error{Status: ntlm.StatusAccountRestriction, Reason: fmt.Sprintf("the AA refused this server (HTTP %d): %s", resp.StatusCode, out.Reason),
			Hint: "give this server a certificate of its computer account (warden computer add NAME; warden cert issue --account NAME$) and the realm CA"}
	}
	var info ServerInfo
	if err := json.NewDecoder(body).Decode(&info); err != nil || info.NetBIOSDomain == "" || info.NetBIOSComputer == "" {
		return nil, fmt.Errorf("the AA's answer at %s is not server information", c.URL+InfoPath)
	}
	return &info, nil
}
