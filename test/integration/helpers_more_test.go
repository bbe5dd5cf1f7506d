package integration

// Generic helpers for the multi-platform, secrets, mounts, reproducibility
// and store tests: kiln on another store, OCI archives holding an index,
// layer contents, and byte searches through directories and archives.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// runKilnRoot is runKiln on the store root instead of the shared one.
func runKilnRoot(t *testing.T, root string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kilnTimeout)
	defer cancel()
	full := append([]string{"--root", root}, args...)
	cmd := exec.CommandContext(ctx, suite.kiln, full...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: full, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running kiln: %v\n%s", err, r)
	}
	return r
}

// mustKilnRoot runs kiln on root and fails the test unless it exits 0.
func mustKilnRoot(t *testing.T, root string, env []string, args ...string) result {
	t.Helper()
	r := runKilnRoot(t, root, env, args...)
	if r.code != 0 {
		t.Fatalf("kiln failed:\n%s", r)
	}
	return r
}

// writeDockerfile writes df into a fresh directory (outside any context)
// and returns its path.
func writeDockerfile(t *testing.T, df string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	writeFile(t, p, df, 0o644)
	return p
}

// platformImage is one manifest of an OCI archive, with its platform.
type platformImage struct {
	platform string // os/arch
	digest   digest.Digest
	manifest ocispec.Manifest
	config   ocispec.Image
}

// ociArchive is an extracted OCI archive that may hold an image index.
type ociArchive struct {
	layout    string
	index     ocispec.Index // index.json
	topDigest digest.Digest // what index.json points at
	topType   string        // its media type
	images    []platformImage
}

// readOCIArchive extracts tar and reads every image manifest it holds,
// following index.json into a nested image index if there is one.
func readOCIArchive(t *testing.T, tarPath string) *ociArchive {
	t.Helper()
	a := &ociArchive{layout: t.TempDir()}
	if out, err := exec.Command("tar", "-xf", tarPath, "-C", a.layout).CombinedOutput(); err != nil {
		t.Fatalf("extracting %s: %v\n%s", tarPath, err, out)
	}
	readJSON(t, filepath.Join(a.layout, "index.json"), &a.index)
	if len(a.index.Manifests) == 0 {
		t.Fatalf("%s: index.json lists no manifests", tarPath)
	}
	a.topDigest, a.topType = a.index.Manifests[0].Digest, a.index.Manifests[0].MediaType
	descs := a.index.Manifests
	if len(descs) == 1 && descs[0].MediaType == ocispec.MediaTypeImageIndex {
		var nested ocispec.Index
		readJSON(t, a.blob(descs[0].Digest), &nested)
		descs = nested.Manifests
	}
	for _, d := range descs {
		pi := platformImage{digest: d.Digest}
		readJSON(t, a.blob(d.Digest), &pi.manifest)
		readJSON(t, a.blob(pi.manifest.Config.Digest), &pi.config)
		pi.platform = pi.config.OS + "/" + pi.config.Architecture
		if d.Platform != nil && d.Platform.OS+"/"+d.Platform.Architecture != pi.platform {
			t.Errorf("manifest %s: descriptor platform %s/%s, config says %s", d.Digest, d.Platform.OS, d.Platform.Architecture, pi.platform)
		}
		a.images = append(a.images, pi)
	}
	return a
}

func (a *ociArchive) blob(d digest.Digest) string {
	return filepath.Join(a.layout, "blobs", d.Algorithm().String(), d.Encoded())
}

// image returns the manifest for platform (os/arch), failing the test if
// there is none.
func (a *ociArchive) image(t *testing.T, platform string) platformImage {
	t.Helper()
	for _, pi := range a.images {
		if pi.platform == platform {
			return pi
		}
	}
	t.Fatalf("archive has no manifest for %s (it has %v)", platform, a.platforms())
	return platformImage{}
}

func (a *ociArchive) platforms() []string {
	var ps []string
	for _, pi := range a.images {
		ps = append(ps, pi.platform)
	}
	return ps
}

// layerEntry is one tar entry of a layer.
type layerEntry struct {
	hdr  *tar.Header
	data []byte
}

// layerFiles reads every layer of pi in order and returns the entries by
// path ("/x/y"); later layers replace earlier entries (whiteouts are kept
// as entries, not applied).
func (a *ociArchive) layerFiles(t *testing.T, pi platformImage) map[string]layerEntry {
	t.Helper()
	files := map[string]layerEntry{}
	for _, l := range pi.manifest.Layers {
		for name, e := range readLayerTar(t, a.blob(l.Digest)) {
			files[name] = e
		}
	}
	return files
}

// readLayerTar reads a layer blob (gzip, zstd or plain tar).
func readLayerTar(t *testing.T, path string) map[string]layerEntry {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := maybeDecompress(raw)
	if err != nil {
		t.Fatalf("layer %s: %v", path, err)
	}
	files := map[string]layerEntry{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("layer %s: %v", path, err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(hdr.Name, "./"), "/"), "/")
		files[name] = layerEntry{hdr: hdr, data: body}
	}
	return files
}

// decompress returns data gunzipped or zstd-decoded when it starts with
// their magic, else data itself.
func maybeDecompress(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return io.ReadAll(zr)
	}
	return data, nil
}

// elfMachine returns e_machine of an ELF file (0x3E x86-64, 0xB7 aarch64),
// or 0 if data is not ELF.
func elfMachine(data []byte) uint16 {
	if len(data) < 20 || !bytes.HasPrefix(data, []byte("\x7fELF")) {
		return 0
	}
	if data[5] == 2 { // big endian
		return binary.BigEndian.Uint16(data[18:20])
	}
	return binary.LittleEndian.Uint16(data[18:20])
}

// findBytes returns every file under root (walked whole, symlinks not
// followed) whose bytes, or whose gunzipped/zstd-decoded bytes, or those of
// a tar inside it (files of an archive are searched as they are), contain
// needle.
func findBytes(t *testing.T, root string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			if d.Type()&fs.ModeSymlink != 0 {
				if target, err := os.Readlink(p); err == nil && bytes.Contains([]byte(target), needle) {
					hits = append(hits, p+" (symlink target)")
				}
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if bytes.Contains(data, needle) {
			hits = append(hits, p)
			return nil
		}
		if plain, err := maybeDecompress(data); err == nil && len(plain) != len(data) && bytes.Contains(plain, needle) {
			hits = append(hits, p+" (decompressed)")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return hits
}

// extractTar extracts tarPath into a fresh directory and returns it.
func untarToTemp(t *testing.T, tarPath string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", tarPath, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("extracting %s: %v\n%s", tarPath, err, out)
	}
	return dir
}

// countSteps counts the vertices of plain progress output whose
// instruction is instr, and how many of them were cached.
func countStepVertices(out, instr string) (n, cached int) {
	for _, s := range parseSteps(out) {
		if s.instruction() == instr {
			n++
			if s.cached {
				cached++
			}
		}
	}
	return n, cached
}
