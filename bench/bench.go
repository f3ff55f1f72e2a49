// Package bench is the load generator behind `warden bench`: it sends
// fresh AS or TGS requests (distinct nonces and timestamps, many users) to
// any KDC — Warden's or MIT's — decrypts and checks every reply, and
// reports the rate, the errors and the latency distribution.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	mathrand "math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-auth/warden/krb5"
	"github.com/warden-auth/warden/krb5/kcrypto"
)

// Config describes a load run.
type Config struct {
	KDC   string // host:port
	Realm string
	// Proto is "udp" (default) or "tcp".
	Proto string
	// Users are the principals to log in as, in turn; they share Password.
	Users    []string
	Password string
	// Service is the service principal of TGS runs ("HTTP/web.example.test").
	Service string
	// Workers is the number of concurrent clients (default 32).
	Workers int
	// Duration of the measured run (default 10s); Warmup before it (default 1s).
	Duration time.Duration
	Warmup   time.Duration
	// Timeout per request (default 2s).
	Timeout time.Duration
	// EType of the keys to use (default aes256-cts-hmac-sha1-96).
	EType krb5.EncType
	// Rate caps requests per second across workers (0: as fast as possible).
	Rate int
	// ASService makes AS runs ask for a ticket to this service instead of
	// a TGT; NoPAC adds PA-PAC-REQUEST FALSE. Together they measure the AS
	// exchange that issues no PAC at all (a TGT always carries one), to
	// set against the usual TGT logon.
	ASService string
	NoPAC     bool
}

// Report is the outcome of a run.
type Report struct {
	Op       string
	Requests int64 // answered and verified
	Errors   int64
	Elapsed  time.Duration
	P50, P99 time.Duration
	// FirstErrors holds up to five distinct errors seen.
	FirstErrors []string
}

// Rate is verified requests per second.
func (r Report) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (r Report) String() string {
	s := fmt.Sprintf("%s: %d requests in %s = %.0f req/s, %d errors, p50 %s, p99 %s",
		r.Op, r.Requests, r.Elapsed.Round(time.Millisecond), r.Rate(), r.Errors, r.P50, r.P99)
	for _, e := range r.FirstErrors {
		s += "\n  error: " + e
	}
	return s
}

func (c *Config) defaults() error {
	if c.KDC == "" || c.Realm == "" || len(c.Users) == 0 {
		return errors.New("bench: KDC, Realm and Users are required")
	}
	if c.Proto == "" {
		c.Proto = "udp"
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.EType == 0 {
		c.EType = krb5.ETypeAES256CTSHMACSHA196
	}
	return nil
}

// user is a principal with its long-term key, derived once.
//
// It holds no pointers: its name is a slice of the run's one string of
// names (userNames), its key is bytes, given their kcrypto form (derived
// keys, AES schedules: over a kilobyte) for each request. The generator
// shares the machine's memory with the KDC it measures, and with 100,000
// users a Key or a few strings each would be hundreds of thousands of
// objects, cold in the CPU caches, that the generator's own garbage
// collector chases several times a second: the KDC measured with many
// users would be slowed by its load generator's memory rather than its
// own.
type user struct {
	nameAt  uint32
	nameLen uint16
	key     [32]byte // of Config.EType, KeySize(EType) long
}

// userNames holds the names of a run's users, one after the other.
type userNames string

func (ns userNames) principal(u *user) krb5.PrincipalName {
	return krb5.NewPrincipalName(krb5.NameTypePrincipal, string(ns[u.nameAt:u.nameAt+uint32(u.nameLen)]))
}

// kcryptoKey is u's key, of enctype e, in kcrypto form. It was checked by
// StringToKey.
func (u *user) kcryptoKey(e krb5.EncType) *kcrypto.Key {
	k, err := kcrypto.NewKey(krb5.EncryptionKey{KeyType: e, KeyValue: u.key[:kcrypto.KeySize(e)]}, kcrypto.Options{})
	if err != nil {
		panic("bench: a derived key became invalid: " + err.Error())
	}
	return k
}

// conn sends one request and reads one reply over UDP or TCP.
type conn struct {
	c     net.Conn
	tcp   bool
	buf   []byte
	frame []byte
}

func dial(cfg *Config) (*conn, error) {
	c, err := net.Dial(cfg.Proto, cfg.KDC)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, tcp: cfg.Proto == "tcp", buf: make([]byte, 65536)}, nil
}

