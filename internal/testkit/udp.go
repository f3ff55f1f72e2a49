package testkit

import (
	"fmt"
	"net"
	"time"
)

// AskUDP sends req to addr in one datagram and returns the one reply,
// waiting at most timeout. It returns errors rather than failing the
// test, so that workers other than the test's goroutine may call it.
func AskUDP(addr string, req []byte, timeout time.Duration) ([]byte, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(req); err != nil {
		return nil, fmt.Errorf("sending to %s: %w", addr, err)
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return nil, fmt.Errorf("no UDP reply from %s: %w", addr, err)
	}
	return buf[:n], nil
}
