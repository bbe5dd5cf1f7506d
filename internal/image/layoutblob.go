package image

import (
	"fmt"
	"io"
	"os"
	"syscall"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// OpenLayoutBlob opens the blob d of the OCI layout at dir for reading, as
// its descriptor (read from a file the user gave: index.json, a manifest)
// names it. The digest is parsed and must be sha256, the algorithm of
// kiln's store, so "" or "md5:…" is an error, not a panic; the blob is
// opened through the layout's root, so neither "sha256:../../etc/hostname"
// nor a symlink leaves it; and it must be a regular file, never a device
// (/dev/zero) or a FIFO. Read at most d.Size bytes through LimitBlob.
func OpenLayoutBlob(dir string, d ocispec.Descriptor) (*os.File, error) {
	if err := ValidDigest(d.Digest); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.OpenFile("blobs/sha256/"+d.Digest.Encoded(), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: blob %s: %w", dir, d.Digest, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: blob %s is not a regular file (%s)", dir, d.Digest, fi.Mode().Type())
	}
	if d.Size > 0 && fi.Size() != d.Size {
		f.Close()
		return nil, fmt.Errorf("%s: blob %s has %d bytes, its descriptor says %d", dir, d.Digest, fi.Size(), d.Size)
	}
	return f, nil
}

// ValidDigest accepts only a well-formed sha256 digest.
func ValidDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("invalid digest %q: %w", string(d), err)
	}
	if d.Algorithm() != digest.SHA256 {
		return fmt.Errorf("digest %s: only sha256 is supported", d)
	}
	return nil
}

// LimitBlob reads at most n+1 bytes of r when n > 0, so a blob that grows
// past its descriptor's size fails its size check instead of filling the
// disk.
func LimitBlob(r io.Reader, n int64) io.Reader {
	if n <= 0 {
		return r
	}
	return io.LimitReader(r, n+1)
}
