package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/warden-auth/warden/krb5/kdc"
)

// TLS files of the HTTPS listener inside the data directory: the AA's
// certificate from the realm CA (followed by the CA certificate) and its
// key (0600).
const (
	HTTPSCertFile = "https.crt"
	HTTPSKeyFile  = "https.key"
)

// metrics are the AA's Prometheus metrics, registered on its own registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warden_kdc_requests_total",
			Help: "KDC requests answered, by operation and result code (KDC_ERR_NONE on success).",
		}, []string{"op", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "warden_kdc_request_duration_seconds",
			Help:    "Time to answer a KDC request, by operation.",
			Buckets: []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 50e-3, 0.25, 1},
		}, []string{"op"}),
	}
	m.reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(r kdc.Result, took time.Duration) {
	m.requests.WithLabelValues(r.Op, r.Code.String()).Inc()
	m.duration.WithLabelValues(r.Op).Observe(took.Seconds())
}

// handler serves /healthz and /metrics.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.st.Generation(r.Context()); err != nil {
			http.Error(w, "account DB unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok %s\n", s.kdc.Realm())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.registerPKI(mux)
	if err := s.registerPassthrough(mux); err != nil {
		s.log.Error("passthrough validation unavailable", "op", "passthrough", "reason", err.Error())
	}
	return mux
}

// serveHTTPS runs the HTTPS listener until ctx is done, then shuts it
// down gracefully.
func (s *Server) serveHTTPS(ctx context.Context) error {
	srv := &http.Server{
		Handler: s.handler(),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.tlsCert.get,
			// Application servers present their computer certificate for
			// the passthrough API; it is checked there, not here.
			ClientAuth: tls.RequestClientCert},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		// TLS handshake failures (a client refusing our name, scanners)
		// go to the structured log at debug level, not to stderr.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(s.https, "", "") }()
	go s.renewHTTPSCert(ctx)
	go s.renewKDCCert(ctx) // pkinit.go
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sc, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sc)
}
