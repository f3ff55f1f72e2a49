// Package keytab reads and writes MIT keytab files (format 0x0502), the
// way services hand their long-term keys to Kerberos acceptors, so that
// keytabs written by Warden work with MIT/Heimdal tools and servers, and
// keytabs from kadmin/ktutil work with Warden.
package keytab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/warden-auth/warden/internal/atomicfile"
	"github.com/warden-auth/warden/krb5"
)

// MaxFileSize caps what Parse and Load accept; real keytabs are a few KiB.
const MaxFileSize = 64 << 20

// Entry is one key of one principal.
type Entry struct {
	Principal krb5.PrincipalName
	Realm     string
	Timestamp time.Time
	KVNO      uint32
	Key       krb5.EncryptionKey
}

// PrincipalString renders "a/b@REALM".
func (e Entry) PrincipalString() string { return e.Principal.String() + "@" + e.Realm }

// Keytab is the list of entries of a keytab file, in file order.
type Keytab struct {
	Entries []Entry
}

// ErrNotFound is matched by every failed Find.
var ErrNotFound = errors.New("no matching keytab entry")

// FindError explains a failed Find: what was asked and what the keytab has.
type FindError struct {
	Want  string
	KVNO  uint32
	EType krb5.EncType
	Have  []string // "name@R kvno N [etype]" for the entries of the same principal, or all principals
	Same  bool     // Have lists keys of the wanted principal
}

func (e *FindError) Error() string {
	if !e.Same {
		return fmt.Sprintf("keytab has no entry for %s (it holds: %s)", e.Want, strings.Join(e.Have, ", "))
	}
	return fmt.Sprintf("keytab has %s but kvno %d [%v] is needed: re-export the keytab", strings.Join(e.Have, ", "), e.KVNO, e.EType)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *FindError) Is(target error) bool { return target == ErrNotFound }

// Find returns the entry for principal@realm with the given kvno (0: the
// highest) and enctype (0: any).
func (k *Keytab) Find(p krb5.PrincipalName, realm string, kvno uint32, etype krb5.EncType) (Entry, error) {
	var best *Entry
	var same, all []string
	seen := map[string]bool{}
	for i := range k.Entries {
		e := &k.Entries[i]
		if !seen[e.PrincipalString()] {
			seen[e.PrincipalString()] = true
			all = append(all, e.PrincipalString())
		}
		if e.Realm != realm || !e.Principal.Equal(p) {
			continue
		}
		same = append(same, fmt.Sprintf("%s kvno %d [%v]", e.PrincipalString(), e.KVNO, e.Key.KeyType))
		if etype != 0 && e.Key.KeyType != etype || kvno != 0 && e.KVNO != kvno {
			continue
		}
		if best == nil || e.KVNO > best.KVNO {
			best = e
		}
	}
	if best != nil {
		return *best, nil
	}
	fe := &FindError{Want: p.String() + "@" + realm, KVNO: kvno, EType: etype}
	if len(same) > 0 {
		fe.Have, fe.Same = same, true
	} else {
		sort.Strings(all)
		fe.Have = all
	}
	return Entry{}, fe
}

// Add appends an entry.
func (k *Keytab) Add(e Entry) { k.Entries = append(k.Entries, e) }

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("keytab: truncated or malformed %s", what)
	}
}