func (c *conn) roundTrip(req []byte, timeout time.Duration) ([]byte, error) {
	_ = c.c.SetDeadline(time.Now().Add(timeout))
	if !c.tcp {
		if _, err := c.c.Write(req); err != nil {
			return nil, err
		}
		n, err := c.c.Read(c.buf)
		if err != nil {
			return nil, err
		}
		return c.buf[:n], nil
	}
	c.frame = binary.BigEndian.AppendUint32(c.frame[:0], uint32(len(req)))
	c.frame = append(c.frame, req...)
	if _, err := c.c.Write(c.frame); err != nil {
		return nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c.c, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if int(n) > len(c.buf) {
		return nil, fmt.Errorf("reply of %d bytes is too long", n)
	}
	if _, err := io.ReadFull(c.c, c.buf[:n]); err != nil {
		return nil, err
	}
	return c.buf[:n], nil
}

func (c *conn) close() { c.c.Close() }

// prepare derives each user's key, asking the KDC for the salt once per
// user (so it works against any KDC's salting).
func prepare(ctx context.Context, cfg *Config) ([]user, error) {
	users := make([]user, len(cfg.Users))
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range min(cfg.Workers, 16) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(cfg)
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			defer c.close()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(users) || ctx.Err() != nil {
					return
				}
				u, err := deriveUser(c, cfg, cfg.Users[i])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				users[i] = u
			}
		}()
	}
	wg.Wait()
	return users, firstErr
}

func deriveUser(c *conn, cfg *Config, name string) (user, error) {
	pn := krb5.NewPrincipalName(krb5.NameTypePrincipal, name)
	req := asReq(cfg, pn, nil, 1)
	rep, err := c.roundTrip(req, cfg.Timeout)
	if err != nil {
		return user{}, fmt.Errorf("user %s: %w", name, err)
	}
	salt := cfg.Realm + name
	var params []byte
	if t, _ := krb5.MessageType(rep); t == krb5.MsgKRBError {
		var ke krb5.KRBError
		if err := ke.Unmarshal(rep); err != nil {
			return user{}, err
		}
		if ke.ErrorCode != krb5.KDCErrPreauthRequired {
			return user{}, fmt.Errorf("user %s: %w", name, ke.Err())
		}
		if md, err := ke.MethodData(); err == nil {
			if pa, ok := md.Find(krb5.PAETypeInfo2); ok {
				var info krb5.ETypeInfo2
				if info.Unmarshal(pa.Value) == nil {
					for _, e := range info {
						if e.EType == cfg.EType && e.HasSalt {
							salt, params = e.Salt, e.S2KParams
						}
					}
				}
			}
		}
	}
	key, err := kcrypto.StringToKey(cfg.EType, cfg.Password, salt, params, kcrypto.Options{})
	if err != nil {
		return user{}, err
	}
	var u user
	copy(u.key[:], key.Bytes())
	return u, nil
}

func asReq(cfg *Config, cname krb5.PrincipalName, padata krb5.MethodData, nonce uint32) []byte {
	now := time.Now()
	sname := krb5.PrincipalName{NameType: krb5.NameTypeSrvInst, NameString: []string{"krbtgt", cfg.Realm}}
	if cfg.ASService != "" {
		sname = krb5.NewPrincipalName(krb5.NameTypeSrvInst, cfg.ASService)
	}
	if cfg.NoPAC {
		padata = append(padata, krb5.PACRequest{IncludePAC: false}.PAData())
	}
	req := krb5.KDCReq{MsgType: krb5.MsgASReq, PAData: padata, ReqBody: krb5.KDCReqBody{
		CName: &cname, Realm: cfg.Realm, SName: &sname,
		Till: now.Add(10 * time.Hour).Truncate(time.Second), Nonce: nonce, EType: []krb5.EncType{cfg.EType},
	}}
	b, _ := req.Marshal()
	return b
}

