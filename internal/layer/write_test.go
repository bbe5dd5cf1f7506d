package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// capNetBindService is a valid VFS_CAP_REVISION_2 security.capability value
// granting CAP_NET_BIND_SERVICE (effective, permitted).
func capNetBindService() []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000000|1)
	binary.LittleEndian.PutUint32(b[4:], 1<<unix.CAP_NET_BIND_SERVICE)
	return b
}

// buildTree creates the same tree in dir in forward or reverse creation
// order (so inode numbers and hardlink creation differ) and stamps every
// path with mtime.
func buildTree(t *testing.T, dir string, reverse bool, mtime time.Time) {
	t.Helper()
	steps := []func(){
		func() { writeFile(t, filepath.Join(dir, "a/b/f1"), "one", 0o644) },
		func() { writeFile(t, filepath.Join(dir, "a-b"), "dash", 0o600) },
		func() { writeFile(t, filepath.Join(dir, "z"), strings.Repeat("zz", 5000), 0o644) },
		func() { writeFile(t, filepath.Join(dir, "su"), "setuid", 0o755|os.ModeSetuid|os.ModeSetgid) },
		func() { must(t, os.Symlink("a/b/f1", filepath.Join(dir, "s"))) },
		func() { must(t, unix.Mkfifo(filepath.Join(dir, "p"), 0o644)) },
		func() {
			must(t, os.MkdirAll(filepath.Join(dir, "dev"), 0o755))
			must(t, unix.Mknod(filepath.Join(dir, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
			must(t, unix.Chmod(filepath.Join(dir, "dev/null"), 0o666))
		},
		func() {
			writeFile(t, filepath.Join(dir, "capbin"), "cap", 0o755)
			must(t, unix.Lsetxattr(filepath.Join(dir, "capbin"), capXattr, capNetBindService(), 0))
			must(t, unix.Lsetxattr(filepath.Join(dir, "capbin"), "user.dropped", []byte("x"), 0))
		},
	}
	links := func() {
		first, second := "h1", "h2"
		if reverse {
			first, second = second, first
		}
		writeFile(t, filepath.Join(dir, first), "linked", 0o644)
		must(t, os.Link(filepath.Join(dir, first), filepath.Join(dir, second)))
	}
	steps = append(steps, links)
	if reverse {
		slices.Reverse(steps)
	}
	for _, s := range steps {
		s()
	}
	must(t, os.Chmod(filepath.Join(dir, "a"), 0o755))
	must(t, os.Chmod(filepath.Join(dir, "a/b"), 0o755|os.ModeSticky))
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	must(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		must(t, err)
		return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
	}))
}

const pinnedDiffID = "sha256:22f49bd22727deeff6389e40b588b0247a8c22dbbc24d83deaef2ffb461bb519"

var pinnedDigests = map[Compression]digest.Digest{
	Gzip:         "sha256:12b203ce7a4c37c7ee1b06ccc1f038808169c2bb73b6b32ddf6c54d8c19e8ec1",
	Zstd:         "sha256:e282f213f1a0bd62a35149d137da88c9506d1fccb08ea1adc897f853b4a05ead",
	Uncompressed: pinnedDiffID,
}

func TestWriteDirDeterministic(t *testing.T) {
	requireRoot(t)
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := t.TempDir(), t.TempDir()
	buildTree(t, a, false, time.Now())
	buildTree(t, b, true, time.Now().Add(time.Hour+123*time.Millisecond))
	for _, c := range []Compression{Gzip, Zstd, Uncompressed} {
		t.Run(string(c), func(t *testing.T) {
			opts := Options{Epoch: epoch, Compression: c}
			var ba, bb bytes.Buffer
			da, err := WriteDir(context.Background(), &ba, a, opts)
			must(t, err)
			db, err := WriteDir(context.Background(), &bb, b, opts)
			must(t, err)
			if da != db || !bytes.Equal(ba.Bytes(), bb.Bytes()) {
				t.Fatalf("not reproducible:\n%+v\n%+v", da, db)
			}
			if c != Uncompressed && (da.Digest == da.DiffID || da.Size >= 10000) {
				t.Errorf("blob does not look compressed: %+v", da)
			}
			// Pinned: a change here (Go's archive/tar, klauspost/compress
			// upgrades) changes the digest of every image kiln builds.
			if da.DiffID != pinnedDiffID || da.Digest != pinnedDigests[c] {
				t.Errorf("digests changed: DiffID %s, Digest %s", da.DiffID, da.Digest)
			}
		})
	}
	var buf bytes.Buffer
	_, err := WriteDir(context.Background(), &buf, a, Options{Epoch: epoch, Compression: Uncompressed})
	must(t, err)
	e := epoch.Unix()
	assertEntries(t, readEntries(t, buf.Bytes()), []entry{
		{Name: "a/", Type: tar.TypeDir, Mode: 0o755, MTime: e},
		{Name: "a/b/", Type: tar.TypeDir, Mode: 0o1755, MTime: e},
		{Name: "a/b/f1", Type: tar.TypeReg, Mode: 0o644, MTime: e, Size: 3},
		{Name: "a-b", Type: tar.TypeReg, Mode: 0o600, MTime: e, Size: 4},
		{Name: "capbin", Type: tar.TypeReg, Mode: 0o755, MTime: e, Size: 3, Cap: string(capNetBindService())},
		{Name: "dev/", Type: tar.TypeDir, Mode: 0o755, MTime: e},
		{Name: "dev/null", Type: tar.TypeChar, Mode: 0o666, MTime: e},
		{Name: "h1", Type: tar.TypeReg, Mode: 0o644, MTime: e, Size: 6},
		{Name: "h2", Type: tar.TypeLink, Mode: 0o644, MTime: e, Link: "h1"},
		{Name: "p", Type: tar.TypeFifo, Mode: 0o644, MTime: e},
		{Name: "s", Type: tar.TypeSymlink, Mode: 0o777, MTime: e, Link: "a/b/f1"},
		{Name: "su", Type: tar.TypeReg, Mode: 0o6755, MTime: e, Size: 6},
		{Name: "z", Type: tar.TypeReg, Mode: 0o644, MTime: e, Size: 10000},
	})
}

func TestEpochClamp(t *testing.T) {
	dir := t.TempDir()
	epoch := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)
	old := time.Date(2005, 5, 5, 5, 5, 5, 987654321, time.UTC)
	writeFile(t, filepath.Join(dir, "old"), "", 0o644)
	writeFile(t, filepath.Join(dir, "new"), "", 0o644)
	must(t, os.Chtimes(filepath.Join(dir, "old"), old, old))
	for _, tc := range []struct {
		epoch         time.Time
		wantOld, want int64
	}{
		{epoch, old.Unix(), epoch.Unix()},                             // older kept (whole seconds), newer clamped
		{time.Time{}, 0, 0},                                           // zero Epoch means Unix 0
		{epoch.Add(500 * time.Millisecond), old.Unix(), epoch.Unix()}, // Epoch truncated too
	} {
		var buf bytes.Buffer
		_, err := WriteDir(context.Background(), &buf, dir, Options{Epoch: tc.epoch, Compression: Uncompressed})
		must(t, err)
		got := readEntries(t, buf.Bytes())
		if len(got) != 2 || got[0].Name != "new" || got[0].MTime != tc.want || got[1].MTime != tc.wantOld {
			t.Errorf("epoch %v: got %+v", tc.epoch, got)
		}
	}
}

