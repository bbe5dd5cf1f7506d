package harness

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// tarEntry is one entry of a test layer.
type tarEntry struct {
	hdr  tar.Header
	body string
}

func layerTar(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.body))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeLayout writes an OCI layout tar of one image with layers and returns it.
func writeLayout(t *testing.T, layers ...[]byte) string {
	t.Helper()
	blobs := map[digest.Digest][]byte{}
	add := func(data []byte) ocispec.Descriptor {
		d := digest.FromBytes(data)
		blobs[d] = data
		return ocispec.Descriptor{Digest: d, Size: int64(len(data))}
	}
	cfg := ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest}
	for _, l := range layers {
		d := add(l)
		d.MediaType = ocispec.MediaTypeImageLayer
		m.Layers = append(m.Layers, d)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, d.Digest)
	}
	cfgJSON, _ := json.Marshal(cfg)
	m.Config = add(cfgJSON)
	m.Config.MediaType = ocispec.MediaTypeImageConfig
	mJSON, _ := json.Marshal(m)
	md := add(mJSON)
	md.MediaType = ocispec.MediaTypeImageManifest
	md.Annotations = map[string]string{ocispec.AnnotationRefName: "t"}
	idx, _ := json.Marshal(ocispec.Index{Manifests: []ocispec.Descriptor{md}})

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	file := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	tw.WriteHeader(&tar.Header{Name: "blobs/", Mode: 0o755, Typeflag: tar.TypeDir})
	tw.WriteHeader(&tar.Header{Name: "blobs/sha256/", Mode: 0o755, Typeflag: tar.TypeDir})
	for d, data := range blobs {
		file("blobs/sha256/"+d.Encoded(), data)
	}
	file("index.json", idx)
	file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	tw.Close()
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func dir(name string, mode int64) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Mode: mode, Typeflag: tar.TypeDir}}
}

func reg(name, body string, mode int64, uid, gid int) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Mode: mode, Uid: uid, Gid: gid, Typeflag: tar.TypeReg}, body: body}
}

// Files applies whiteouts, opaque directories, hard links, a file replacing
// a directory, and keeps xattrs, modes and owners.
func TestFilesAppliesLayers(t *testing.T) {
	xattr := reg("etc/cap", "c", 0o755, 0, 0)
	xattr.hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x02"}
	lower := layerTar(t,
		dir("etc/", 0o755), reg("etc/passwd", "root\n", 0o644, 0, 0), reg("etc/gone", "x", 0o600, 1, 2),
		dir("opq/", 0o700), reg("opq/old", "old", 0o644, 0, 0),
		dir("swap/", 0o755), reg("swap/child", "c", 0o644, 0, 0),
		tarEntry{hdr: tar.Header{Name: "link", Linkname: "etc/passwd", Typeflag: tar.TypeSymlink, Mode: 0o777}},
		xattr,
	)
	upper := layerTar(t,
		reg("etc/.wh.gone", "", 0o644, 0, 0),
		dir("opq/", 0o750), reg("opq/.wh..wh..opq", "", 0o644, 0, 0), reg("opq/new", "new", 0o4755, 7, 8),
		reg("swap", "now a file", 0o600, 0, 0),
		tarEntry{hdr: tar.Header{Name: "hard", Linkname: "etc/passwd", Typeflag: tar.TypeLink}},
	)
	img := ReadImage(t, writeLayout(t, lower, upper))
	if img.Ref != "t" || img.Platform != "linux/amd64" || len(img.Manifest.Layers) != 2 {
		t.Fatalf("image: ref %q platform %q layers %d", img.Ref, img.Platform, len(img.Manifest.Layers))
	}
	fsys := img.Files(t)
	sum := sha256.Sum256([]byte("root\n"))
	want := map[string]string{
		"/etc":        "dir 0755 0:0",
		"/etc/passwd": "file 0644 0:0 5B " + digest.NewDigestFromBytes(digest.SHA256, sum[:]).String(),
		"/opq":        "dir 0750 0:0",
		"/opq/new":    "file 4755 7:8 3B " + digest.FromString("new").String(),
		"/swap":       "file 0600 0:0 10B " + digest.FromString("now a file").String(),
		"/link":       "symlink 0777 0:0 -> etc/passwd",
		"/hard":       "file 0644 0:0 5B " + digest.FromString("root\n").String() + " (hard link to /etc/passwd)",
		"/etc/cap":    "file 0755 0:0 1B " + digest.FromString("c").String() + ` security.capability="\x01\x02"`,
	}
	for p, w := range want {
		if got := fsys[p].String(); got != w {
			t.Errorf("%s = %s, want %s", p, got, w)
		}
	}
	if len(fsys) != len(want) {
		t.Errorf("files %v, want exactly %d", fsys, len(want))
	}
}

func TestELFMachine(t *testing.T) {
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Skip(err)
	}
	if m := ELFMachine(exe); m != 0x3e && m != 0xb7 {
		t.Errorf("the test binary's e_machine = %#x", m)
	}
	if m := ELFMachine([]byte("#!/bin/sh\n")); m != 0 {
		t.Errorf("a script's e_machine = %#x, want 0", m)
	}
}
