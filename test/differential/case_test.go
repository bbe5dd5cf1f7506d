package differential

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// casesDir holds one directory per case: Dockerfile, flags (optional, the
// build flags, one per line, as kiln and buildx take them), context/
// (optional, the build context, Dockerfile added), modes (optional, lines
// "path octal-mode" applied to the context) and error (optional, a text
// both builders' failure must contain).
const casesDir = "testdata/cases"

// goldenDir holds the oracle's normalized result per case (NAME.json).
const goldenDir = "testdata/golden"

type testCase struct {
	name  string
	dir   string
	flags []string
	error string // "" unless the case must fail with this text
}

// loadCases reads every case directory, sorted by name.
func loadCases(t *testing.T) []*testCase {
	t.Helper()
	return loadCasesIn(t, casesDir)
}

// loadCasesIn reads the case directories under dir, sorted by name.
func loadCasesIn(t *testing.T, dir string) []*testCase {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*testCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := &testCase{name: e.Name(), dir: filepath.Join(dir, e.Name())}
		if _, err := os.Stat(filepath.Join(c.dir, "Dockerfile")); err != nil {
			t.Fatalf("case %s: %v", c.name, err)
		}
		if c.flags, err = readFlags(filepath.Join(c.dir, "flags")); err != nil {
			t.Fatalf("case %s: %v", c.name, err)
		}
		if data, err := os.ReadFile(filepath.Join(c.dir, "error")); err == nil {
			c.error = strings.TrimSpace(string(data))
		}
		cases = append(cases, c)
	}
	return cases
}

// readFlags splits a flags file into arguments: whitespace-separated, one
// flag and its value a line by convention, # starts a comment line.
func readFlags(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var args []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args = append(args, strings.Fields(line)...)
	}
	return args, nil
}

// inputDigest identifies what the oracle saw: every file of the case
// (path, exec bit, content) and the BuildKit version. A golden whose input
// differs is stale.
func (c *testCase) inputDigest(t *testing.T, version string) string {
	t.Helper()
	h := sha256.New()
	fmt.Fprintf(h, "buildkit %s\n", version)
	var paths []string
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != c.dir {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(c.dir, p)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(h, "link %s %s\n", rel, target)
		case fi.IsDir():
			fmt.Fprintf(h, "dir %s\n", rel)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			fmt.Fprintf(h, "file %s %t %x\n", rel, fi.Mode()&0o111 != 0, sum)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// makeContext copies the case's context into a fresh dir with the
// Dockerfile at its root. Modes are set from the exec bit alone (0755 or
// 0644, directories 0755), then from the case's modes file, so that the
// checkout's umask never reaches an image.
func (c *testCase) makeContext(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join(c.dir, "context")
	if _, err := os.Stat(src); err == nil {
		if err := copyTree(src, dst); err != nil {
			t.Fatalf("copying the context of %s: %v", c.name, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(c.dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "Dockerfile"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dst, "Dockerfile"), 0o644); err != nil {
		t.Fatal(err)
	}
	modes, err := os.ReadFile(filepath.Join(c.dir, "modes"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(modes)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m, err := strconv.ParseUint(f[len(f)-1], 8, 32)
		if len(f) != 2 || err != nil {
			t.Fatalf("case %s: modes: want \"path octal-mode\", got %q", c.name, line)
		}
		if err := os.Chmod(filepath.Join(dst, f[0]), fs.FileMode(m)|modeBits(uint32(m))); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// modeBits maps the setuid, setgid and sticky bits of a Unix mode to Go's.
func modeBits(m uint32) fs.FileMode {
	var b fs.FileMode
	if m&0o4000 != 0 {
		b |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		b |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		b |= fs.ModeSticky
	}
	return b
}

// copyTree copies src's files, directories and symlinks into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case fi.IsDir():
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			return os.Chmod(out, 0o755)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o644)
			if fi.Mode()&0o111 != 0 {
				mode = 0o755
			}
			if err := os.WriteFile(out, data, mode); err != nil {
				return err
			}
			return os.Chmod(out, mode)
		}
	})
}