// loginRequest is a fresh AS-REQ with PA-ENC-TIMESTAMP for cname, whose key is k.
func loginRequest(cfg *Config, cname krb5.PrincipalName, k *kcrypto.Key, nonce uint32) ([]byte, error) {
	now := time.Now()
	ts := krb5.PAEncTSEnc{PATimestamp: now.UTC().Truncate(time.Second), PAUSec: int32(now.Nanosecond() / 1000), HasUSec: true}
	plain, _ := ts.Marshal()
	ed, err := k.EncryptData(rand.Reader, kcrypto.UsageASReqPAEncTimestamp, plain, 0, false)
	if err != nil {
		return nil, err
	}
	v, _ := ed.Marshal()
	return asReq(cfg, cname, krb5.MethodData{{Type: krb5.PAEncTimestamp, Value: v}}, nonce), nil
}

// checkReply decrypts a KDC-REP and checks its nonce.
func checkReply(rep []byte, key *kcrypto.Key, usage kcrypto.Usage, nonce uint32) (krb5.KDCRep, krb5.EncKDCRepPart, error) {
	var kr krb5.KDCRep
	var part krb5.EncKDCRepPart
	if t, _ := krb5.MessageType(rep); t == krb5.MsgKRBError {
		var ke krb5.KRBError
		if err := ke.Unmarshal(rep); err != nil {
			return kr, part, err
		}
		return kr, part, ke.Err()
	}
	if err := kr.Unmarshal(rep); err != nil {
		return kr, part, err
	}
	plain, err := key.DecryptData(usage, kr.EncPart)
	if err != nil {
		return kr, part, err
	}
	if err := part.Unmarshal(plain); err != nil {
		return kr, part, err
	}
	if part.Nonce != nonce {
		return kr, part, fmt.Errorf("reply nonce %d, sent %d", part.Nonce, nonce)
	}
	return kr, part, nil
}

// tgsRequest is a fresh TGS-REQ for cfg.Service presenting a TGT.
func tgsRequest(cfg *Config, tgt krb5.Ticket, cname krb5.PrincipalName, sk *kcrypto.Key, sname krb5.PrincipalName, nonce uint32) ([]byte, error) {
	now := time.Now()
	body := krb5.KDCReqBody{Realm: cfg.Realm, SName: &sname, Till: now.Add(10 * time.Hour).Truncate(time.Second),
		Nonce: nonce, EType: []krb5.EncType{cfg.EType}}
	bb, _ := body.Marshal()
	ck, err := sk.Checksum(kcrypto.UsageTGSReqAuthCksum, bb)
	if err != nil {
		return nil, err
	}
	auth := krb5.Authenticator{CRealm: cfg.Realm, CName: cname, Cksum: &ck, CTime: now.UTC().Truncate(time.Second), CUSec: int32(now.Nanosecond() / 1000)}
	ab, _ := auth.Marshal()
	ea, err := sk.EncryptData(rand.Reader, kcrypto.UsageTGSReqAuthenticator, ab, 0, false)
	if err != nil {
		return nil, err
	}
	ap := krb5.APReq{Ticket: tgt, Authenticator: ea}
	apb, _ := ap.Marshal()
	req := krb5.KDCReq{MsgType: krb5.MsgTGSReq, PAData: krb5.MethodData{{Type: krb5.PATGSReq, Value: apb}}, ReqBody: body}
	return req.Marshal()
}

