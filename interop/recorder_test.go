package interop

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// exchange is one request/reply pair relayed to a KDC.
type exchange struct {
	Request, Reply []byte
}

// kdcRecorder is a Kerberos-over-TCP relay (RFC 4120 7.2.2 framing) that
// keeps every message it forwards, so tests can decode exactly the bytes
// MIT's clients and KDC put on the wire.
type kdcRecorder struct {
	ln       net.Listener
	upstream string

	mu        sync.Mutex
	exchanges []exchange
	wg        sync.WaitGroup
}

func startRecorder(t *testing.T, upstream string) *kdcRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &kdcRecorder{ln: ln, upstream: upstream}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(func() {
		ln.Close()
		r.wg.Wait()
	})
	return r
}

func (r *kdcRecorder) Addr() string { return r.ln.Addr().String() }

// Exchanges returns a copy of what has been relayed so far.
func (r *kdcRecorder) Exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.exchanges...)
}

func (r *kdcRecorder) Reset() {
	r.mu.Lock()
	r.exchanges = nil
	r.mu.Unlock()
}

func (r *kdcRecorder) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer c.Close()
			for {
				req, err := readFrame(c)
				if err != nil {
					return
				}
				rep, err := r.forward(req)
				if err != nil {
					return
				}
				r.mu.Lock()
				r.exchanges = append(r.exchanges, exchange{Request: req, Reply: rep})
				r.mu.Unlock()
				if err := writeFrame(c, rep); err != nil {
					return
				}
			}
		}()
	}
}

func (r *kdcRecorder) forward(req []byte) ([]byte, error) {
	up, err := net.Dial("tcp", r.upstream)
	if err != nil {
		return nil, err
	}
	defer up.Close()
	if err := writeFrame(up, req); err != nil {
		return nil, err
	}
	return readFrame(up)
}

func readFrame(c io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > 1<<20 {
		return nil, errors.New("frame too large")
	}
	b := make([]byte, n)
	_, err := io.ReadFull(c, b)
	return b, err
}

func writeFrame(c io.Writer, b []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	_, err := c.Write(append(hdr[:], b...))
	return err
}
