// Package atomicfile writes files so that a crash or kill -9 leaves either
// the old content or the new, never a torn file: keytabs, credential caches
// and (later) configuration that other programs read while Warden writes.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with b: a temporary file in the same directory is
// written with mode perm, synced, renamed over path, and the directory is
// synced so the rename itself is durable.
func Write(path string, b []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
