// Package config is the AA's configuration file: its types, a strict
// loader that rejects unknown keys, and Validate, which lists every
// problem with its field path so an operator fixes them in one pass.
//
// The file is JSON (data-dir/warden.json), written by `warden init`.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/warden-auth/warden/internal/atomicfile"
)

// FileName is the config file's name inside the data directory.
const FileName = "warden.json"

// Config is the AA's configuration.
type Config struct {
	// Realm is the Kerberos realm (upper case).
	Realm string `json:"realm"`
	// Database selects the account DB.
	Database Database `json:"database"`
	// MasterKeyFile is the stash of the key sealing secrets at rest,
	// relative to the data directory unless absolute.
	MasterKeyFile string `json:"master_key_file"`
	// KDC is the Kerberos listener.
	KDC KDC `json:"kdc"`
	// HTTPS is the listener for the validation API, PKI, metrics and health.
	HTTPS HTTPS `json:"https"`
	// PKI configures the realm CA's certificates and publication.
	PKI PKI `json:"pki,omitzero"`
	// Log chooses the log format and level.
	Log Log `json:"log"`

	// Dir is the data directory the file was loaded from (not in the file).
	Dir string `json:"-"`
}

// Database selects the account DB backend.
type Database struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string `json:"driver"`
	// Path is the SQLite file, relative to the data directory.
	Path string `json:"path,omitempty"`
	// DSN is the PostgreSQL connection string.
	DSN string `json:"dsn,omitempty"`
}

// KDC configures the Kerberos listener.
type KDC struct {
	// Addr is host:port for UDP and TCP (default ":88").
	Addr string `json:"addr"`
	// MaxSkew is the allowed client clock difference (default "5m").
	MaxSkew Duration `json:"max_skew,omitempty"`
	// MaxTCPFrame caps TCP requests in bytes (default 65536).
	MaxTCPFrame int `json:"max_tcp_frame,omitempty"`
	// UDPReaders is the number of UDP reader goroutines (default: CPUs).
	UDPReaders int `json:"udp_readers,omitempty"`
	// MaxUDPReply is the largest reply sent over UDP in bytes (default
	// 4096); larger replies ask the client to retry over TCP.
	MaxUDPReply int `json:"max_udp_reply,omitempty"`
}

// HTTPS configures the HTTPS listener.
type HTTPS struct {
	// Addr is host:port; empty disables the listener.
	Addr string `json:"addr,omitempty"`
	// Names are the DNS names and IP addresses of the listener's
	// certificate, issued by the realm CA (default: localhost, the host
	// name, 127.0.0.1 and ::1).
	Names []string `json:"names,omitempty"`
}

// PKI configures the realm CA. Zero values are the defaults.
type PKI struct {
	// KeyType is the CA key made when the CA is created: "ecdsa-p256"
	// (default) or "rsa-3072".
	KeyType string `json:"key_type,omitempty"`
	// LeafLifetime is the default lifetime of issued certificates ("8760h").
	LeafLifetime Duration `json:"leaf_lifetime,omitempty"`
	// CRLLifetime is the CRL's nextUpdate - thisUpdate ("24h").
	CRLLifetime Duration `json:"crl_lifetime,omitempty"`
	// OCSPLifetime is an OCSP answer's nextUpdate - thisUpdate ("1h").
	OCSPLifetime Duration `json:"ocsp_lifetime,omitempty"`
	// BaseURL, e.g. "https://aa.example.test:8443", is written into issued
	// certificates as their CRL and OCSP locations; empty writes none.
	BaseURL string `json:"base_url,omitempty"`
	// AllowUPNMapping lets a client certificate that carries only a UPN
	// map to an account (weak; off by default).
	AllowUPNMapping bool `json:"allow_upn_mapping,omitempty"`
	// DelegatedOCSP signs OCSP answers with a responder certificate
	// instead of the CA key.
	DelegatedOCSP bool `json:"delegated_ocsp,omitempty"`
}

// Log configures logging.
type Log struct {
	// Format is "text" (default) or "json".
	Format string `json:"format,omitempty"`
	// Level is "debug", "info" (default), "warn" or "error".
	Level string `json:"level,omitempty"`
}

