// Package ccache reads and writes MIT FILE credential caches (format
// version 4, reading version 3 too), so that tickets obtained by Warden's
// client are visible to klist and usable by MIT/Heimdal-based programs, and
// tickets from MIT kinit are usable by Warden.
package ccache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/warden-auth/warden/internal/atomicfile"
	"github.com/warden-auth/warden/krb5"
)

// MaxFileSize caps what Parse and Load accept.
const MaxFileSize = 64 << 20

// ConfigRealm is the realm of the server principal of configuration
// entries ("X-CACHECONF:"); the first component is ConfigPrefix.
const (
	ConfigRealm  = "X-CACHECONF:"
	ConfigPrefix = "krb5_ccache_conf_data"
)

// Principal is a name with its realm.
type Principal struct {
	Realm string
	Name  krb5.PrincipalName
}

// String renders "a/b@REALM".
func (p Principal) String() string { return p.Name.String() + "@" + p.Realm }

// Equal compares realm and components.
func (p Principal) Equal(o Principal) bool { return p.Realm == o.Realm && p.Name.Equal(o.Name) }

// Credential is one cached ticket (or configuration entry).
type Credential struct {
	Client, Server Principal
	Key            krb5.EncryptionKey
	AuthTime       time.Time // zero: 0 on disk
	StartTime      time.Time
	EndTime        time.Time
	RenewTill      time.Time
	IsSKey         bool
	TicketFlags    krb5.Flags
	Addresses      []krb5.HostAddress
	AuthData       []krb5.ADEntry
	Ticket         []byte // DER Ticket
	SecondTicket   []byte
}

// IsConfig reports whether the entry is a configuration entry rather
// than a ticket.
func (c Credential) IsConfig() bool { return c.Server.Realm == ConfigRealm }

// HeaderTag is a v4 header field Warden keeps without interpreting it.
type HeaderTag struct {
	Tag  uint16
	Data []byte
}

// Cache is a whole credential cache.
type Cache struct {
	Version          uint16 // 0x0504 or 0x0503
	KDCOffset        time.Duration
	HasKDCOffset     bool
	OtherTags        []HeaderTag
	DefaultPrincipal Principal
	Credentials      []Credential
}

const tagKDCOffset = 1

// Find returns the ticket for server, skipping configuration entries.
func (c *Cache) Find(server Principal) (*Credential, error) {
	var have []string
	for i := range c.Credentials {
		cr := &c.Credentials[i]
		if cr.IsConfig() {
			continue
		}
		if cr.Server.Equal(server) {
			return cr, nil
		}
		have = append(have, cr.Server.String())
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("credential cache holds no tickets for %s: run kinit", c.DefaultPrincipal)
	}
	return nil, fmt.Errorf("credential cache has no ticket for %s (it holds: %s)", server, strings.Join(have, ", "))
}

// Store replaces the ticket for the same client and server, or appends
// it, as kinit and kvno do when they cache a new ticket.
func (c *Cache) Store(cr Credential) {
	for i := range c.Credentials {
		old := &c.Credentials[i]
		if !old.IsConfig() && old.Server.Equal(cr.Server) && old.Client.Equal(cr.Client) {
			*old = cr
			return
		}
	}
	c.Credentials = append(c.Credentials, cr)
}

func configServer(key, principal string) Principal {
	p := Principal{Realm: ConfigRealm, Name: krb5.PrincipalName{NameType: krb5.NameTypePrincipal, NameString: []string{ConfigPrefix, key}}}
	if principal != "" {
		p.Name.NameString = append(p.Name.NameString, principal)
	}
	return p
}

// Config returns the value of configuration entry key (principal "" for
// cache-wide entries such as "fast_avail" keyed by realm-less names).
func (c *Cache) Config(key, principal string) ([]byte, bool) {
	want := configServer(key, principal)
	for _, cr := range c.Credentials {
		if cr.IsConfig() && cr.Server.Equal(want) {
			return cr.Ticket, true
		}
	}
	return nil, false
}

