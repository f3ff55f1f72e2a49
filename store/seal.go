package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/warden-auth/warden/internal/atomicfile"
)

// MasterKeySize is the size of the realm master key (AES-256).
const MasterKeySize = 32

const sealVersion = 1

// ErrSealed is returned when sealed secrets cannot be opened: a wrong
// master key or a tampered row.
var ErrSealed = errors.New("sealed secrets cannot be opened (wrong master key or tampered data)")

// Sealer seals account secrets with AES-256-GCM under the master key.
// The additional data binds a sealed blob to its account's RID, so blobs
// cannot be swapped between rows.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte master key.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(masterKey), MasterKeySize)
	}
	b, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

func sealAAD(rid uint32) []byte {
	return strconv.AppendUint([]byte("warden-secrets-v1:"), uint64(rid), 10)
}

// Seal encrypts s for the account with this RID:
// version(1) | nonce(12) | GCM(ciphertext+tag).
func (x *Sealer) Seal(rid uint32, s Secrets) ([]byte, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return x.seal(plain, sealAAD(rid))
}

// seal encrypts plain bound to aad: version(1) | nonce(12) | GCM(ciphertext+tag).
func (x *Sealer) seal(plain, aad []byte) ([]byte, error) {
	n := x.aead.NonceSize()
	out := make([]byte, 1+n, 1+n+len(plain)+x.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return x.aead.Seal(out, out[1:1+n], plain, aad), nil
}

// open decrypts a blob written by seal with the same aad; any failure is ErrSealed.
func (x *Sealer) open(blob, aad []byte) ([]byte, error) {
	n := x.aead.NonceSize()
	if len(blob) < 1+n+x.aead.Overhead() || blob[0] != sealVersion {
		return nil, ErrSealed
	}
	plain, err := x.aead.Open(nil, blob[1:1+n], blob[1+n:], aad)
	if err != nil {
		return nil, ErrSealed
	}
	return plain, nil
}

// Open decrypts a blob written by Seal for the account with this RID.
func (x *Sealer) Open(rid uint32, blob []byte) (Secrets, error) {
	var s Secrets
	if len(blob) == 0 {
		return s, nil
	}
	plain, err := x.open(blob, sealAAD(rid))
	if err != nil {
		return s, err
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, &s); err != nil {
		return s, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	return s, nil
}

// CreateMasterKey writes a new random master key to a 0600 stash file; it
// refuses to overwrite an existing one (losing it loses every secret).
func CreateMasterKey(path string) ([]byte, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("master key stash %s: %w", path, ErrExists)
	}
	k := make([]byte, MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(path, k, 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// LoadMasterKey reads a stash file, refusing one readable by others.
func LoadMasterKey(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("master key stash %s: %w", path, ErrNotFound)
		}
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key stash %s has mode %v; it must be readable by its owner only (chmod 600)", path, st.Mode().Perm())
	}
	k, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(k) != MasterKeySize {
		return nil, fmt.Errorf("master key stash %s is %d bytes, want %d", path, len(k), MasterKeySize)
	}
	return k, nil
}

func blobAAD(label string) []byte { return append([]byte("warden-blob-v1:"), label...) }

// SealBlob encrypts a secret that is not an account's (the CA key), bound
// to label so it cannot be moved to another row, in Seal's format.
func (x *Sealer) SealBlob(label string, plain []byte) ([]byte, error) {
	return x.seal(plain, blobAAD(label))
}

// OpenBlob decrypts a blob written by SealBlob with the same label.
func (x *Sealer) OpenBlob(label string, blob []byte) ([]byte, error) {
	return x.open(blob, blobAAD(label))
}