// Duration is a time.Duration written as "5m" in the file.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "5m", "90s" and the like.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"5m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Default returns the configuration `warden init` writes for a realm.
func Default(realm string) *Config {
	return &Config{
		Realm:         realm,
		Database:      Database{Driver: "sqlite", Path: "accounts.db"},
		MasterKeyFile: "master.key",
		KDC:           KDC{Addr: ":88"},
		Log:           Log{Format: "text", Level: "info"},
	}
}

// Load reads dir/warden.json strictly: unknown keys and trailing data are
// errors, and so is any problem Validate finds.
func Load(dir string) (*Config, error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	c := &Config{}
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the configuration object", path)
	}
	c.Dir = dir
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Save writes the configuration to dir/warden.json atomically.
func (c *Config) Save(dir string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, FileName), append(b, '\n'), 0o600)
}

// Problems is every problem Validate found, one per field.
type Problems []string

func (p Problems) Error() string { return "invalid configuration:\n  " + strings.Join(p, "\n  ") }

// Validate lists every problem with its field path.
func (c *Config) Validate() error {
	var p Problems
	if c.Realm == "" || strings.ContainsAny(c.Realm, "/@: ") {
		p = append(p, fmt.Sprintf("realm: %q is not a realm name", c.Realm))
	}
	switch c.Database.Driver {
	case "sqlite", "":
		if c.Database.Path == "" {
			p = append(p, "database.path: required for the sqlite driver")
		}
	case "postgres":
		if c.Database.DSN == "" {
			p = append(p, "database.dsn: required for the postgres driver")
		}
	default:
		p = append(p, fmt.Sprintf("database.driver: %q is not sqlite or postgres", c.Database.Driver))
	}
	if c.MasterKeyFile == "" {
		p = append(p, "master_key_file: required")
	}
	if _, _, err := net.SplitHostPort(c.KDC.Addr); err != nil {
		p = append(p, fmt.Sprintf("kdc.addr: %q: %v", c.KDC.Addr, err))
	}
	if c.KDC.MaxSkew < 0 {
		p = append(p, "kdc.max_skew: must not be negative")
	}
	if c.KDC.MaxTCPFrame < 0 || c.KDC.MaxTCPFrame > 16<<20 {
		p = append(p, "kdc.max_tcp_frame: must be between 0 (default) and 16 MiB")
	}
	if c.KDC.MaxUDPReply < 0 || c.KDC.MaxUDPReply > 65000 {
		p = append(p, "kdc.max_udp_reply: must be between 0 (default) and 65000 bytes")
	}
	if c.HTTPS.Addr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPS.Addr); err != nil {
			p = append(p, fmt.Sprintf("https.addr: %q: %v", c.HTTPS.Addr, err))
		}
	}
	switch strings.ToLower(c.PKI.KeyType) {
	case "", "ecdsa", "ecdsa-p256", "p256", "p-256", "rsa", "rsa-3072", "rsa3072":
	default:
		p = append(p, fmt.Sprintf("pki.key_type: %q is not ecdsa-p256 or rsa-3072", c.PKI.KeyType))
	}
	if c.PKI.LeafLifetime != 0 && (time.Duration(c.PKI.LeafLifetime) < time.Hour || time.Duration(c.PKI.LeafLifetime) > 5*365*24*time.Hour) {
		p = append(p, "pki.leaf_lifetime: must be between 1h and 5 years")
	}
	if c.PKI.CRLLifetime < 0 || c.PKI.OCSPLifetime < 0 {
		p = append(p, "pki.crl_lifetime, pki.ocsp_lifetime: must not be negative")
	}
	if c.PKI.BaseURL != "" {
		if u, err := url.Parse(c.PKI.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p = append(p, fmt.Sprintf("pki.base_url: %q is not an http(s) URL", c.PKI.BaseURL))
		}
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		p = append(p, fmt.Sprintf("log.format: %q is not text or json", c.Log.Format))
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		p = append(p, fmt.Sprintf("log.level: %q is not debug, info, warn or error", c.Log.Level))
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// Path resolves a path of the config relative to the data directory.
func (c *Config) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// ErrNoConfig tells that a data directory holds no configuration.
var ErrNoConfig = errors.New("no warden configuration")
