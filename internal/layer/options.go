package layer

import (
	"fmt"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Compression names the compression of a layer blob.
type Compression string

// Supported compressions. The empty string means Gzip.
const (
	Gzip         Compression = "gzip"
	Zstd         Compression = "zstd"
	Uncompressed Compression = "uncompressed"
)

// Options control normalization and compression of a written layer.
type Options struct {
	// Epoch clamps mtimes: newer ones are set to it (BuildKit's
	// rewrite-timestamp). The zero value means Unix time 0.
	Epoch time.Time
	// XattrPrefix is the namespace of the overlay mount's opaque-directory
	// xattr in an upper dir (WriteDiff): "trusted." (the default) or "user."
	// (a user-namespace mount with userxattr).
	XattrPrefix string
	// Compression defaults to Gzip.
	Compression Compression
	// Level is the algorithm's level: 1-9 for gzip, 1-22 for zstd (mapped to
	// klauspost's nearest level). 0 means the library default.
	Level int
}

// UnpackOptions say how UnpackWith writes overlay marks and special files.
type UnpackOptions struct {
	// XattrPrefix is the namespace of opaque-directory marks ("trusted."
	// when empty; "user." in a user namespace).
	XattrPrefix string
	// NoDevices skips block and character devices, which a user namespace
	// cannot create (containerd does the same); whiteouts are still made.
	NoDevices bool
}

func xattrPrefix(p string) string {
	if p == "" {
		return rootXattrs
	}
	return p
}

// epoch returns the clamp time in whole seconds.
func (o Options) epoch() time.Time {
	if o.Epoch.IsZero() {
		return time.Unix(0, 0)
	}
	return time.Unix(o.Epoch.Unix(), 0)
}

// mediaType validates the compression and returns its OCI media type.
func (o Options) mediaType() (string, error) {
	switch o.Compression {
	case "", Gzip:
		return ocispec.MediaTypeImageLayerGzip, nil
	case Zstd:
		return ocispec.MediaTypeImageLayerZstd, nil
	case Uncompressed:
		return ocispec.MediaTypeImageLayer, nil
	}
	return "", fmt.Errorf("unknown layer compression %q", o.Compression)
}

// MediaType is the OCI media type of layers written with these options
// ("" if the compression is unknown).
func (o Options) MediaType() string {
	mt, _ := o.mediaType()
	return mt
}