func TestWriteDirKeepsDevicesLiterally(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	must(t, unix.Mknod(filepath.Join(dir, "zero"), unix.S_IFCHR, 0))
	var buf bytes.Buffer
	_, err := WriteDir(context.Background(), &buf, dir, Options{Compression: Uncompressed})
	must(t, err)
	if got := readEntries(t, buf.Bytes()); len(got) != 1 || got[0].Name != "zero" || got[0].Type != tar.TypeChar {
		t.Errorf("WriteDir must not translate whiteouts: %+v", got)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f"), "x", 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WriteDir(ctx, &bytes.Buffer{}, dir, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %v", err)
	}
	for _, o := range []Options{{Compression: "lz4"}, {Level: 10}, {Compression: Zstd, Level: 23}} {
		if _, err := WriteDir(context.Background(), &bytes.Buffer{}, dir, o); err == nil {
			t.Errorf("%+v: want error", o)
		}
	}
	writeFile(t, filepath.Join(dir, ".wh.x"), "", 0o644)
	if _, err := WriteDir(context.Background(), &bytes.Buffer{}, dir, Options{}); err == nil || !strings.Contains(err.Error(), ".wh.x") {
		t.Errorf("reserved name: got %v", err)
	}
}

// pgzip output must not depend on how many blocks compress at once, or
// layer digests would differ between machines with different core counts.
func TestGzipIndependentOfConcurrency(t *testing.T) {
	data := bytes.Repeat([]byte("kiln layers are reproducible 0123456789\n"), 200000)
	sums := map[string]bool{}
	for _, blocks := range []int{1, 2, 8} {
		var buf bytes.Buffer
		zw, err := pgzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if err != nil {
			t.Fatal(err)
		}
		zw.Header = pgzip.Header{OS: 255}
		if err := zw.SetConcurrency(gzipBlockSize, blocks); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(data); i += 7919 {
			zw.Write(data[i:min(i+7919, len(data))])
		}
		zw.Close()
		sums[digest.FromBytes(buf.Bytes()).String()] = true
	}
	if len(sums) != 1 {
		t.Fatalf("gzip output depends on concurrency: %v", sums)
	}
}
