package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/proxy"
)

type proxyOptions struct {
	listen       string
	upstream     string
	keytab       string
	principal    string
	auth         string
	tlsCert      string
	tlsKey       string
	groups       []string
	requireCB    bool
	keytabPoll   time.Duration
	logLevel     string
	logFormat    string
	requirePAC   bool
	maxHeaderLen int
}

func newProxyCmd() *cobra.Command {
	var o proxyOptions
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --upstream URL --keytab FILE",
		Short: "Put an HTTP application behind Kerberos single sign-on (authenticating reverse proxy)",
		Long: `proxy authenticates every request with HTTP Negotiate (Kerberos through
SPNEGO, as browsers, curl --negotiate and warden get do), proves itself to the
client (mutual authentication), and forwards the request to the upstream
application with the verified identity in headers:

  X-Forwarded-User      alice@EXAMPLE.TEST
  X-Forwarded-Groups    the user's group SIDs (or names), comma-separated
  X-Warden-User, X-Warden-Realm, X-Warden-User-SID, X-Warden-Group-SIDs,
  X-Warden-Auth-Method, X-Warden-Mutual, X-Warden-Expires

Any such header sent by the client is removed first. --require-group
PATH=GROUP (repeatable) answers 403 under PATH to users outside GROUP (a SID,
as "warden group add" prints it). The keytab is re-read when the file
changes, so "warden keytab export" after a key rotation needs no restart.
SIGINT or SIGTERM stops the proxy after the requests in flight.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, stop := signal.NotifyContext(ctx(cmd), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runProxy(c, cmd.ErrOrStderr(), o, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", ":8080", "address to listen on")
	f.StringVar(&o.upstream, "upstream", "", "URL of the application to forward to (required)")
	f.StringVar(&o.keytab, "keytab", "", "the service's keytab, e.g. from warden service add HTTP/host --keytab F (default $KRB5_KTNAME)")
	f.StringVar(&o.principal, "principal", "", "accept only tickets for this service principal (default: any in the keytab)")
	f.StringVar(&o.auth, "auth", "negotiate", "authentication methods offered (negotiate)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain)")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringArrayVar(&o.groups, "require-group", nil, "PATH=GROUP: only members of GROUP (SID) may use paths under PATH (repeatable)")
	f.BoolVar(&o.requireCB, "require-channel-bindings", false, "over HTTPS, refuse tokens not bound to this TLS channel (Extended Protection)")
	f.BoolVar(&o.requirePAC, "require-pac", false, "refuse tickets without a PAC (group memberships)")
	f.DurationVar(&o.keytabPoll, "keytab-poll", 2*time.Second, "how often to check the keytab file for changes")
	f.IntVar(&o.maxHeaderLen, "max-token-header", httpauth.DefaultMaxHeaderBytes, "longest Authorization header accepted, in bytes")
	f.StringVar(&o.logLevel, "log-level", "info", "debug logs every authenticated request; info logs refusals and reloads")
	f.StringVar(&o.logFormat, "log-format", "text", "text or json")
	return cmd
}

// runProxy runs the proxy until c ends. ready, when set, gets the
// listening address once requests are accepted.
func runProxy(c context.Context, stderr io.Writer, o proxyOptions, ready func(addr string)) error {
	if err := checkAuthMethods(o.auth); err != nil {
		return err
	}
	if o.upstream == "" {
		return withHint(errors.New("--upstream is required"), "name the application to protect, e.g. --upstream http://127.0.0.1:8080")
	}
	up, err := url.Parse(o.upstream)
	if err != nil {
		return withHint(fmt.Errorf("--upstream %q: %v", o.upstream, err), "e.g. --upstream http://127.0.0.1:8080")
	}
	if o.keytab == "" {
		o.keytab = strings.TrimPrefix(os.Getenv("KRB5_KTNAME"), "FILE:")
	}
	if o.keytab == "" {
		return withHint(errors.New("--keytab is required"), "export the service's keys: warden service add HTTP/host.example.test --keytab http.keytab")
	}
	log, err := newLogger(stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	var rules []proxy.Rule
	for _, g := range o.groups {
		r, err := proxy.ParseRule(g)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(strings.ToUpper(r.Group), "S-1-") {
			log.Warn("group rule names a group by name; Kerberos tickets carry group SIDs only, so it matches nobody until names are resolved",
				"op", "proxy.config", "rule", g, "hint", "use the SID that warden group add printed (warden group list)")
		}
		rules = append(rules, r)
	}
	var tlsCfg *tls.Config
	acfg := httpauth.Config{Logger: log, RequireChannelBindings: o.requireCB, MaxHeaderBytes: o.maxHeaderLen}
	switch {
	case o.tlsCert != "" && o.tlsKey != "":
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return withHint(fmt.Errorf("TLS certificate: %w", err), "--tls-cert and --tls-key must be the PEM certificate and its key")
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		acfg.ServerCertificate = httpauth.StaticCertificate(cert.Leaf)
	case o.tlsCert != "" || o.tlsKey != "":
		return withHint(errors.New("--tls-cert and --tls-key go together"), "give both, or neither for plain HTTP")
	case o.requireCB:
		return withHint(errors.New("--require-channel-bindings needs HTTPS"), "add --tls-cert and --tls-key")
	}
	w, err := proxy.NewKeytabWatcher(o.keytab, gss.AcceptorConfig{Principal: o.principal, RequirePAC: o.requirePAC})
	if err != nil {
		return err
	}
	w.Interval, w.Logger = o.keytabPoll, log
	acfg.Acceptor = w.Acceptor
	a, err := httpauth.New(acfg)
	if err != nil {
		return err
	}
	p, err := proxy.New(proxy.Config{Upstream: up, Auth: a, Rules: rules, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return withHint(err, "choose a free address with --listen")
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	c, cancel := context.WithCancel(c)
	defer cancel()
	go w.Run(c)
	log.Info("proxy listening", "op", "proxy.start", "listen", scheme+"://"+ln.Addr().String(), "upstream", up.String(), "keys", w.Keys(), "rules", len(rules))
	if ready != nil {
		ready(ln.Addr().String())
	}
	return p.Serve(c, ln, tlsCfg)
}

// checkAuthMethods accepts the methods this build implements.
func checkAuthMethods(list string) error {
	for _, m := range strings.Split(list, ",") {
		switch m = strings.ToLower(strings.TrimSpace(m)); m {
		case "negotiate", "kerberos":
		case "ntlm", "digest", "tls":
			return withHint(fmt.Errorf("--auth %s is not available in this build", m), "use --auth negotiate (Kerberos)")
		default:
			return withHint(fmt.Errorf("--auth %q: unknown method", m), "use --auth negotiate")
		}
	}
	return nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, withHint(fmt.Errorf("--log-level %q: %v", level, err), "use debug, info, warn or error")
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, withHint(fmt.Errorf("--log-format %q", format), "use text or json")
}
