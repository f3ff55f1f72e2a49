package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/warden-auth/warden/krb5"
)

// MaxReplySize caps a KDC reply read over TCP. Replies are a few KiB; a
// ticket with a large PAC reaches tens of KiB. Anything near this cap is
// a broken or hostile peer, and reading it whole would let it make the
// client allocate without bound.
const MaxReplySize = 1 << 20

// maxUDPReply is the largest UDP payload (65535 minus IP and UDP headers).
const maxUDPReply = 65507

// send delivers req to the KDCs of realm and returns the first reply that
// looks like a Kerberos reply (KDC-REP or KRB-ERROR).
//
// Like MIT's library, a request no longer than the UDP preference limit
// goes over UDP first and falls back to TCP; a longer one goes over TCP
// first. A UDP reply of KRB_ERR_RESPONSE_TOO_BIG (RFC 4120 7.2.1) is
// answered by retrying the same KDC over TCP at once. KDCs are tried in
// the configured order, each bounded by Config.Timeout.
func (c *Client) send(ctx context.Context, realm string, req []byte) ([]byte, error) {
	ue := &UnreachableError{Realm: realm, KDCs: c.cfg.KDCs[realm]}
	protos := []string{"udp", "tcp"}
	if len(req) > c.cfg.UDPPreferenceLimit {
		protos = []string{"tcp", "udp"}
	}
	for _, addr := range ue.KDCs {
		for _, proto := range protos {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			reply, err := c.attempt(ctx, proto, addr, req)
			if err == nil && proto == "udp" && isTooBig(reply) {
				reply, err = c.attempt(ctx, "tcp", addr, req)
				proto = "tcp"
			}
			if err == nil {
				return reply, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			ue.Errs = append(ue.Errs, fmt.Errorf("%s %s: %w", proto, addr, err))
			if proto == "tcp" && errors.Is(err, errTooBig) {
				break // the other transport will not fare better
			}
		}
	}
	return nil, ue
}

var errTooBig = errors.New("reply larger than the client accepts")

// isTooBig reports whether reply is KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG.
func isTooBig(reply []byte) bool {
	if t, _ := krb5.MessageType(reply); t != krb5.MsgKRBError {
		return false
	}
	var ke krb5.KRBError
	return ke.Unmarshal(reply) == nil && ke.ErrorCode == krb5.KRBErrResponseTooBig
}

// attempt does one request/reply with one KDC over one transport.
func (c *Client) attempt(ctx context.Context, proto, addr string, req []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, proto, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Reads and writes follow the context: its deadline bounds them and
	// cancelling it unblocks them at once.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var reply []byte
	if proto == "udp" {
		reply, err = udpExchange(conn, req)
	} else {
		reply, err = tcpExchange(conn, req)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no answer within %v: %w", c.cfg.Timeout, ctx.Err())
		}
		return nil, err
	}
	switch t, _ := krb5.MessageType(reply); t {
	case krb5.MsgASRep, krb5.MsgTGSRep, krb5.MsgKRBError:
		return reply, nil
	}
	return nil, fmt.Errorf("answer is not a Kerberos reply (%d bytes starting %#x)", len(reply), reply[:min(len(reply), 4)])
}

func udpExchange(conn net.Conn, req []byte) ([]byte, error) {
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	buf := make([]byte, maxUDPReply+1)
	n, err := conn.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n:n], nil
}

// tcpExchange sends req with the RFC 4120 7.2.2 framing: a 4-byte
// big-endian length whose high bit is reserved.
func tcpExchange(conn net.Conn, req []byte) ([]byte, error) {
	msg := make([]byte, 4+len(req))
	binary.BigEndian.PutUint32(msg, uint32(len(req)))
	copy(msg[4:], req)
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading the reply length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n&0x80000000 != 0 {
		return nil, errors.New("reply length has the reserved high bit set")
	}
	if n > MaxReplySize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errTooBig, n, MaxReplySize)
	}
	if n == 0 {
		return nil, errors.New("empty reply")
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, fmt.Errorf("reading a %d-byte reply: %w", n, err)
	}
	return buf, nil
}
