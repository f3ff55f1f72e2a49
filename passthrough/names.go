package passthrough

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warden-auth/warden/ntlm"
	"github.com/warden-auth/warden/store"
)

// NamesPath is where a calling server asks the AA for the names of SIDs:
// a Kerberos ticket's PAC carries the user's groups and the device
// (compound identity) as SIDs only, and applications and group rules
// want names.
const NamesPath = "/passthrough/v1/names"

// MaxNames bounds the SIDs of one request (a PAC with more groups than
// this is resolved in several requests).
const MaxNames = 1024

// errTooManySIDs is wrapped by the refusal of a request over MaxNames.
var errTooManySIDs = errors.New("too many SIDs")

// wellKnownNames are the SIDs outside the domain that Warden's PACs carry.
var wellKnownNames = map[string]string{
	"S-1-18-1":           "Authentication authority asserted identity",
	"S-1-5-21-0-0-0-496": "Compounded Authentication",
	"S-1-5-21-0-0-0-497": "Claims Valid",
}

// Names returns the account or group name of each SID of the realm's
// domain (and of the well-known SIDs above) for a calling server; SIDs it
// does not know are left out.
func (s *Service) Names(ctx context.Context, caller string, sids []string) (map[string]string, error) {
	now := s.cfg.Time()
	if _, err := s.checkCaller(ctx, caller, now); err != nil {
		return nil, err
	}
	if len(sids) > MaxNames {
		return nil, fmt.Errorf("%d SIDs in one request; at most %d: %w", len(sids), MaxNames, errTooManySIDs)
	}
	realm, err := s.cache.getRealm(ctx, now)
	if err != nil {
		return nil, err
	}
	groups, err := s.cache.groupNames(ctx, now)
	if err != nil {
		return nil, err
	}
	prefix := realm.DomainSID + "-"
	out := make(map[string]string, len(sids))
	for _, sid := range sids {
		if n, ok := wellKnownNames[sid]; ok {
			out[sid] = n
			continue
		}
		rest, ok := strings.CutPrefix(sid, prefix)
		if !ok {
			continue
		}
		rid64, err := strconv.ParseUint(rest, 10, 32)
		if err != nil {
			continue
		}
		rid := uint32(rid64)
		// Accounts and groups share one space of RIDs; most SIDs of a
		// PAC are groups, which the cache answers without a query.
		switch rid {
		case store.RIDDomainUsers:
			out[sid] = "Domain Users"
			continue
		case store.RIDDomainComputers:
			out[sid] = "Domain Computers"
			continue
		}
		if n, ok := groups[rid]; ok {
			out[sid] = n
			continue
		}
		a, err := s.cfg.Store.AccountByRID(ctx, rid)
		switch {
		case err == nil:
			out[sid] = a.Name
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return out, nil
}

type namesRequest struct {
	SIDs []string `json:"sids"`
}

type namesResponse struct {
	Names  map[string]string `json:"names,omitempty"`
	Reason string            `json:"reason,omitempty"`
}

// NamesHandler serves NamesPath (POST).
func NamesHandler(s *Service, caller CallerFunc, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := caller(r)
		if err != nil {
			log.Warn("name lookup refused", "op", "passthrough.names", "reason", err.Error(), "remote", r.RemoteAddr)
			writeJSON(w, http.StatusForbidden, namesResponse{Reason: err.Error()})
			return
		}
		var req namesRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, maxRequest)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, namesResponse{Reason: "the request is not a JSON object with a list of SIDs"})
			return
		}
		names, err := s.Names(r.Context(), who, req.SIDs)
		if err != nil {
			// A store that cannot answer is 500, its words kept for the log.
			code, reason := http.StatusInternalServerError, "the AA could not look the names up; try again later"
			var ne *ntlm.Error
			switch {
			case errors.As(err, &ne):
				code, reason = http.StatusForbidden, err.Error()
			case errors.Is(err, errTooManySIDs):
				code, reason = http.StatusBadRequest, err.Error()
			}
			log.Warn("name lookup refused", "op", "passthrough.names", "caller", who, "reason", err.Error(), "remote", r.RemoteAddr)
			writeJSON(w, code, namesResponse{Reason: reason})
			return
		}
		writeJSON(w, http.StatusOK, namesResponse{Names: names})
	})
}

// Names asks the AA for the names of sids (see NamesPath), in requests
// of at most MaxNames.
func (c *Client) Names(ctx context.Context, sids []string) (map[string]string, error) {
	out := map[string]string{}
	for len(sids) > 0 {
		n := min(len(sids), MaxNames)
		if err := c.names(ctx, sids[:n], out); err != nil {
			return nil, err
		}
		sids = sids[n:]
	}
	return out, nil
}

func (c *Client) names(ctx context.Context, sids []string, out map[string]string) error {
	body, _ := json.Marshal(namesRequest{SIDs: sids})
	resp, err := c.post(ctx, NamesPath, body)
	if err != nil {
		return fmt.Errorf("cannot reach the AA at %s to resolve names: %w", c.URL, err)
	}
	defer resp.Body.Close()
	var res namesResponse
	// A name is at most a few hundred bytes: MaxNames of them fit.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&res); err != nil {
		return fmt.Errorf("the AA's answer at %s is not a name list (HTTP %d)", c.URL+NamesPath, resp.StatusCode)
	}
	if resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("the AA refused to resolve names for this server (HTTP 403): %s; give this server a certificate of its computer account (warden computer add NAME; warden cert issue --account NAME$)", res.Reason)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the AA refused to resolve names (HTTP %d): %s", resp.StatusCode, res.Reason)
	}
	for sid, n := range res.Names {
		out[sid] = n
	}
	return nil
}

// NameCache remembers the AA's answers (and the SIDs it does not know)
// for TTL, so that resolving the names of a user's groups costs no round
// trip on most requests. It is safe for concurrent use.
type NameCache struct {
	Client *Client
	// TTL is how long an answer is kept; 0 means five minutes. A renamed
	// group shows under its new name within it.
	TTL  time.Duration
	Time func() time.Time

	mu      sync.Mutex
	entries map[string]nameEntry
}

type nameEntry struct {
	name string // "" when the AA does not know the SID
	at   time.Time
}

// maxNameEntries bounds the cache; past it the cache starts over.
const maxNameEntries = 100_000

// Names implements the lookup from the cache, asking the AA for the SIDs
// it does not hold.
func (nc *NameCache) Names(ctx context.Context, sids []string) (map[string]string, error) {
	now := time.Now()
	if nc.Time != nil {
		now = nc.Time()
	}
	ttl := nc.TTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	out := make(map[string]string, len(sids))
	var missing []string
	nc.mu.Lock()
	for _, sid := range sids {
		if e, ok := nc.entries[sid]; ok && now.Sub(e.at) < ttl && !now.Before(e.at) {
			if e.name != "" {
				out[sid] = e.name
			}
			continue
		}
		missing = append(missing, sid)
	}
	nc.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	got, err := nc.Client.Names(ctx, missing)
	if err != nil {
		return out, err
	}
	nc.mu.Lock()
	if nc.entries == nil || len(nc.entries) > maxNameEntries {
		nc.entries = map[string]nameEntry{}
	}
	for _, sid := range missing {
		nc.entries[sid] = nameEntry{name: got[sid], at: now}
		if n := got[sid]; n != "" {
			out[sid] = n
		}
	}
	nc.mu.Unlock()
	return out, nil
}