// SetConfig sets configuration entry key, as MIT does for fast_avail,
// pa_type or refresh_time: the value is stored in the ticket field.
func (c *Cache) SetConfig(key, principal string, value []byte) {
	want := configServer(key, principal)
	for i, cr := range c.Credentials {
		if cr.IsConfig() && cr.Server.Equal(want) {
			c.Credentials[i].Ticket = append([]byte(nil), value...)
			return
		}
	}
	c.Credentials = append(c.Credentials, Credential{Client: c.DefaultPrincipal, Server: want, Ticket: append([]byte(nil), value...)})
}

// --- decoding ---

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("ccache: truncated or malformed %s", what)
	}
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.fail(what)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8(what string) uint8 {
	if b := r.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if b := r.take(2, what); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if b := r.take(4, what); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) data(what string) []byte {
	n := r.u32(what)
	if r.err == nil && int64(n) > int64(len(r.b)) {
		r.fail(what)
		return nil
	}
	return append([]byte{}, r.take(int(n), what)...)
}

func (r *reader) principal(what string) Principal {
	var p Principal
	p.Name.NameType = krb5.NameType(r.u32(what))
	n := r.u32(what)
	if r.err == nil && int64(n)*4 > int64(len(r.b)) {
		r.fail(what)
		return p
	}
	p.Realm = string(r.data(what))
	p.Name.NameString = make([]string, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		p.Name.NameString = append(p.Name.NameString, string(r.data(what)))
	}
	return p
}

func (r *reader) time(what string) time.Time {
	v := r.u32(what)
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(int64(v), 0).UTC()
}