func (r *reader) u8(what string) uint8 {
	if r.err != nil || len(r.b) < 1 {
		r.fail(what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16(what string) uint16 {
	if r.err != nil || len(r.b) < 2 {
		r.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) u32(what string) uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.fail(what)
		return nil
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return v
}

func (r *reader) counted(what string) string {
	return string(r.bytes(int(r.u16(what)), what))
}

// Parse decodes a keytab file.
func Parse(b []byte) (*Keytab, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("keytab: %d bytes is more than the %d allowed", len(b), MaxFileSize)
	}
	if len(b) < 2 || b[0] != 5 {
		return nil, errors.New("keytab: not a keytab file (bad magic)")
	}
	switch b[1] {
	case 2:
	case 1:
		return nil, errors.New("keytab: version 0x0501 (native byte order) is not supported; rewrite it with ktutil")
	default:
		return nil, fmt.Errorf("keytab: unknown version 0x05%02x", b[1])
	}
	kt := &Keytab{}
	rest := b[2:]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return nil, errors.New("keytab: truncated record length")
		}
		size := int32(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
		n := int(size)
		if size < 0 {
			n = -n // a hole left by a deleted entry
		}
		if size == -1<<31 || n > len(rest) {
			return nil, fmt.Errorf("keytab: record of %d bytes overruns the file", n)
		}
		rec := rest[:n]
		rest = rest[n:]
		if size <= 0 {
			continue
		}
		e, err := parseEntry(rec)
		if err != nil {
			return nil, err
		}
		kt.Entries = append(kt.Entries, e)
	}
	return kt, nil
}

func parseEntry(rec []byte) (Entry, error) {
	r := &reader{b: rec}
	var e Entry
	n := int(r.u16("component count"))
	e.Realm = r.counted("realm")
	for i := 0; i < n && r.err == nil; i++ {
		e.Principal.NameString = append(e.Principal.NameString, r.counted("name component"))
	}
	e.Principal.NameType = krb5.NameType(r.u32("name type"))
	e.Timestamp = time.Unix(int64(r.u32("timestamp")), 0).UTC()
	e.KVNO = uint32(r.u8("kvno"))
	e.Key.KeyType = krb5.EncType(r.u16("key type"))
	e.Key.KeyValue = r.bytes(int(r.u16("key length")), "key")
	// The 32-bit kvno extension overrides the 8-bit one when present.
	if r.err == nil && len(r.b) >= 4 {
		if v := r.u32("kvno32"); v != 0 {
			e.KVNO = v
		}
	}
	if r.err != nil {
		return Entry{}, r.err
	}
	return e, nil
}

// Marshal encodes the keytab in format 0x0502, always with the 32-bit
// kvno extension.
func (k *Keytab) Marshal() ([]byte, error) {
	out := []byte{5, 2}
	for _, e := range k.Entries {
		rec, err := marshalEntry(e)
		if err != nil {
			return nil, err
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(rec)))
		out = append(out, rec...)
	}
	return out, nil
}

func marshalEntry(e Entry) ([]byte, error) {
	str := func(b []byte, s string) ([]byte, error) {
		if len(s) > 0xffff {
			return nil, fmt.Errorf("keytab: string of %d bytes is too long", len(s))
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		return append(b, s...), nil
	}
	if len(e.Principal.NameString) > 0xffff || len(e.Key.KeyValue) > 0xffff {
		return nil, errors.New("keytab: entry too large")
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(len(e.Principal.NameString)))
	var err error
	if b, err = str(b, e.Realm); err != nil {
		return nil, err
	}
	for _, c := range e.Principal.NameString {
		if b, err = str(b, c); err != nil {
			return nil, err
		}
	}
	b = binary.BigEndian.AppendUint32(b, uint32(e.Principal.NameType))
	b = binary.BigEndian.AppendUint32(b, uint32(e.Timestamp.Unix()))
	b = append(b, byte(e.KVNO))
	b = binary.BigEndian.AppendUint16(b, uint16(e.Key.KeyType))
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Key.KeyValue)))
	b = append(b, e.Key.KeyValue...)
	b = binary.BigEndian.AppendUint32(b, e.KVNO)
	return b, nil
}

// Load reads and parses a keytab file.
func Load(path string) (*Keytab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	kt, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kt, nil
}

// WriteFile writes the keytab with mode 0600, atomically: a crash leaves
// either the old file or the new one, never a torn keytab.
func (k *Keytab) WriteFile(path string) error {
	b, err := k.Marshal()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}
