// Package server is the AA daemon: it opens the account DB named by the
// configuration, builds the KDC and the realm CA, owns the listeners
// (Kerberos on UDP and TCP; HTTPS for health, metrics and the PKI
// endpoints, with a certificate from the realm CA), and logs one
// structured line per request. It is the only place that logs requests or registers metrics.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/krb5/kdc"
	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/store"
	"github.com/warden-auth/warden/store/sqlite"
)

// OpenStore opens the account DB of a configuration with its master key.
func OpenStore(cfg *config.Config) (store.Store, error) {
	mk, err := store.LoadMasterKey(cfg.Path(cfg.MasterKeyFile))
	if err != nil {
		return nil, err
	}
	sealer, err := store.NewSealer(mk)
	clear(mk)
	if err != nil {
		return nil, err
	}
	switch cfg.Database.Driver {
	case "", "sqlite":
		return sqlite.Open(cfg.Path(cfg.Database.Path), sealer)
	default:
		return nil, fmt.Errorf("database driver %q is not available in this build", cfg.Database.Driver)
	}
}

// NewLogger builds the daemon's logger from the configuration.
func NewLogger(w io.Writer, c config.Log) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Server is a running AA.
type Server struct {
	cfg *config.Config
	log *slog.Logger
	st  store.Store
	kdc *kdc.KDC

	udp *net.UDPConn
	tcp net.Listener

	metrics    *metrics
	https      net.Listener // nil when https.addr is empty
	tlsCert    httpsCert    // the listener's certificate, from the realm CA
	pki        *pki.Authority
	pkiMetrics *pkiMetrics
}

// New opens the store and builds the services; Listen and Serve run them.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	st, err := OpenStore(cfg)
	if err != nil {
		return nil, err
	}
	// The CA serves only over HTTPS (its endpoints, the listener's own
	// certificate, passthrough callers); without the listener it is left
	// alone, and not created. With it, the KDC also does certificate
	// logon and anonymous PKINIT (pkinit.go).
	var ca *pki.Authority
	var pc *kdc.PKINITConfig
	if cfg.HTTPS.Addr != "" {
		var created bool
		ca, created, err = OpenPKI(context.Background(), cfg, st)
		if err != nil {
			st.Close()
			return nil, err
		}
		if created {
			log.Info("created the realm CA (it had none)", "op", "pki_ca", "realm", ca.Realm().Name,
				"subject", ca.CA().Subject.String(), "not_after", ca.CA().NotAfter.UTC().Format(time.RFC3339))
		}
		if pc, err = pkinitConfig(context.Background(), cfg, st, ca, log); err != nil {
			st.Close()
			return nil, err
		}
	}
	k, err := kdc.New(kdc.Config{Store: st, MaxSkew: time.Duration(cfg.KDC.MaxSkew), PKINIT: pc})
	if err != nil {
		st.Close()
		return nil, err
	}
	if k.Realm() != cfg.Realm {
		log.Warn("realm in the configuration differs from the account DB; serving the DB's", "config", cfg.Realm, "db", k.Realm())
	}
	m := newMetrics()
	return &Server{cfg: cfg, log: log, st: st, kdc: k, metrics: m, pki: ca, pkiMetrics: newPKIMetrics(m.reg)}, nil
}

// Listen binds the KDC's UDP and TCP sockets on the same address (for
// port 0, TCP takes the port UDP got).
func (s *Server) Listen() error {
	udp, tcp, err := listenKDC(s.cfg.KDC.Addr)
	if err != nil {
		return err
	}
	s.udp, s.tcp = udp, tcp
	if s.cfg.HTTPS.Addr != "" {
		cert, err := s.ensureHTTPSCert(context.Background(), loadHTTPSCert(s.cfg.Path(HTTPSCertFile), s.cfg.Path(HTTPSKeyFile)))
		if err != nil {
			udp.Close()
			tcp.Close()
			return err
		}
		l, err := net.Listen("tcp", s.cfg.HTTPS.Addr)
		if err != nil {
			udp.Close()
			tcp.Close()
			return fmt.Errorf("https: %w", err)
		}
		s.https = l
		s.tlsCert.cur.Store(cert)
	}
	return nil
}

// listenKDC binds UDP and TCP on one port. With port 0 the system picks
// the UDP port, which another program may hold in TCP: then a new pair
// is tried.
func listenKDC(addr string) (*net.UDPConn, net.Listener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("kdc.addr: %w", err)
	}
	host, _, _ := net.SplitHostPort(addr)
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, nil, fmt.Errorf("kdc: %w", err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if ua.Port != 0 || attempt == 10 {
			return nil, nil, fmt.Errorf("kdc: %w", err)
		}
	}
}

// HTTPSAddr returns the bound HTTPS address, or "" when disabled.
func (s *Server) HTTPSAddr() string {
	if s.https == nil {
		return ""
	}
	return s.https.Addr().String()
}

// KDCAddr returns the bound KDC address (after Listen).
func (s *Server) KDCAddr() string { return s.tcp.Addr().String() }

// Store returns the account DB.
func (s *Server) Store() store.Store { return s.st }

// PKI returns the realm CA; nil when HTTPS is off.
func (s *Server) PKI() *pki.Authority { return s.pki }

// KDC returns the KDC engine.
func (s *Server) KDC() *kdc.KDC { return s.kdc }

// Serve runs until ctx is done (SIGTERM in the CLI), then stops accepting,
// finishes in-flight requests and closes the store.
func (s *Server) Serve(ctx context.Context) error {
	if s.udp == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.log.Info("warden serving", "realm", s.kdc.Realm(), "kdc", s.KDCAddr(), "https", s.HTTPSAddr())
	var wg sync.WaitGroup
	var kerr, herr error
	if s.https != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			herr = s.serveHTTPS(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		kerr = s.kdc.Serve(ctx, s.udp, s.tcp, kdc.ServeConfig{
			OnResult:    s.logResult,
			UDPReaders:  s.cfg.KDC.UDPReaders,
			MaxTCPFrame: s.cfg.KDC.MaxTCPFrame,
			MaxUDPReply: s.cfg.KDC.MaxUDPReply,
		})
	}()
	wg.Wait()
	s.kdc.Close()
	cerr := s.st.Close()
	s.log.Info("warden stopped")
	return errors.Join(kerr, herr, cerr)
}

// logResult writes the one line per request, with fixed keys.
func (s *Server) logResult(remote netip.AddrPort, proto string, r kdc.Result, took time.Duration) {
	s.metrics.observe(r, took)
	// The attributes go in an array sized for the longest line: built as
	// a slice literal and grown by append, they were the largest
	// allocation of a request, and what a request allocates sets how
	// much memory the collector's cycle sweeps through the CPU caches.
	var buf [10]slog.Attr
	attrs := append(buf[:0],
		slog.String("op", r.Op),
		slog.String("principal", r.Client),
		slog.String("service", r.Server),
		slog.String("realm", s.kdc.Realm()),
		slog.String("remote", remote.String()),
		slog.String("proto", proto),
		slog.Duration("took", took),
	)
	if r.OK() {
		attrs = append(attrs, slog.String("etype", r.EType.String()))
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "kdc request", attrs...)
		return
	}
	attrs = append(attrs, slog.String("code", r.Code.String()), slog.String("reason", r.Reason))
	if r.Detail != "" {
		attrs = append(attrs, slog.String("detail", r.Detail))
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, "kdc request refused", attrs...)
}
