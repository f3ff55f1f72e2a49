package kdc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/warden-auth/warden/krb5"
)

// ServeConfig tunes UDP and TCP serving. Zero values are the defaults.
type ServeConfig struct {
	// OnResult is called once per answered request (for the log line and
	// metrics); it must be safe for concurrent use.
	OnResult func(remote netip.AddrPort, proto string, r Result, took time.Duration)
	// UDPReaders is the number of goroutines reading the UDP socket
	// (default runtime.NumCPU()).
	UDPReaders int
	// MaxTCPFrame caps a TCP request (default 64 KiB). Longer frames get
	// KRB_ERR_FIELD_TOOLONG and the connection is closed, as RFC 4120
	// 7.2.2 asks.
	MaxTCPFrame int
	// TCPReadTimeout bounds how long a client may take to send one
	// request once it started, and how long an idle connection stays
	// open (default 10s).
	TCPReadTimeout time.Duration
	// MaxTCPConns caps concurrent TCP connections (default 1024); more
	// are closed at once, so slow clients cannot starve others.
	MaxTCPConns int
	// LookasideTTL is how long replies are remembered so that a
	// retransmitted request gets the same answer without being processed
	// (and, for a wrong password, counted) twice (default 2m).
	LookasideTTL time.Duration
	// LookasideEntries caps the lookaside cache (default 16384).
	LookasideEntries int
	// MaxUDPReply is the largest reply sent over UDP (default 4096, as
	// MIT's max_dgram_reply_size); a larger one is replaced by
	// KRB_ERR_RESPONSE_TOO_BIG so that the client retries over TCP
	// instead of relying on IP fragments that firewalls often drop.
	MaxUDPReply int
	// Clock is the real time that socket deadlines and request durations
	// are taken from (default time.Now). It is not Config.Time, the
	// protocol clock: a test that freezes or shifts that one would put
	// every deadline in the past.
	Clock func() time.Time
}

func (c *ServeConfig) defaults() {
	if c.UDPReaders <= 0 {
		c.UDPReaders = runtime.NumCPU()
	}
	if c.MaxTCPFrame <= 0 {
		c.MaxTCPFrame = 64 << 10
	}
	if c.TCPReadTimeout <= 0 {
		c.TCPReadTimeout = 10 * time.Second
	}
	if c.MaxTCPConns <= 0 {
		c.MaxTCPConns = 1024
	}
	if c.LookasideTTL <= 0 {
		c.LookasideTTL = 2 * time.Minute
	}
	if c.LookasideEntries <= 0 {
		c.LookasideEntries = 16384
	}
	if c.MaxUDPReply <= 0 || c.MaxUDPReply > maxUDP-100 {
		c.MaxUDPReply = 4096
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

// maxUDP is the largest UDP datagram.
const maxUDP = 65535

// Serve answers requests on udp and tcp (either may be nil) until ctx is
// done or a listener fails; it closes both before returning and waits for
// in-flight requests.
func (k *KDC) Serve(ctx context.Context, udp *net.UDPConn, tcp net.Listener, cfg ServeConfig) error {
	cfg.defaults()
	la := newLookaside(cfg.LookasideEntries, cfg.LookasideTTL)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1+cfg.UDPReaders)
	var conns sync.Map // net.Conn -> struct{}

	if udp != nil {
		for i := 0; i < cfg.UDPReaders; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := k.serveUDP(ctx, udp, la, &cfg); err != nil {
					errc <- err
				}
			}()
		}
	}
	if tcp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, cfg.MaxTCPConns)
			for {
				c, err := tcp.Accept()
				if err != nil {
					if ctx.Err() == nil {
						var ne net.Error
						if errors.As(err, &ne) && ne.Timeout() {
							continue
						}
						errc <- err
					}
					return
				}
				select {
				case sem <- struct{}{}:
				default:
					c.Close()
					continue
				}
				conns.Store(c, struct{}{})
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					defer conns.Delete(c)
					k.serveTCPConn(ctx, c, la, &cfg)
				}()
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	if udp != nil {
		udp.Close()
	}
	if tcp != nil {
		tcp.Close()
	}
	conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
	wg.Wait()
	return err
}

func (k *KDC) serveUDP(ctx context.Context, conn *net.UDPConn, la *lookaside, cfg *ServeConfig) error {
	buf := make([]byte, maxUDP)
	for {
		n, addr, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue // transient (e.g. ICMP-induced) errors do not stop the KDC
		}
		if n == 0 {
			continue
		}
		reply := k.answer(ctx, buf[:n], addr, "udp", la, cfg)
		if reply == nil {
			continue
		}
		if len(reply) > cfg.MaxUDPReply {
			// Ask the client to use TCP (RFC 4120 7.2.1).
			reply = k.errorReply(k.cfg.Time(), &krb5.Error{Code: krb5.KRBErrResponseTooBig,
				Reason: fmt.Sprintf("reply of %d bytes is too big for UDP (limit %d); retry over TCP", len(reply), cfg.MaxUDPReply)}, nil, k.tgsName())
		}
		_, _ = conn.WriteToUDPAddrPort(reply, addr)
	}
}