// Parse decodes a FILE ccache.
func Parse(b []byte) (*Cache, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("ccache: %d bytes is more than the %d allowed", len(b), MaxFileSize)
	}
	r := &reader{b: b}
	c := &Cache{Version: r.u16("version")}
	switch c.Version {
	case 0x0504:
		hdr := &reader{b: r.take(int(r.u16("header length")), "header")}
		for r.err == nil && hdr.err == nil && len(hdr.b) > 0 {
			tag := hdr.u16("header tag")
			val := hdr.take(int(hdr.u16("header tag length")), "header tag")
			if hdr.err != nil {
				break
			}
			if tag == tagKDCOffset && len(val) == 8 {
				sec := int32(binary.BigEndian.Uint32(val))
				usec := int32(binary.BigEndian.Uint32(val[4:]))
				c.KDCOffset = time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
				c.HasKDCOffset = true
				continue
			}
			c.OtherTags = append(c.OtherTags, HeaderTag{Tag: tag, Data: append([]byte{}, val...)})
		}
		if hdr.err != nil {
			return nil, hdr.err
		}
	case 0x0503:
	case 0x0501, 0x0502:
		return nil, fmt.Errorf("ccache: version 0x%04x (native byte order) is not supported; run kinit again with a current MIT krb5", c.Version)
	default:
		if r.err != nil {
			return nil, errors.New("ccache: empty or truncated file")
		}
		return nil, fmt.Errorf("ccache: not an MIT credential cache (version 0x%04x)", c.Version)
	}
	c.DefaultPrincipal = r.principal("default principal")
	for r.err == nil && len(r.b) > 0 {
		var cr Credential
		cr.Client = r.principal("client principal")
		cr.Server = r.principal("server principal")
		cr.Key.KeyType = krb5.EncType(r.u16("key type"))
		if c.Version == 0x0503 {
			r.u16("key type (repeated in version 3)")
		}
		cr.Key.KeyValue = r.data("key")
		cr.AuthTime = r.time("authtime")
		cr.StartTime = r.time("starttime")
		cr.EndTime = r.time("endtime")
		cr.RenewTill = r.time("renew_till")
		cr.IsSKey = r.u8("is_skey") != 0
		cr.TicketFlags = krb5.Flags(r.u32("ticket flags"))
		n := r.u32("address count")
		if r.err == nil && int64(n)*6 > int64(len(r.b)) {
			r.fail("addresses")
		}
		for i := uint32(0); i < n && r.err == nil; i++ {
			cr.Addresses = append(cr.Addresses, krb5.HostAddress{AddrType: int32(r.u16("address type")), Address: r.data("address")})
		}
		n = r.u32("authdata count")
		if r.err == nil && int64(n)*6 > int64(len(r.b)) {
			r.fail("authdata")
		}
		for i := uint32(0); i < n && r.err == nil; i++ {
			cr.AuthData = append(cr.AuthData, krb5.ADEntry{Type: krb5.ADType(int16(r.u16("authdata type"))), Data: r.data("authdata")})
		}
		cr.Ticket = r.data("ticket")
		cr.SecondTicket = r.data("second ticket")
		if r.err == nil {
			c.Credentials = append(c.Credentials, cr)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// --- encoding ---

type writer struct{ b []byte }

func (w *writer) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *writer) data(d []byte) {
	w.u32(uint32(len(d)))
	w.b = append(w.b, d...)
}
func (w *writer) principal(p Principal) {
	w.u32(uint32(p.Name.NameType))
	w.u32(uint32(len(p.Name.NameString)))
	w.data([]byte(p.Realm))
	for _, c := range p.Name.NameString {
		w.data([]byte(c))
	}
}
func (w *writer) time(t time.Time) {
	if t.IsZero() {
		w.u32(0)
		return
	}
	w.u32(uint32(t.Unix()))
}

// Marshal encodes the cache (version 4 unless Version says 3).
func (c *Cache) Marshal() ([]byte, error) {
	w := &writer{}
	v := c.Version
	if v == 0 {
		v = 0x0504
	}
	if v != 0x0504 && v != 0x0503 {
		return nil, fmt.Errorf("ccache: cannot write version 0x%04x", v)
	}
	w.u16(v)
	if v == 0x0504 {
		h := &writer{}
		if c.HasKDCOffset {
			h.u16(tagKDCOffset)
			h.u16(8)
			h.u32(uint32(int32(c.KDCOffset / time.Second)))
			h.u32(uint32(int32((c.KDCOffset % time.Second) / time.Microsecond)))
		}
		for _, t := range c.OtherTags {
			h.u16(t.Tag)
			h.u16(uint16(len(t.Data)))
			h.b = append(h.b, t.Data...)
		}
		if len(h.b) > 0xffff {
			return nil, errors.New("ccache: header too large")
		}
		w.u16(uint16(len(h.b)))
		w.b = append(w.b, h.b...)
	}
	w.principal(c.DefaultPrincipal)
	for _, cr := range c.Credentials {
		w.principal(cr.Client)
		w.principal(cr.Server)
		w.u16(uint16(cr.Key.KeyType))
		if v == 0x0503 {
			w.u16(uint16(cr.Key.KeyType))
		}
		w.data(cr.Key.KeyValue)
		w.time(cr.AuthTime)
		w.time(cr.StartTime)
		w.time(cr.EndTime)
		w.time(cr.RenewTill)
		if cr.IsSKey {
			w.b = append(w.b, 1)
		} else {
			w.b = append(w.b, 0)
		}
		w.u32(uint32(cr.TicketFlags))
		w.u32(uint32(len(cr.Addresses)))
		for _, a := range cr.Addresses {
			w.u16(uint16(a.AddrType))
			w.data(a.Address)
		}
		w.u32(uint32(len(cr.AuthData)))
		for _, a := range cr.AuthData {
			w.u16(uint16(a.Type))
			w.data(a.Data)
		}
		w.data(cr.Ticket)
		w.data(cr.SecondTicket)
	}
	return w.b, nil
}

// Load reads and parses a FILE ccache.
func Load(path string) (*Cache, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no credential cache at %s: run kinit first", path)
		}
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// WriteFile writes the cache with mode 0600, atomically (temp file, fsync,
// rename), so a reader never sees a half-written cache.
func (c *Cache) WriteFile(path string) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}

// DefaultPath is where MIT tools look: $KRB5CCNAME (FILE: or a plain
// path), else /tmp/krb5cc_<uid>.
func DefaultPath() (string, error) {
	name := os.Getenv("KRB5CCNAME")
	if name == "" {
		return fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid()), nil
	}
	if rest, ok := strings.CutPrefix(name, "FILE:"); ok {
		return rest, nil
	}
	if i := strings.IndexByte(name, ':'); i > 0 && !strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("KRB5CCNAME=%s: credential cache type %q is not supported; use a FILE: cache", name, name[:i])
	}
	return name, nil
}
