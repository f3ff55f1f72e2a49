package passthrough

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/warden-auth/warden/auth"
	"github.com/warden-auth/warden/digest"
)

// DigestPath is where the AA's HTTPS listener takes Digest validations.
const DigestPath = "/passthrough/v1/digest"

// digestRequest is the wire form of digest.Validation: the inputs of the
// client's response, nothing secret.
type digestRequest struct {
	Algorithm  string `json:"algorithm"`
	Username   string `json:"username"`
	UserHash   bool   `json:"userhash,omitempty"`
	Realm      string `json:"realm"`
	Nonce      string `json:"nonce"`
	CNonce     string `json:"cnonce"`
	NC         string `json:"nc"`
	QOP        string `json:"qop"`
	Method     string `json:"method"`
	URI        string `json:"uri"`
	EntityHash string `json:"entity_hash,omitempty"`
	Response   string `json:"response"`
}

// digestResponse is a success (status "SUCCESS", the identity and
// rspauth) or a refusal (the digest.Code name and a reason).
type digestResponse struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	wireIdentity
	RspAuth string `json:"rspauth,omitempty"`
}

const statusSuccess = "SUCCESS"

// DigestHandler serves DigestPath. Every answer is logged once with the
// true reason; the calling server gets LOGON_FAILURE for both an unknown
// user and a wrong password, so it cannot tell which accounts exist.
func DigestHandler(s *Service, caller CallerFunc, log *slog.Logger) http.Handler {
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
			log.Warn("validation refused", "op", "passthrough.digest", "code", "caller", "reason", err.Error(), "remote", r.RemoteAddr)
			writeJSON(w, http.StatusForbidden, digestResponse{Status: digest.AccountRestriction.String(), Reason: err.Error()})
			return
		}
		var req digestRequest
		alg, algOK := digest.Algorithm(0), false
		if err := json.NewDecoder(io.LimitReader(r.Body, maxRequest)).Decode(&req); err == nil {
			alg, algOK = digest.ParseAlgorithm(req.Algorithm)
		}
		if !algOK {
			writeJSON(w, http.StatusBadRequest, digestResponse{Status: digest.BadHeader.String(),
				Reason: "the body must be a JSON Digest validation request with a known algorithm"})
			return
		}
		v := &digest.Validation{Algorithm: alg, Username: req.Username, UserHash: req.UserHash, Realm: req.Realm, Nonce: req.Nonce,
			CNonce: req.CNonce, NC: req.NC, QOP: req.QOP, Method: req.Method, URI: req.URI, EntityHash: req.EntityHash, Response: req.Response}
		verdict, err := s.ValidateDigest(r.Context(), who, v)
		if err != nil {
			var de *digest.Error
			if !errors.As(err, &de) {
				log.Error("validation failed", "op", "passthrough.digest", "reason", err.Error(), "caller", who, "remote", r.RemoteAddr)
				writeJSON(w, http.StatusInternalServerError, digestResponse{Status: digest.Unavailable.String(), Reason: "the AA could not validate"})
				return
			}
			log.Warn("logon refused", "op", "passthrough.digest", "code", de.Code.String(), "reason", de.Reason,
				"principal", v.Username, "userhash", v.UserHash, "algorithm", v.Algorithm.String(), "caller", who, "remote", r.RemoteAddr)
			wire := masked(de)
			writeJSON(w, http.StatusOK, digestResponse{Status: wire.Code.String(), Reason: wire.Reason})
			return
		}
		log.Info("logon validated", "op", "passthrough.digest", "principal", verdict.Identity.Principal(), "algorithm", v.Algorithm.String(),
			"caller", who, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusOK, digestResponse{Status: statusSuccess, wireIdentity: toWire(&verdict.Identity), RspAuth: verdict.RspAuth})
	})
}

// masked is the refusal a calling server gets: LogonFailure for both an
// unknown user and a wrong password, the rest as they are.
func masked(e *digest.Error) *digest.Error {
	if e.Code == digest.NoSuchUser || e.Code == digest.WrongPassword {
		return &digest.Error{Code: digest.LogonFailure, Reason: "unknown user or wrong password"}
	}
	return &digest.Error{Code: e.Code, Reason: e.Reason, Hint: e.Hint}
}

// DigestValidator is a digest.Validator running this Service in-process
// for the server account caller, answering as the HTTP endpoint does
// (unknown user and wrong password both LogonFailure): for an
// application server inside the AA's process, and for tests.
func (s *Service) DigestValidator(caller string) digest.Validator {
	return digest.ValidatorFunc(func(ctx context.Context, v *digest.Validation) (*digest.Verdict, error) {
		vd, err := s.ValidateDigest(ctx, caller, v)
		var de *digest.Error
		if errors.As(err, &de) {
			return nil, masked(de)
		}
		return vd, err
	})
}

// ValidateDigest asks the AA to check a Digest response; it makes Client
// a digest.Validator. A refusal is a *digest.Error with the code the AA
// gave (LogonFailure for unknown user and wrong password alike);
// Unavailable when the AA cannot be reached or does not answer.
func (c *Client) ValidateDigest(ctx context.Context, v *digest.Validation) (*digest.Verdict, error) {
	body, _ := json.Marshal(digestRequest{Algorithm: v.Algorithm.String(), Username: v.Username, UserHash: v.UserHash, Realm: v.Realm,
		Nonce: v.Nonce, CNonce: v.CNonce, NC: v.NC, QOP: v.QOP, Method: v.Method, URI: v.URI, EntityHash: v.EntityHash, Response: v.Response})
	resp, err := c.post(ctx, DigestPath, body)
	if err != nil {
		return nil, &digest.Error{Code: digest.Unavailable, Reason: "cannot reach the AA to validate the logon", Err: err,
			Hint: "check the AA URL, that it trusts this server's certificate and that this server trusts the realm CA"}
	}
	defer resp.Body.Close()
	var out digestResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRequest)).Decode(&out); err != nil {
		return nil, &digest.Error{Code: digest.Unavailable, Reason: fmt.Sprintf("the AA answered HTTP %d without a validation result", resp.StatusCode), Err: err}
	}
	if out.Status != statusSuccess {
		code, ok := digest.ParseCode(out.Status)
		if !ok {
			code = digest.Unavailable
		}
		e := &digest.Error{Code: code, Reason: "the AA refused the logon: " + out.Reason}
		if resp.StatusCode == http.StatusForbidden {
			e.Code = digest.Unavailable // the server's own configuration, not the user's fault
			e.Hint = "this server may not ask for validation: give it a certificate of its computer account (warden cert issue --account NAME$)"
		}
		return nil, e
	}
	if len(out.RspAuth) != 2*v.Algorithm.Size() {
		return nil, &digest.Error{Code: digest.Unavailable, Reason: "the AA's answer has no rspauth"}
	}
	return &digest.Verdict{Identity: out.identity(auth.MethodDigest), RspAuth: out.RspAuth}, nil
}
