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
	// The reply buffer is reused: the lookaside keeps its own copy.
	var out []byte
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
		var ok bool
		if out, ok = k.answer(ctx, out[:0], buf[:n], addr, "udp", la, cfg); !ok {
			continue
		}
		reply := out
		if len(reply) > cfg.MaxUDPReply {
			// Ask the client to use TCP (RFC 4120 7.2.1).
			reply = k.errorReply(k.cfg.Time(), &krb5.Error{Code: krb5.KRBErrResponseTooBig,
				Reason: fmt.Sprintf("reply of %d bytes is too big for UDP (limit %d); retry over TCP", len(reply), cfg.MaxUDPReply)}, nil, k.tgsName())
		}
		_, _ = conn.WriteToUDPAddrPort(reply, addr)
		if cap(out) > maxKeptBuf {
			out = nil
		}
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
			_ = writeFrame(c, append(newFrame(frame), rep...), cfg.Clock().Add(cfg.TCPReadTimeout))
			return
		}
		if cap(reqBuf) < int(n) {
			reqBuf = make([]byte, n)
		}
		req := reqBuf[:n]
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		// The reply goes straight into the frame, after its length.
		var ok bool
		if frame, ok = k.answer(ctx, newFrame(frame), req, remote, "tcp", la, cfg); !ok {
			return
		}
		if err := writeFrame(c, frame, cfg.Clock().Add(cfg.TCPReadTimeout)); err != nil {
			return
		}
		if cap(reqBuf) > maxKeptBuf {
			reqBuf = nil // a rare big request does not pin its buffer
		}
		if cap(frame) > maxKeptBuf {
			frame = nil
		}
	}
}

// newFrame starts a TCP frame in buf (reused): room for the length
// prefix, which writeFrame fills in once the reply follows it.
func newFrame(buf []byte) []byte { return append(buf[:0], 0, 0, 0, 0) }

// writeFrame sets the length prefix of frame, made by newFrame and the
// reply appended to it, and writes it in one write.
func writeFrame(c net.Conn, frame []byte, deadline time.Time) error {
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	_ = c.SetWriteDeadline(deadline)
	_, err := c.Write(frame)
	return err
}

// maxKeptBuf bounds the buffers a connection or UDP reader keeps between
// requests; a PAC with a thousand groups still fits.
const maxKeptBuf = 64 << 10

// answer appends to dst the reply to req, from the lookaside cache or the
// handler; ok is false when req is not worth answering.
func (k *KDC) answer(ctx context.Context, dst, req []byte, remote netip.AddrPort, proto string, la *lookaside, cfg *ServeConfig) (out []byte, ok bool) {
	// Protocol time (the lookaside TTL) comes from the protocol clock;
	// cfg.Clock only measures how long the request took.
	start := cfg.Clock()
	now := k.cfg.Time()
	key := la.key(req)
	if out, ok := la.get(dst, key, now); ok {
		return out, true
	}
	out, res := k.safeHandle(ctx, dst, req)
	ok = len(out) > len(dst)
	if ok {
		la.put(key, out[len(dst):], now)
	}
	if cfg.OnResult != nil {
		cfg.OnResult(remote, proto, res, cfg.Clock().Sub(start))
	}
	return out, ok
}

// safeHandle turns a panic in the engine into a generic error reply: one
// bad request must not take the KDC down for everyone else.
func (k *KDC) safeHandle(ctx context.Context, dst, req []byte) (rep []byte, res Result) {
	defer func() {
		if p := recover(); p != nil {
			rep = append(dst, k.errorReply(k.cfg.Time(), &krb5.Error{Code: krb5.KRBErrGeneric, Reason: "internal error"}, nil, k.tgsName())...)
			res = Result{Op: "?", Code: krb5.KRBErrGeneric, Reason: "internal error", Detail: "panic while handling the request"}
		}
	}()
	return k.AppendHandle(ctx, dst, req)
}

// lookaside remembers recent replies by request bytes.
//
// It is keyed by a 128-bit keyed hash of the request rather than by the
// request itself: every answered request goes in, and a copy of each
// would only serve the comparison. With random seeds a collision is not
// something a peer can aim for, and one would hand a client a reply to
// another request, which it cannot decrypt and refuses by its nonce.
//
// The replies are copied into one ring of bytes, and the map holds where
// each is: neither has pointers, so the garbage collector does not visit
// the cache's thousands of entries on every cycle, and the server's reply
// buffers are reused instead of kept. A reply the ring has since written
// over is gone, as an expired one is.
type lookaside struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	seeds   [2]maphash.Seed
	entries map[lookasideKey]lookasideSlot
	ring    []byte // made on first use
	size    int    // of ring
	pos     uint64 // bytes written to the ring so far, over all laps
}

type lookasideKey [2]uint64

type lookasideSlot struct {
	at      uint64 // where the reply starts, in pos terms
	n       uint32
	expires int64 // Unix nanoseconds
}

// lookasideBytesPerEntry sizes the ring: an AS-REP with a PAC of a few
// groups is about 1.5 KiB.
const lookasideBytesPerEntry = 2 << 10

func newLookaside(max int, ttl time.Duration) *lookaside {
	return &lookaside{ttl: ttl, max: max, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		entries: make(map[lookasideKey]lookasideSlot), size: max * lookasideBytesPerEntry}
}

func (l *lookaside) key(req []byte) lookasideKey {
	return lookasideKey{maphash.Bytes(l.seeds[0], req), maphash.Bytes(l.seeds[1], req)}
}

// live reports whether s is unexpired at now and still in the ring.
func (l *lookaside) live(s lookasideSlot, now int64) bool {
	return now <= s.expires && l.pos <= s.at+uint64(l.size)
}

// get appends the reply remembered for key to dst.
func (l *lookaside) get(dst []byte, key lookasideKey, now time.Time) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.entries[key]
	if !ok || !l.live(s, now.UnixNano()) {
		return dst, false
	}
	at := s.at % uint64(l.size)
	return append(dst, l.ring[at:at+uint64(s.n)]...), true
}

// put remembers a copy of reply for key.
func (l *lookaside) put(key lookasideKey, reply []byte, now time.Time) {
	if len(reply) > l.size/8 {
		return // would push out too many others; retransmits of it are rare
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := now.UnixNano()
	if len(l.entries) >= l.max {
		// Sweep expired and overwritten entries; if the cache is still
		// full, start over. Fresh requests are never found in it anyway;
		// only retransmits within the TTL are, and those are recent.
		for key, s := range l.entries {
			if !l.live(s, t) {
				delete(l.entries, key)
			}
		}
		if len(l.entries) >= l.max {
			clear(l.entries)
		}
	}
	if l.ring == nil {
		l.ring = make([]byte, l.size)
	}
	// A reply is never split across the end of the ring.
	at := l.pos % uint64(l.size)
	if at+uint64(len(reply)) > uint64(l.size) {
		l.pos += uint64(l.size) - at
		at = 0
	}
	copy(l.ring[at:], reply)
	l.entries[key] = lookasideSlot{at: l.pos, n: uint32(len(reply)), expires: now.Add(l.ttl).UnixNano()}
	l.pos += uint64(len(reply))
}
