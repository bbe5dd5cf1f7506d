package store

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kiln-build/kiln/internal/testhook"
)

// writeFileAtomic writes data to path via a synced temporary file and a rename.
func (s *Store) writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(s.path(dirTmp), OwnerPrefix()+"w-")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", filepath.Base(path), err)
	}
	testhook.Point(testhook.Store) // written and synced, not yet in place
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming into place: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
