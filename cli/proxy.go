package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/config"
	"github.com/warden-auth/warden/digest"
	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/krb5/gss"
	"github.com/warden-auth/warden/passthrough"
	"github.com/warden-auth/warden/pki"
	"github.com/warden-auth/warden/proxy"
	"github.com/warden-auth/warden/server"
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
	deviceGroups []string
	claims       []string
	devClaims    []string
	requireCB    bool
	keytabPoll   time.Duration
	logLevel     string
	logFormat    string
	requirePAC   bool
	maxHeaderLen int

	// client certificates (--auth tls)
	caFile    string
	data      string
	certOnly  bool
	realm     string
	ocspURL   string
	crlURL    string
	freshness time.Duration
	verifyAt  string

	// NTLM validation by the AA (--auth ntlm)
	aaURL  string
	aaCert string
	aaKey  string

	// Digest (--auth digest)
	digestAlgs []string
	allowMD5   bool
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
  X-Warden-Auth-Method, X-Warden-Mutual, X-Warden-Expires, X-Warden-Claims,
  and with Kerberos compound identity X-Warden-Device-SID,
  X-Warden-Device-Group-SIDs, X-Warden-Device-Claims

Any such header sent by the client is removed first. --require-group
PATH=GROUP (repeatable) answers 403 under PATH to users outside GROUP (a SID,
as "warden group add" prints it). --require-device-group PATH=GROUP does the
same for the computer the user signed in on (the ticket must carry it: a
service flagged compound-identity, a client armoring with the computer's
TGT), and --require-claim / --require-device-claim PATH=CLAIM=VALUE for a
claim value of the user or the device. Under one PATH every kind given must
be met, by any one of its rules: user group G and device group D is
"--require-group /p=G --require-device-group /p=D". A ticket names groups and
devices by SID; with --aa (and --aa-cert, --aa-key, --ca, as for NTLM) the AA
names them, so X-Forwarded-Groups and X-Warden-Device carry names and rules
may name groups. The keytab is re-read when the file
changes, so "warden keytab export" after a key rotation needs no restart.
SIGINT or SIGTERM stops the proxy after the requests in flight.

