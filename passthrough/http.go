package passthrough

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/ntlm"
)

// NTLMPath is where the AA's HTTPS listener takes NTLM validations.
const NTLMPath = "/passthrough/v1/ntlm"

// maxRequest caps a validation request body: an NTLMv2 response is a
// few hundred bytes.
const maxRequest = 64 << 10

// ntlmRequest is the wire form of ntlm.Validation.
type ntlmRequest struct {
	ServerChallenge []byte `json:"server_challenge"`
	User            string `json:"user"`
	Domain          string `json:"domain"`
	Workstation     string `json:"workstation,omitempty"`
	NTResponse      []byte `json:"nt_response"`
	LMResponse      []byte `json:"lm_response,omitempty"`
}

// ntlmResponse is a success or a refusal.
type ntlmResponse struct {
	Status string `json:"status"` // "STATUS_SUCCESS" or the NTSTATUS name
	Code   uint32 `json:"code"`
	Reason string `json:"reason,omitempty"`
	wireIdentity
	SessionBaseKey []byte `json:"session_base_key,omitempty"`
}

// CallerFunc names the account of the server making a request (from its
// client certificate or Kerberos identity), or refuses it.
type CallerFunc func(r *http.Request) (string, error)

// Handler serves NTLMPath. Every answer is logged once, with the true
// reason; the calling server gets STATUS_LOGON_FAILURE for both an
// unknown user and a wrong password, so it cannot tell which accounts
// exist.
func Handler(s *Service, caller CallerFunc, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST a validation request", http.StatusMethodNotAllowed)
			return
		}
		who, err := caller(r)
		if err != nil {
			log.Warn("validation refused", "op", "passthrough.ntlm", "code", "caller", "reason", err.Error(), "remote", r.RemoteAddr)
			writeJSON(w, http.StatusForbidden, ntlmResponse{Status: ntlm.StatusAccountRestriction.String(), Code: uint32(ntlm.StatusAccountRestriction), Reason: err.Error()})
			return
		}
		var req ntlmRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, maxRequest)).Decode(&req); err != nil || len(req.ServerChallenge) != 8 {
			writeJSON(w, http.StatusBadRequest, ntlmResponse{Status: ntlm.StatusInvalidToken.String(), Code: uint32(ntlm.StatusInvalidToken),
				Reason: "the body must be a JSON validation request with an 8-byte server_challenge"})
			return
		}
		v := &ntlm.Validation{User: req.User, Domain: req.Domain, Workstation: req.Workstation, NTResponse: req.NTResponse, LMResponse: req.LMResponse}
		copy(v.ServerChallenge[:], req.ServerChallenge)
		res, err := s.ValidateNTLM(r.Context(), who, v)
		if err != nil {
			var ne *ntlm.Error
			if !errors.As(err, &ne) {
				log.Error("validation failed", "op", "passthrough.ntlm", "reason", err.Error(), "caller", who, "remote", r.RemoteAddr)
				writeJSON(w, http.StatusInternalServerError, ntlmResponse{Status: "internal", Reason: "the AA could not validate"})
				return
			}
			log.Warn("logon refused", "op", "passthrough.ntlm", "code", ne.Status.String(), "reason", ne.Reason,
				"principal", v.Domain+`\`+v.User, "caller", who, "remote", r.RemoteAddr)
			wire := ne.Status
			reason := ne.Reason
			if wire == ntlm.StatusNoSuchUser || wire == ntlm.StatusWrongPassword {
				wire, reason = ntlm.StatusLogonFailure, "unknown user or wrong password"
			}
			writeJSON(w, http.StatusOK, ntlmResponse{Status: wire.String(), Code: uint32(wire), Reason: reason})
			return
		}
		log.Info("logon validated", "op", "passthrough.ntlm", "principal", res.Identity.Principal(), "caller", who, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusOK, ntlmResponse{Status: ntlm.StatusSuccess.String(), wireIdentity: toWire(&res.Identity),
			SessionBaseKey: res.SessionBaseKey[:]})
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Client is what an application server uses to have the AA validate an
// NTLM answer. HTTPClient must authenticate the server to the AA (a
// client certificate of its computer account from the realm CA) and
// trust the realm CA.
type Client struct {
	URL        string // the AA's HTTPS base URL, "https://aa.example.test:8443"
	HTTPClient *http.Client
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient == nil {
		return http.DefaultClient
	}
	return c.HTTPClient
}

// post sends a JSON request body to the AA's path. A bad URL fails here
// as an unreachable AA does, and callers say so in their own terms.
func (c *Client) post(ctx context.Context, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.httpClient().Do(req)
}

// ValidateNTLM asks the AA. A refusal is an *ntlm.Error with the status
// the AA gave.
func (c *Client) ValidateNTLM(ctx context.Context, v *ntlm.Validation) (*Result, error) {
	body, _ := json.Marshal(ntlmRequest{ServerChallenge: v.ServerChallenge[:], User: v.User, Domain: v.Domain,
		Workstation: v.Workstation, NTResponse: v.NTResponse, LMResponse: v.LMResponse})
	resp, err := c.post(ctx, NTLMPath, body)
	if err != nil {
		return nil, &ntlm.Error{Status: ntlm.StatusLogonFailure, Reason: "cannot reach the AA to validate the logon", Err: err,
			Hint: "check the AA URL, that it trusts this server's certificate and that this server trusts the realm CA"}
	}
	defer resp.Body.Close()
	var out ntlmResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRequest)).Decode(&out); err != nil {
		return nil, &ntlm.Error{Status: ntlm.StatusLogonFailure, Reason: fmt.Sprintf("the AA answered HTTP %d without a validation result", resp.StatusCode), Err: err}
	}
	if out.Status != ntlm.StatusSuccess.String() {
		e := &ntlm.Error{Status: ntlm.Status(out.Code), Reason: "the AA refused the logon: " + out.Reason}
		if resp.StatusCode == http.StatusForbidden {
			e.Hint = "this server may not ask for validation: give it a certificate of its computer account (warden cert issue --account NAME$)"
		}
		return nil, e
	}
	if len(out.SessionBaseKey) != 16 {
		return nil, &ntlm.Error{Status: ntlm.StatusLogonFailure, Reason: "the AA's answer has no session key"}
	}
	return &Result{Identity: out.identity(auth.MethodNTLM), SessionBaseKey: [16]byte(out.SessionBaseKey)}, nil
}
