package cli

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warden-auth/warden/httpauth"
	"github.com/warden-auth/warden/krb5/gss"
)

type getOptions struct {
	auth     string
	ccache   string
	output   string
	verbose  bool
	spn      string
	caCert   string
	noMutual bool
	timeout  time.Duration
	cert     string
	key      string
	user     string
	pwFile   string
}

func newGetCmd() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get URL",
		Short: "Fetch a URL, authenticating with Kerberos (HTTP Negotiate)",
		Long: `get fetches URL and prints the body. When the server asks for Negotiate it
presents a ticket for HTTP/<host> from the credential cache (getting one with
the cache's TGT when needed, and storing it), and before printing anything it
checks the server's proof of identity (mutual authentication). A refused
ticket is retried once with a fresh one. Non-2xx answers are errors that quote
the server's reason.

With --auth tls it presents the client certificate of --cert/--key instead, and
checks the server's certificate against the realm CA of --cacert for the host
of URL: a certificate for other names, from another issuer or expired is
refused before any request is sent, with the names and dates.

With --auth ntlm it answers the server's NTLM challenge (NTLMv2) as --user,
with the password from --password-file or a prompt: for servers outside the
realm's Kerberos, or reached by IP address. NTLM does not prove the server;
prefer Kerberos where there is a ticket. With --auth digest it answers HTTP
Digest challenges (SHA-256 first) and requires the server's rspauth.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runGet(cmd, args[0], o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.auth, "auth", "negotiate", "authentication method: negotiate (Kerberos), ntlm or digest (with --user) or tls (client certificate, with --cert and --key)")
	f.StringVarP(&o.user, "user", "u", "", "--auth ntlm/digest: the user (ntlm: NAME, DOMAIN\\NAME or NAME@REALM; digest: the account name)")
	f.StringVar(&o.pwFile, "password-file", "", "--auth ntlm/digest: read the password from this file (- for standard input; default: prompt)")
	f.StringVar(&o.cert, "cert", "", "--auth tls: PEM client certificate (warden cert issue --account NAME --out NAME writes NAME.crt)")
	f.StringVar(&o.key, "key", "", "--auth tls: PEM private key of --cert")
	f.StringVarP(&o.ccache, "cache", "c", "", "credential cache (default $KRB5CCNAME or /tmp/krb5cc_<uid>)")
	f.StringVar(&o.ccache, "ccache", "", "same as --cache")
	f.StringVarP(&o.output, "output", "o", "", "write the body to this file instead of standard output")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "describe the exchange on standard error")
	f.StringVar(&o.spn, "spn", "", "service principal to authenticate to (default HTTP/<host of URL>)")
	f.StringVar(&o.caCert, "cacert", "", "PEM file of certificate authorities to trust for HTTPS, besides the system's (--auth tls: the realm CA, instead of the system's, checking the server's name with Warden's reasons)")
	f.BoolVar(&o.noMutual, "no-mutual", false, "do not require the server to prove its identity")
	f.DurationVar(&o.timeout, "timeout", time.Minute, "give up after this long")
	return cmd
}

func runGet(cmd *cobra.Command, rawURL string, o getOptions) error {
	methods, err := parseAuthMethods(o.auth, false)
	if err != nil {
		return err
	}
	if methods["tls"] {
		return runGetTLS(cmd, rawURL, o)
	}
	if methods["ntlm"] || methods["digest"] {
		return runGetPassword(cmd, rawURL, o, methods["digest"])
	}
	path, err := resolveCCache(o.ccache)
	if err != nil {
		return err
	}
	src := &httpauth.CCache{Path: path}
	if kc, _, err := newKrbClient(); err == nil {
		src.Client = kc
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	base, err := getBaseTransport(o)
	if err != nil {
		return err
	}
	tr := &httpauth.Transport{Base: base, Credentials: src}
	if o.spn != "" {
		tr.ServicePrincipal = func(string) string { return o.spn }
	}
	if o.noMutual {
		tr.Flags = gss.DefaultFlags &^ gss.FlagMutual
	}
	return fetch(cmd, rawURL, o, tr)
}

// getBaseTransport is the HTTP transport under the authentication: the
// system's CAs plus --cacert.
func getBaseTransport(o getOptions) (*http.Transport, error) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	if o.caCert != "" {
		pem, err := os.ReadFile(o.caCert)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, withHint(fmt.Errorf("--cacert %s holds no PEM certificate", o.caCert), "give the CA certificate in PEM form")
		}
		base.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return base, nil
}

// runGetPassword fetches rawURL answering NTLM or Digest challenges
// with --user and a password.
func runGetPassword(cmd *cobra.Command, rawURL string, o getOptions, isDigest bool) error {
	method := "ntlm"
	if isDigest {
		method = "digest"
	}
	if o.user == "" {
		return withHint(fmt.Errorf("--auth %s needs --user", method), "e.g. warden get --auth "+method+" --user alice URL")
	}
	base, err := getBaseTransport(o)
	if err != nil {
		return err
	}
	pw, err := readPassword(cmd, o.pwFile, "Password for "+o.user+": ")
	if err != nil {
		return err
	}
	if isDigest {
		return fetch(cmd, rawURL, o, &httpauth.DigestTransport{Base: base, User: o.user, Password: pw, RequireMutual: true})
	}
	user, domain := o.user, ""
	if d, u, ok := strings.Cut(user, `\`); ok {
		domain, user = d, u
	} else if u, d, ok := strings.Cut(user, "@"); ok {
		domain, user = d, u
	}
	tr := &httpauth.NTLMTransport{Base: base, User: user, Domain: domain, Password: pw}
	if o.spn != "" {
		tr.ServicePrincipal = func(string) string { return o.spn }
	}
	return fetch(cmd, rawURL, o, tr)
}

// fetch GETs rawURL through tr and prints the body, or the server's
// reason for refusing.
func fetch(cmd *cobra.Command, rawURL string, o getOptions, tr http.RoundTripper) error {
	var res httpauth.Result
	c := httpauth.WithResult(ctx(cmd), &res)
	req, err := http.NewRequestWithContext(c, "GET", rawURL, nil)
	if err != nil {
		return err
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return withHint(fmt.Errorf("%s: not an http:// or https:// URL", rawURL), "e.g. warden get https://web.example.test/")
	}
	stderr := cmd.ErrOrStderr()
	if o.verbose {
		fmt.Fprintf(stderr, "> GET %s\n", req.URL)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: o.timeout}).Do(req)
	if err != nil {
		return urlCause(err)
	}
	defer resp.Body.Close()
	if o.verbose {
		fmt.Fprintf(stderr, "< %s %s\n", resp.Proto, resp.Status)
		describeAuth(stderr, &res, o.auth)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp, &res, o.auth)
	}
	return writeBody(cmd, o.output, resp.Body)
}

// urlCause returns the cause of an http.Client error (with its hint; the
// URL is the one given), or the error itself for a timeout.
func urlCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && !ue.Timeout() {
		return ue.Err
	}
	return err
}

// writeBody copies body to the --output file, or to standard output.
func writeBody(cmd *cobra.Command, output string, body io.Reader) error {
	if output == "" {
		_, err := io.Copy(cmd.OutOrStdout(), body)
		return err
	}
	f, err := os.Create(output)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, body); err != nil {
		return err
	}
	return f.Close()
}

func describeAuth(w io.Writer, res *httpauth.Result, method string) {
	switch {
	case res.Attempts == 0:
		fmt.Fprintln(w, "* the server did not ask for authentication")
	case method == "ntlm" && res.Authenticated:
		fmt.Fprintf(w, "* authenticated as %s with NTLM (the server does not prove its identity with NTLM)\n", res.Client)
	case method == "digest" && res.Authenticated:
		fmt.Fprintf(w, "* authenticated as %s with Digest; the server's rspauth proved the AA checked this request\n", res.Client)
	case method == "ntlm" || method == "digest":
		fmt.Fprintf(w, "* the %s answer for %s was refused\n", method, res.Client)
	case res.Authenticated:
		proof := "the server did not prove its identity (mutual authentication not requested)"
		if res.Mutual {
			proof = "the server proved its identity (mutual authentication)"
		}
		bound := ""
		if res.ChannelBound {
			bound = ", bound to the TLS channel"
		}
		fmt.Fprintf(w, "* authenticated as %s to %s%s; %s\n", res.Client, res.Service, bound, proof)
	default:
		fmt.Fprintf(w, "* %d ticket(s) for %s refused\n", res.Attempts, res.Service)
	}
	if res.Attempts > 1 {
		fmt.Fprintln(w, "* the first ticket was refused; a fresh one was fetched from the KDC")
	}
}

// serverReason is the server's reason for a non-2xx answer: the first
// line of a text body, without the status it repeats; "" when there is
// none.
func serverReason(resp *http.Response) string {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		return ""
	}
	line, _ := bufio.NewReader(io.LimitReader(resp.Body, 4096)).ReadString('\n')
	line = strings.TrimPrefix(strings.TrimSpace(line), resp.Status+": ")
	if line == resp.Status {
		return ""
	}
	return line
}

// httpError is "HTTP <status>: <reason>", or "HTTP <status>" with no
// reason.
func httpError(resp *http.Response, reason string) error {
	if reason == "" {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	return fmt.Errorf("HTTP %s: %s", resp.Status, reason)
}

// statusError turns a non-2xx answer into an error quoting the server's
// reason (the first line of a text body).
func statusError(resp *http.Response, res *httpauth.Result, method string) error {
	reason := serverReason(resp)
	if reason == "" && res.Refusal != nil {
		reason = res.Refusal.Error()
	}
	err := httpError(resp, reason)
	switch {
	case (method == "ntlm" || method == "digest") && resp.StatusCode == http.StatusUnauthorized && res.Attempts > 0:
		return withHint(err, "check the user name and password; the AA's log says which one was wrong")
	case (method == "ntlm" || method == "digest") && resp.StatusCode == http.StatusUnauthorized:
		return withHint(err, "the server did not ask for "+method+"; it may want another method")
	case resp.StatusCode == http.StatusUnauthorized && res.Authenticated:
		return withHint(err, "the server accepted the ticket for "+res.Service+"; the application behind it refused the request")
	case resp.StatusCode == http.StatusUnauthorized && res.Attempts > 0:
		return withHint(err, "the server refused the ticket for "+res.Service+"; check warden klist, the service name (--spn) and that the server's keytab is current")
	case resp.StatusCode == http.StatusUnauthorized:
		return withHint(err, "the server did not ask for Negotiate (Kerberos); it may want another method")
	}
	return err
}