func (k *KDC) serveTCPConn(ctx context.Context, c net.Conn, la *lookaside, cfg *ServeConfig) {
	defer c.Close()
	var remote netip.AddrPort
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		remote = a.AddrPort()
	}
	var hdr [4]byte
	// One request and one frame buffer per connection, reused: neither
	// the engine nor the lookaside cache keeps the request bytes (UDP
	// reuses its buffer the same way).
	var reqBuf, frame []byte
	for ctx.Err() == nil {
		_ = c.SetReadDeadline(cfg.Clock().Add(cfg.TCPReadTimeout))
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n&0x80000000 != 0 || int64(n) > int64(cfg.MaxTCPFrame) {
			// Too long (or the reserved high bit): say so and hang up
			// without reading (or allocating) the announced length.
			rep := k.errorReply(k.cfg.Time(), &krb5.Error{Code: krb5.KRBErrFieldTooLong, Reason: "request longer than the KDC accepts over TCP"}, nil, k.tgsName())
			_, _ = writeFrame(c, nil, rep, cfg.Clock().Add(cfg.TCPReadTimeout))
			return
		}
		if cap(reqBuf) < int(n) {
			reqBuf = make([]byte, n)
		}
		req := reqBuf[:n]
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		reply := k.answer(ctx, req, remote, "tcp", la, cfg)
		if reply == nil {
			return
		}
		var err error
		if frame, err = writeFrame(c, frame, reply, cfg.Clock().Add(cfg.TCPReadTimeout)); err != nil {
			return
		}
		if cap(reqBuf) > maxKeptTCPBuf {
			reqBuf = nil // a rare big request does not pin its buffer
		}
		if cap(frame) > maxKeptTCPBuf {
			frame = nil
		}
	}
}

// maxKeptTCPBuf bounds the buffers a TCP connection keeps between
// requests; a PAC with a thousand groups still fits.
const maxKeptTCPBuf = 64 << 10

// writeFrame writes b with its length prefix in one write, building the
// frame in buf (reused by the caller), and returns the buffer.
func writeFrame(c net.Conn, buf, b []byte, deadline time.Time) ([]byte, error) {
	_ = c.SetWriteDeadline(deadline)
	buf = binary.BigEndian.AppendUint32(buf[:0], uint32(len(b)))
	buf = append(buf, b...)
	_, err := c.Write(buf)
	return buf, err
}

// answer serves req from the lookaside cache or the handler.
func (k *KDC) answer(ctx context.Context, req []byte, remote netip.AddrPort, proto string, la *lookaside, cfg *ServeConfig) []byte {
	// Protocol time (the lookaside TTL) comes from the protocol clock;
	// cfg.Clock only measures how long the request took.
	start := cfg.Clock()
	now := k.cfg.Time()
	key := la.key(req)
	if rep, ok := la.get(key, now); ok {
		return rep
	}
	rep, res := k.safeHandle(ctx, req)
	if rep != nil {
		la.put(key, rep, now)
	}
	if cfg.OnResult != nil {
		cfg.OnResult(remote, proto, res, cfg.Clock().Sub(start))
	}
	return rep
}

// safeHandle turns a panic in the engine into a generic error reply: one
// bad request must not take the KDC down for everyone else.
func (k *KDC) safeHandle(ctx context.Context, req []byte) (rep []byte, res Result) {
	defer func() {
		if p := recover(); p != nil {
			rep = k.errorReply(k.cfg.Time(), &krb5.Error{Code: krb5.KRBErrGeneric, Reason: "internal error"}, nil, k.tgsName())
			res = Result{Op: "?", Code: krb5.KRBErrGeneric, Reason: "internal error", Detail: "panic while handling the request"}
		}
	}()
	return k.Handle(ctx, req)
}

// lookaside remembers recent replies by request bytes.
//
// It is keyed by a 128-bit keyed hash of the request rather than by the
// request itself: every answered request goes in, and a copy of each
// (one more allocation per request, and more for the garbage collector
// to mark) would only serve the comparison. With random seeds a
// collision is not something a peer can aim for, and one would hand a
// client a reply to another request, which it cannot decrypt and
// refuses by its nonce.
type lookaside struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	seeds   [2]maphash.Seed
	entries map[lookasideKey]lookasideEntry
}

type lookasideKey [2]uint64

type lookasideEntry struct {
	reply   []byte
	expires time.Time
}

func newLookaside(max int, ttl time.Duration) *lookaside {
	return &lookaside{ttl: ttl, max: max, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		entries: make(map[lookasideKey]lookasideEntry)}
}

func (l *lookaside) key(req []byte) lookasideKey {
	return lookasideKey{maphash.Bytes(l.seeds[0], req), maphash.Bytes(l.seeds[1], req)}
}

func (l *lookaside) get(key lookasideKey, now time.Time) ([]byte, bool) {
	l.mu.Lock()
	e, ok := l.entries[key]
	l.mu.Unlock()
	if !ok || now.After(e.expires) {
		return nil, false
	}
	return e.reply, true
}

func (l *lookaside) put(key lookasideKey, reply []byte, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= l.max {
		// Sweep expired entries; if the cache is still full, start over.
		// Fresh requests are never found in it anyway; only retransmits
		// within the TTL are, and those are recent.
		for key, e := range l.entries {
			if now.After(e.expires) {
				delete(l.entries, key)
			}
		}
		if len(l.entries) >= l.max {
			clear(l.entries)
		}
	}
	l.entries[key] = lookasideEntry{reply: reply, expires: now.Add(l.ttl)}
}