// Run runs an "as" or "tgs" load.
func Run(ctx context.Context, op string, cfg Config) (Report, error) {
	if err := cfg.defaults(); err != nil {
		return Report{}, err
	}
	if op == "tgs" && cfg.Service == "" {
		return Report{}, errors.New("bench: tgs needs a Service")
	}
	users, err := prepare(ctx, &cfg)
	if err != nil {
		return Report{}, err
	}
	var nb strings.Builder
	for i, name := range cfg.Users {
		if nb.Len() > math.MaxUint32-len(name) || len(name) > math.MaxUint16 {
			return Report{}, errors.New("bench: the users' names are too long")
		}
		users[i].nameAt, users[i].nameLen = uint32(nb.Len()), uint16(len(name))
		nb.WriteString(name)
	}
	names := userNames(nb.String())
	cfg.Users = nil // one string per user, which the collector would visit
	var sname krb5.PrincipalName
	if op == "tgs" {
		sname = krb5.NewPrincipalName(krb5.NameTypeSrvInst, cfg.Service)
	}

	var (
		measuring atomic.Bool
		stop      atomic.Bool
		count     atomic.Int64
		errCount  atomic.Int64
		mu        sync.Mutex
		lat       []time.Duration
		firstErrs []string
		nonceCtr  atomic.Uint32
		wg        sync.WaitGroup
	)
	// With a rate cap each worker paces itself on its own schedule
	// (Workers/Rate apart, staggered), catching up after a slow reply
	// rather than dropping requests, so the offered load is the asked one.
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(cfg.Workers) * time.Second / time.Duration(cfg.Rate)
	}
	begin := time.Now()
	noteErr := func(err error) {
		if !measuring.Load() {
			return
		}
		errCount.Add(1)
		mu.Lock()
		if len(firstErrs) < 5 && !slices.Contains(firstErrs, err.Error()) {
			firstErrs = append(firstErrs, err.Error())
		}
		mu.Unlock()
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	nonceCtr.Store(binary.BigEndian.Uint32(b[:]))
	seed := binary.BigEndian.Uint64(b[4:])

	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(&cfg)
			if err != nil {
				noteErr(err)
				return
			}
			defer func() { c.close() }() // c is replaced after a failed round trip
			var local []time.Duration
			defer func() {
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			}()
			// TGS workers log in once and reuse the TGT.
			var tgt krb5.Ticket
			var tgtKey *kcrypto.Key
			var cname krb5.PrincipalName
			if op == "tgs" {
				u := &users[w%len(users)]
				uk := u.kcryptoKey(cfg.EType)
				cname = names.principal(u)
				n := nonceCtr.Add(1) & 0x7fffffff
				req, err := loginRequest(&cfg, cname, uk, n)
				if err != nil {
					noteErr(err)
					return
				}
				rep, err := c.roundTrip(req, cfg.Timeout)
				if err != nil {
					noteErr(err)
					return
				}
				kr, part, err := checkReply(rep, uk, kcrypto.UsageASRepEncPart, n)
				if err != nil {
					noteErr(err)
					return
				}
				tgt = kr.Ticket
				tgt.Raw = append([]byte(nil), tgt.Raw...)
				tgtKey, _ = kcrypto.NewKey(part.Key, kcrypto.Options{})
			}
			// AS workers log in as users picked at random: clients do
			// not come back in the order the KDC first saw them.
			rng := mathrand.New(mathrand.NewPCG(seed, uint64(w)))
			next := begin.Add(interval * time.Duration(w) / time.Duration(cfg.Workers))
			for !stop.Load() && ctx.Err() == nil {
				if interval > 0 {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					next = next.Add(interval)
				}
				n := nonceCtr.Add(1) & 0x7fffffff // MIT decodes the nonce as a signed 32-bit integer
				var req []byte
				var uk *kcrypto.Key // the AS client's key
				var err error
				if op == "tgs" {
					req, err = tgsRequest(&cfg, tgt, cname, tgtKey, sname, n)
				} else {
					u := &users[rng.IntN(len(users))]
					uk = u.kcryptoKey(cfg.EType)
					req, err = loginRequest(&cfg, names.principal(u), uk, n)
				}
				if err != nil {
					noteErr(err)
					continue
				}
				start := time.Now()
				rep, err := c.roundTrip(req, cfg.Timeout)
				took := time.Since(start)
				if err != nil {
					// A new socket: a late UDP reply left in the old
					// one would otherwise be read as the answer to the
					// next request, and a TCP stream is out of step.
					noteErr(err)
					c.close()
					if c, err = dial(&cfg); err != nil {
						noteErr(err)
						return
					}
					continue
				}
				if op == "tgs" {
					_, _, err = checkReply(rep, tgtKey, kcrypto.UsageTGSRepEncPartSessionKey, n)
				} else {
					_, _, err = checkReply(rep, uk, kcrypto.UsageASRepEncPart, n)
				}
				if err != nil {
					noteErr(err)
					continue
				}
				if measuring.Load() {
					count.Add(1)
					local = append(local, took)
				}
			}
		}()
	}
	select {
	case <-time.After(cfg.Warmup):
	case <-ctx.Done():
	}
	measuring.Store(true)
	start := time.Now()
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	measuring.Store(false)
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()

	slices.Sort(lat)
	r := Report{Op: op, Requests: count.Load(), Errors: errCount.Load(), Elapsed: elapsed, FirstErrors: firstErrs}
	if len(lat) > 0 {
		r.P50 = lat[len(lat)/2]
		r.P99 = lat[len(lat)*99/100]
	}
	return r, nil
}
