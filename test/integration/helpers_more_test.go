package integration

// Generic helpers for the multi-platform, secrets, mounts, reproducibility
// and store tests: kiln on another store, OCI archives holding an index,
// layer contents, and byte searches through directories and archives.

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// runKilnRoot is runKiln on the store root instead of the test's own.
func runKilnRoot(t *testing.T, root string, env []string, args ...string) result {
	t.Helper()
	return harness.Run(t, harness.Opts{Root: root, Env: env}, args...)
}

// mustKilnRoot runs kiln on root and fails the test unless it exits 0.
func mustKilnRoot(t *testing.T, root string, env []string, args ...string) result {
	t.Helper()
	return harness.MustRun(t, harness.Opts{Root: root, Env: env}, args...)
}

// writeDockerfile writes df into a fresh directory (outside any context)
// and returns its path.
func writeDockerfile(t *testing.T, df string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	writeFile(t, p, df, 0o644)
	return p
}

// ociArchive is an extracted OCI archive that may hold an image index.
type ociArchive = harness.Archive

// readOCIArchive extracts tar and reads every image manifest it holds,
// following index.json into a nested image index if there is one.
func readOCIArchive(t *testing.T, tarPath string) *ociArchive {
	t.Helper()
	return harness.ReadArchive(t, tarPath)
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
		if plain, err := harness.Decompress(data); err == nil && len(plain) != len(data) && bytes.Contains(plain, needle) {
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