--auth tls authenticates by TLS client certificate instead (HTTPS with
--tls-cert/--tls-key): the certificate must chain to the realm CA (--ca, or the
CA of --data), be valid now, allow clientAuth and not be revoked (OCSP, then
the CRL, from --ocsp-url/--crl-url or the certificate's own URLs, cached for
--revocation-freshness; unknown status is refused); it is then mapped to its
account in the account DB of --data (SID extension or explicit binding;
disabled and locked accounts refused; the account's groups passed upstream).
A proxy that cannot reach the account DB can use --cert-identity-only: the
user and SID come from the certificate, there are no groups, and a disabled
account is only kept out by revoking its certificates. Refusals are answered
401 (certificate) or 403 (account) with the reason; --tls-verify-at handshake
refuses during the handshake instead (the client sees a bare TLS alert).
--auth negotiate,tls takes a certificate when the client presents one, and
Negotiate otherwise.

--auth ntlm offers the NTLM scheme (NTLMv2; curl --ntlm, browsers, warden get
--auth ntlm); --auth negotiate,ntlm offers Kerberos and falls back to NTLM,
inside Negotiate (SPNEGO) and as the plain NTLM scheme. The proxy never holds
a user's secret: it sends each answer to the AA (--aa, the URL of warden
serve's HTTPS listener) and authenticates there with the certificate of its
own computer account (--aa-cert/--aa-key from "warden cert issue --account
NAME$"), trusting the realm CA of --ca. The AA checks the answer was made for
this server (anti-relay), applies lockout and account state, and returns the
user's SID, groups and claims.

--auth digest challenges with HTTP Digest (RFC 7616; curl --digest, python
requests, warden get --auth digest) and has the AA validate each response in
the same way (same --aa, --aa-cert, --aa-key and --ca): the proxy holds no
password or H(A1). The Digest realm is the Kerberos realm. --digest-algorithm
(repeatable) chooses what is offered, SHA-256 by default; MD5 only with
--digest-allow-md5, for old clients.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, stop := signal.NotifyContext(ctx(cmd), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if f := cmd.Flags().Lookup("data"); (f != nil && f.Changed) || os.Getenv("WARDEN_DATA") != "" {
				o.data = dataDir(cmd)
			}
			return runProxy(c, cmd.ErrOrStderr(), o, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", ":8080", "address to listen on")
	f.StringVar(&o.upstream, "upstream", "", "URL of the application to forward to (required)")
	f.StringVar(&o.keytab, "keytab", "", "the service's keytab, e.g. from warden service add HTTP/host --keytab F (default $KRB5_KTNAME)")
	f.StringVar(&o.principal, "principal", "", "accept only tickets for this service principal (default: any in the keytab)")
	f.StringVar(&o.auth, "auth", "negotiate", "authentication methods: negotiate (Kerberos), ntlm or digest (validated by the AA), tls (client certificates), or a list such as negotiate,ntlm or negotiate,tls")
	f.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain)")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringArrayVar(&o.groups, "require-group", nil, "PATH=GROUP: only members of GROUP (SID) may use paths under PATH (repeatable)")
	f.StringArrayVar(&o.deviceGroups, "require-device-group", nil, "PATH=GROUP: only users signed in on a computer in GROUP (SID; Kerberos compound identity) may use paths under PATH (repeatable)")
	f.StringArrayVar(&o.claims, "require-claim", nil, "PATH=CLAIM=VALUE: only users whose claim CLAIM has VALUE may use paths under PATH (repeatable)")
	f.StringArrayVar(&o.devClaims, "require-device-claim", nil, "PATH=CLAIM=VALUE: only users on a computer whose claim CLAIM has VALUE (compound identity) may use paths under PATH (repeatable)")
	f.BoolVar(&o.requireCB, "require-channel-bindings", false, "over HTTPS, refuse tokens not bound to this TLS channel (Extended Protection)")
	f.BoolVar(&o.requirePAC, "require-pac", false, "refuse tickets without a PAC (group memberships)")
	f.DurationVar(&o.keytabPoll, "keytab-poll", 2*time.Second, "how often to check the keytab file for changes")
	f.IntVar(&o.maxHeaderLen, "max-token-header", httpauth.DefaultMaxHeaderBytes, "longest Authorization header accepted, in bytes")
	f.StringVar(&o.logLevel, "log-level", "info", "debug logs every authenticated request; info logs refusals and reloads")
	f.StringVar(&o.logFormat, "log-format", "text", "text or json")
	f.StringVar(&o.caFile, "ca", "", "--auth tls: the realm CA certificate (warden cert ca -o F) that client certificates must chain to (default: the CA of --data)")
	f.BoolVar(&o.certOnly, "cert-identity-only", false, "--auth tls without --data: take the user and SID from the certificate alone (no groups; disabled accounts are not refused, revoke their certificates)")
	f.StringVar(&o.realm, "realm", "", "--cert-identity-only: the realm of the users (default: from the certificate's UPN)")
	f.StringVar(&o.ocspURL, "ocsp-url", "", "--auth tls: OCSP responder for revocation, e.g. https://aa.example.test:8443/pki/ocsp (default: the certificate's AIA)")
	f.StringVar(&o.crlURL, "crl-url", "", "--auth tls: CRL used when OCSP fails, e.g. https://aa.example.test:8443/pki/crl (default: the certificate's distribution point)")
	f.DurationVar(&o.freshness, "revocation-freshness", 5*time.Minute, "--auth tls: a revocation is seen at most this long after it is made (revocation answers are cached this long)")
	f.StringVar(&o.aaURL, "aa", "", "--auth ntlm/digest: the AA's HTTPS URL that validates answers, e.g. https://aa.example.test:8443; with negotiate: the AA that names the groups and device of Kerberos users")
	f.StringVar(&o.aaCert, "aa-cert", "", "--auth ntlm/digest, or --aa with negotiate: PEM certificate of this server's computer account, presented to the AA (warden cert issue --account WEB01$)")
	f.StringVar(&o.aaKey, "aa-key", "", "--auth ntlm/digest, or --aa with negotiate: PEM private key of --aa-cert")
	f.StringArrayVar(&o.digestAlgs, "digest-algorithm", nil, "--auth digest: algorithm to offer, in order (SHA-256, SHA-256-sess, SHA-512-256, SHA-512-256-sess, MD5, MD5-sess); default SHA-256")
	f.BoolVar(&o.allowMD5, "digest-allow-md5", false, "--auth digest: accept MD5 answers (old clients); MD5 is weak")
	f.StringVar(&o.verifyAt, "tls-verify-at", "http", "--auth tls: where bad client certificates are refused: http (401/403 with the reason) or handshake (TLS alert, reason in the log only)")
	return cmd
}

// runProxy runs the proxy until c ends. ready, when set, gets the
// listening address once requests are accepted.
func runProxy(c context.Context, stderr io.Writer, o proxyOptions, ready func(addr string)) error {
	methods, err := parseAuthMethods(o.auth, true)
	if err != nil {
		return err
	}
	if o.upstream == "" {
		return withHint(errors.New("--upstream is required"), "name the application to protect, e.g. --upstream http://127.0.0.1:8080")
	}
	up, err := url.Parse(o.upstream)
	if err != nil {
		return withHint(fmt.Errorf("--upstream %q: %v", o.upstream, err), "e.g. --upstream http://127.0.0.1:8080")
	}
	if methods["negotiate"] && o.keytab == "" {
		if o.keytab = strings.TrimPrefix(os.Getenv("KRB5_KTNAME"), "FILE:"); o.keytab == "" {
			return withHint(errors.New("--keytab is required"), "export the service's keys: warden service add HTTP/host.example.test --keytab http.keytab")
		}
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
		if methods["negotiate"] && o.aaURL == "" && !strings.HasPrefix(strings.ToUpper(r.Group), "S-1-") {
			log.Warn("group rule names a group by name; Kerberos tickets carry group SIDs only, so it matches no Kerberos user unless the AA resolves names (--aa)",
				"op", "proxy.config", "rule", g, "hint", "use the SID that warden group add printed (warden group list), or give --aa, --aa-cert, --aa-key and --ca")
		}
		rules = append(rules, r)
	}
	for _, g := range o.deviceGroups {
		r, err := proxy.ParseDeviceRule(g)
		if err != nil {
			return err
		}
		rules = append(rules, r)
	}
	for i, list := range [][]string{o.claims, o.devClaims} {
		for _, c := range list {
			r, err := proxy.ParseClaimRule(c, i == 1)
			if err != nil {
				return err
			}
			rules = append(rules, r)
		}
	}
	var tlsCfg *tls.Config
	var serverCert tls.Certificate
	acfg := httpauth.Config{Logger: log, RequireChannelBindings: o.requireCB, MaxHeaderBytes: o.maxHeaderLen}
	switch {
	case o.tlsCert != "" && o.tlsKey != "":
		serverCert, err = tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return withHint(fmt.Errorf("TLS certificate: %w", err), "--tls-cert and --tls-key must be the PEM certificate and its key")
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
		acfg.ServerCertificate = httpauth.StaticCertificate(serverCert.Leaf)
	case o.tlsCert != "" || o.tlsKey != "":
		return withHint(errors.New("--tls-cert and --tls-key go together"), "give both, or neither for plain HTTP")
	case methods["tls"]:
		return withHint(errors.New("--auth tls needs HTTPS"), "add --tls-cert and --tls-key (a server certificate: warden cert issue --dns HOST --out web)")
	case o.requireCB:
		return withHint(errors.New("--require-channel-bindings needs HTTPS"), "add --tls-cert and --tls-key")
	}
	c, cancel := context.WithCancel(c)
	defer cancel()
	var a proxy.Authenticator
	var neg *httpauth.Authenticator // Negotiate, and the fallback of --auth negotiate,tls
	var keys string
	if methods["digest"] && len(methods) > 1 {
		return withHint(fmt.Errorf("--auth %s: digest cannot be combined with other methods yet", o.auth), "run one proxy per method, or use --auth digest alone")
	}
	if methods["ntlm"] {
		if acfg.NTLM, err = ntlmValidation(c, log, o); err != nil {
			return err
		}
	}
	if methods["negotiate"] && o.aaURL != "" {
		// The AA names the SIDs of Kerberos identities: groups and
		// devices then pass upstream, and match rules, by name too.
		pc, _, err := aaClient(c, "negotiate", o)
		if err != nil {
			return err
		}
		acfg.Names = &passthrough.NameCache{Client: pc}
	}
	if methods["digest"] {
		if a, err = digestAuth(c, log, o); err != nil {
			return err
		}
	}
	if methods["negotiate"] {
		w, err := proxy.NewKeytabWatcher(o.keytab, gss.AcceptorConfig{Principal: o.principal, RequirePAC: o.requirePAC})
		if err != nil {
			return err
		}
		w.Interval, w.Logger = o.keytabPoll, log
		acfg.Acceptor = w.Acceptor
		go w.Run(c)
		keys = w.Keys()
	}
	if methods["negotiate"] || methods["ntlm"] {
		if neg, err = httpauth.New(acfg); err != nil {
			return err
		}
		a = neg
	}
	if methods["tls"] {
		ta, done, err := clientCertAuth(c, log, o, neg)
		if err != nil {
			return err
		}
		defer done()
		a = ta
		tlsCfg = ta.ServerTLSConfig(httpauth.TLSServerOptions{Certificates: []tls.Certificate{serverCert}, VerifyAtHandshake: o.verifyAt == "handshake"})
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
	log.Info("proxy listening", "op", "proxy.start", "listen", scheme+"://"+ln.Addr().String(), "upstream", up.String(), "auth", o.auth, "keys", keys, "rules", len(rules))
	if ready != nil {
		ready(ln.Addr().String())
	}
	return p.Serve(c, ln, tlsCfg)
}

// ntlmValidation connects to the AA that validates NTLM answers and
// asks it for the names this server's challenges must carry.
func ntlmValidation(c context.Context, log *slog.Logger, o proxyOptions) (*httpauth.NTLMConfig, error) {
	pc, info, err := aaClient(c, "ntlm", o)
	if err != nil {
		return nil, err
	}
	log.Info("NTLM validated by the AA", "op", "proxy.config", "aa", pc.URL, "account", info.Account,
		"domain", info.NetBIOSDomain, "computer", info.NetBIOSComputer)
	return &httpauth.NTLMConfig{Server: info.NTLMServer(), Validator: pc}, nil
}

// digestAuth is the Digest authenticator of --auth digest, validating
// with the AA.
func digestAuth(c context.Context, log *slog.Logger, o proxyOptions) (*httpauth.DigestAuthenticator, error) {
	pc, info, err := aaClient(c, "digest", o)
	if err != nil {
		return nil, err
	}
	var algs []digest.Algorithm
	for _, s := range o.digestAlgs {
		a, ok := digest.ParseAlgorithm(s)
		if !ok {
			return nil, withHint(fmt.Errorf("--digest-algorithm %q", s), "use SHA-256, SHA-256-sess, SHA-512-256, SHA-512-256-sess, MD5 or MD5-sess")
		}
		algs = append(algs, a)
	}
	d, err := httpauth.NewDigest(httpauth.DigestConfig{Realm: info.Realm, Validator: pc, Algorithms: algs, AllowMD5: o.allowMD5, Logger: log})
	if err != nil {
		return nil, withHint(err, "MD5 needs --digest-allow-md5 and must come after the SHA-2 algorithms")
	}
	log.Info("Digest validated by the AA", "op", "proxy.config", "aa", pc.URL, "account", info.Account, "realm", info.Realm)
	return d, nil
}

// aaClient connects to the AA that validates answers for method: this
// server authenticates with its computer account's certificate, and the
// AA tells it its names.
func aaClient(c context.Context, method string, o proxyOptions) (*passthrough.Client, *passthrough.ServerInfo, error) {
	if method == "negotiate" && (o.aaCert == "" || o.aaKey == "" || o.caFile == "") {
		return nil, nil, withHint(errors.New("--aa needs --aa-cert, --aa-key and --ca"),
			"with Negotiate the AA resolves group and device names: give this server's computer-account certificate (warden cert issue --account WEB01$ --out web01) and the realm CA (warden cert ca -o ca.crt)")
	}
	if o.aaURL == "" || o.aaCert == "" || o.aaKey == "" || o.caFile == "" {
		return nil, nil, withHint(fmt.Errorf("--auth %s needs --aa, --aa-cert, --aa-key and --ca", method),
			"the AA validates every "+method+" answer: give its URL (--aa https://aa.example.test:8443), this server's computer-account certificate (warden cert issue --account WEB01$ --out web01) and the realm CA (warden cert ca -o ca.crt)")
	}
	if u, err := url.Parse(o.aaURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, nil, withHint(fmt.Errorf("--aa %q is not an https:// URL", o.aaURL), "name the AA's HTTPS listener, e.g. --aa https://aa.example.test:8443")
	}
	cert, err := tls.LoadX509KeyPair(o.aaCert, o.aaKey)
	if err != nil {
		return nil, nil, withHint(fmt.Errorf("--aa-cert/--aa-key: %w", err), "give the PEM certificate of this server's computer account and its key")
	}
	b, err := os.ReadFile(o.caFile)
	if err != nil {
		return nil, nil, withHint(err, "export the realm CA with: warden cert ca -o ca.crt")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, nil, withHint(fmt.Errorf("--ca %s holds no PEM certificate", o.caFile), "export the realm CA with: warden cert ca -o ca.crt")
	}
	pc := &passthrough.Client{URL: strings.TrimRight(o.aaURL, "/"), HTTPClient: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 64}}}
	ic, cancel := context.WithTimeout(c, 10*time.Second)
	defer cancel()
	info, err := pc.ServerInfo(ic)
	if err != nil {
		return nil, nil, err
	}
	return pc, info, nil
}

// clientCertAuth builds the client-certificate authenticator of --auth
// tls: the realm CA from --ca or --data (the persistent flag), revocation over OCSP/CRL from the
// AA, mapping in the account DB of --data (or from the certificate alone).
// fallback, when set, takes requests without a certificate. done closes
// the account DB.
func clientCertAuth(c context.Context, log *slog.Logger, o proxyOptions, fallback *httpauth.Authenticator) (_ *httpauth.TLSAuthenticator, done func(), err error) {
	done = func() {}
	if o.verifyAt != "http" && o.verifyAt != "handshake" {
		return nil, done, withHint(fmt.Errorf("--tls-verify-at %q", o.verifyAt), "use http (readable 401/403) or handshake")
	}
	if o.data != "" && o.certOnly {
		return nil, done, withHint(errors.New("--cert-identity-only and --data exclude each other"), "with --data, certificates are mapped in the account DB")
	}
	var roots []*x509.Certificate
	if o.caFile != "" {
		b, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, done, withHint(err, "export the realm CA with: warden cert ca -o ca.crt")
		}
		if roots, err = parsePEMCerts(b); err != nil || len(roots) == 0 {
			return nil, done, withHint(fmt.Errorf("--ca %s holds no PEM certificate", o.caFile), "export the realm CA with: warden cert ca -o ca.crt")
		}
	}
	tcfg := httpauth.TLSConfig{Logger: log, Realm: o.realm, Fallback: fallback}
	mapping := "certificate only (no groups; disabled accounts not refused)"
	switch {
	case o.data != "":
		cfg, err := config.Load(o.data)
		if err != nil {
			return nil, done, withHint(err, "--data names the realm's data directory (warden init --data DIR)")
		}
		st, err := server.OpenStore(cfg)
		if err != nil {
			return nil, done, err
		}
		defer func() {
			if err != nil {
				st.Close()
				done = func() {}
			}
		}()
		done = func() { st.Close() }
		if len(roots) == 0 {
			rec, err := st.CA(c)
			if err != nil {
				return nil, done, withHint(fmt.Errorf("the realm in %s has no CA: %w", o.data, err), "create it with: warden cert ca -o ca.crt --data "+o.data)
			}
			ca, err := x509.ParseCertificate(rec.CertDER)
			if err != nil {
				return nil, done, err
			}
			roots = []*x509.Certificate{ca}
		}
		if tcfg.Mapper, err = pki.NewMapper(c, pki.MapperConfig{Store: st, AllowUPN: cfg.PKI.AllowUPNMapping}); err != nil {
			return nil, done, err
		}
		mapping = "account DB in " + o.data
	case o.certOnly:
		tcfg.CertificateIdentity = true
	default:
		return nil, done, withHint(errors.New("--auth tls needs the account DB to map certificates to accounts"),
			"give --data DIR (the realm's data directory), or --cert-identity-only to trust the SID in the certificate without groups")
	}
	if len(roots) == 0 {
		return nil, done, withHint(errors.New("--auth tls needs the realm CA"), "give --ca ca.crt (from warden cert ca -o ca.crt) or --data DIR")
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	rc := pki.NewRemoteChecker(pki.RemoteConfig{OCSPURL: o.ocspURL, CRLURL: o.crlURL, Freshness: o.freshness,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}})
	if tcfg.Verifier, err = pki.NewVerifier(pki.VerifierConfig{Roots: roots, Revocation: rc}); err != nil {
		return nil, done, err
	}
	ta, err := httpauth.NewTLS(tcfg)
	if err != nil {
		return nil, done, err
	}
	ocsp, crl := o.ocspURL, o.crlURL
	if ocsp == "" {
		ocsp = "from each certificate"
	}
	if crl == "" {
		crl = "from each certificate"
	}
	log.Info("client certificates", "op", "proxy.config", "ca", roots[0].Subject.String(), "mapping", mapping,
		"ocsp", ocsp, "crl", crl, "freshness", rc.Freshness().String(), "refuse_at", o.verifyAt)
	return ta, done, nil
}

// parsePEMCerts reads every CERTIFICATE block.
func parsePEMCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out, nil
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// parseAuthMethods reads --auth: a comma-separated list when several are
// allowed (the proxy), else one method.
func parseAuthMethods(list string, several bool) (map[string]bool, error) {
	out := map[string]bool{}
	for _, m := range strings.Split(list, ",") {
		switch m = strings.ToLower(strings.TrimSpace(m)); m {
		case "negotiate", "kerberos":
			out["negotiate"] = true
		case "tls":
			out["tls"] = true
		case "ntlm":
			out["ntlm"] = true
		case "digest":
			out["digest"] = true
		default:
			return nil, withHint(fmt.Errorf("--auth %q: unknown method", m), "use --auth negotiate, ntlm, digest or tls")
		}
	}
	if !several && len(out) > 1 {
		return nil, withHint(fmt.Errorf("--auth %s: choose one method", list), "use --auth negotiate, ntlm, digest or tls")
	}
	return out, nil
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
