package exporter

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// regularFiles hashes every regular file under root by its slash path:
// the subjects of a filesystem output's statements, as BuildKit's.
func regularFiles(root string) func() (map[string]digest.Digest, error) {
	return func() (map[string]digest.Digest, error) {
		out := map[string]digest.Digest{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			sum, err := fileDigest(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = sum
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("hashing the output for its attestations: %w", err)
		}
		return out, nil
	}
}

func fileDigest(p string) (digest.Digest, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil))), nil
}

// writeStatementFiles writes statement files at dir's root, mode 0600 as
// BuildKit's local exporter does; an existing file of that name is replaced.
func writeStatementFiles(dir string, files map[string][]byte) error {
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

// appendStatementFiles adds statement files to a tar whose end-of-archive
// blocks were held back (trailerHolder).
func appendStatementFiles(w io.Writer, files map[string][]byte, epoch time.Time) error {
	tw := tar.NewWriter(w)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		data := files[name]
		h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// trailerHolder passes a tar stream on but for its last 1024 bytes, the
// two zero blocks that end an archive, so that more entries can follow.
type trailerHolder struct {
	w    io.Writer
	tail []byte
}

const tarTrailer = 1024

func (t *trailerHolder) Write(p []byte) (int, error) {
	t.tail = append(t.tail, p...)
	if n := len(t.tail) - tarTrailer; n > 0 {
		if _, err := t.w.Write(t.tail[:n]); err != nil {
			return 0, err
		}
		t.tail = append(t.tail[:0], t.tail[n:]...)
	}
	return len(p), nil
}

// held checks that what was held back is the end-of-archive marker.
func (t *trailerHolder) held() error {
	for _, b := range t.tail {
		if b != 0 {
			return fmt.Errorf("tar stream does not end with its end-of-archive blocks")
		}
	}
	if len(t.tail) != tarTrailer {
		return fmt.Errorf("tar stream is shorter than its end-of-archive blocks")
	}
	return nil
}
