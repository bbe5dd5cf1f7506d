package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/procinfo"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBlobsAreContentAddressed(t *testing.T) {
	s := open(t)
	d, err := s.PutBlob([]byte("hello"))
	if err != nil || d != digest.FromString("hello") {
		t.Fatalf("PutBlob = %s, %v", d, err)
	}
	d2, n, err := s.WriteBlob(func(w io.Writer) error { _, err := io.WriteString(w, "streamed"); return err })
	if err != nil || d2 != digest.FromString("streamed") || n != 8 {
		t.Fatalf("WriteBlob = %s %d %v", d2, n, err)
	}
	if got, _ := s.ReadBlob(d2); string(got) != "streamed" {
		t.Fatalf("ReadBlob = %q", got)
	}
	// A failed write leaves nothing under any name.
	_, _, err = s.WriteBlob(func(w io.Writer) error { io.WriteString(w, "half"); return io.ErrUnexpectedEOF })
	if err == nil || s.HasBlob(digest.FromString("half")) {
		t.Fatal("a failed write was stored")
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(entries) != 0 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestRefsNormalizeNames(t *testing.T) {
	s := open(t)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 1}
	if err := s.Tag("app", desc); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"app", "app:latest", "docker.io/library/app:latest", "index.docker.io/library/app"} {
		r, err := s.Lookup(n)
		if err != nil || r.Descriptor.Digest != desc.Digest {
			t.Fatalf("Lookup(%s) = %v, %v", n, r, err)
		}
	}
	if FamiliarName("index.docker.io/library/app:latest") != "app:latest" || FullName("index.docker.io/library/app:1") != "docker.io/library/app:1" {
		t.Fatal("name forms are wrong")
	}
	if err := s.Untag("app"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("app"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("after Untag: %v", err)
	}
}

// Leftovers of a dead process are removed when the store is opened.
func TestOpenCleansDeadProcessesLeftovers(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(root, "tmp", "999999999-step-1")
	live, err := s.TempDir("step")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dead, "upper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatal("a dead process's temporary directory survived")
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatal("this process's temporary directory was removed")
	}
}

func TestPruneKeepsWhatImagesAndCacheNeed(t *testing.T) {
	s := open(t)
	kept, _ := s.PutBlob([]byte("image blob"))
	cached, _ := s.PutBlob([]byte("cached layer"))
	garbage, _ := s.PutBlob([]byte("garbage"))
	rec := `{"layer":{"digest":"` + cached.String() + `","diffID":"` + cached.String() + `"}}`
	if err := s.PutCache(digest.FromString("k"), []byte(rec)); err != nil {
		t.Fatal(err)
	}
	reach := func() (map[digest.Digest]bool, error) { return map[digest.Digest]bool{kept: true}, nil }
	if _, err := s.Prune(PruneOptions{Until: 1 << 62}, reach); err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(kept) || !s.HasBlob(cached) || s.HasBlob(garbage) {
		t.Fatal("prune (keeping recent cache) removed the wrong blobs")
	}
	if _, err := s.Prune(PruneOptions{}, reach); err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(kept) || s.HasBlob(cached) {
		t.Fatal("prune (all cache) kept a cache-only blob or dropped an image blob")
	}
}

// TestPruneFailureDeletesNothing: prune computes everything before it
// deletes, so a store it cannot read (reachable fails) loses no record.
func TestPruneFailureDeletesNothing(t *testing.T) {
	s := open(t)
	layer, _ := s.PutBlob([]byte("cached layer"))
	rec := `{"layer":{"digest":"` + layer.String() + `","diffID":"` + layer.String() + `"}}`
	for _, k := range []string{"a", "b", "c"} {
		if err := s.PutCache(digest.FromString(k), []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	broken := func() (map[digest.Digest]bool, error) { return nil, errors.New("decoding index: unexpected EOF") }
	if _, err := s.Prune(PruneOptions{}, broken); err == nil {
		t.Fatal("prune succeeded on a store it cannot read")
	}
	keys, err := s.CacheKeys()
	if err != nil || len(keys) != 3 || !s.HasBlob(layer) {
		t.Fatalf("a failed prune left %d of 3 records (%v), layer blob present: %v", len(keys), err, s.HasBlob(layer))
	}
}

// TestPruneKeepStorage: with --keep-storage, prune removes the oldest
// records only until what their layers free brings the store under the
// limit (it used to remove every record: removing one frees nothing until
// the sweep).
func TestPruneKeepStorage(t *testing.T) {
	s := open(t)
	var keys []digest.Digest
	for i, n := range []int{1000, 1000, 1000} {
		b, _ := s.PutBlob(bytes.Repeat([]byte{byte('a' + i)}, n))
		k := digest.FromString(strconv.Itoa(i))
		rec := `{"layer":{"digest":"` + b.String() + `","diffID":"` + b.String() + `"}}`
		if err := s.PutCache(k, []byte(rec)); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(time.Duration(i-10) * time.Hour) // 0 is the oldest
		if err := os.Chtimes(filepath.Join(s.Root(), "cache", k.Encoded()), old, old); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	none := func() (map[digest.Digest]bool, error) { return map[digest.Digest]bool{}, nil }
	r, err := s.Prune(PruneOptions{KeepStorage: 2000}, none)
	if err != nil {
		t.Fatal(err)
	}
	left, _ := s.CacheKeys()
	if r.CacheEntries != 1 || len(left) != 2 || r.Blobs != 1 {
		t.Fatalf("prune --keep-storage 2000 of 3000 bytes removed %d records and %d blobs, left %v", r.CacheEntries, r.Blobs, left)
	}
	for _, k := range left {
		if k == keys[0] {
			t.Fatal("prune kept the oldest record")
		}
	}
}

// Temp names carry the owner's start time, so a leftover whose pid now
// belongs to another process is still recognised as dead; names of older
// kilns ("<pid>-…") are judged by pid alone.
func TestOwnerAlive(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	start := procinfo.SelfStartTime()
	if start == "" {
		t.Skip("no /proc start time")
	}
	if p := OwnerPrefix(); p != pid+"."+start+"-" {
		t.Fatalf("OwnerPrefix = %q", p)
	}
	// A live pid that is not this process: its start time is not ours.
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	oPid := strconv.Itoa(other.Process.Pid)
	oStart, err := procinfo.StartTime(other.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// Start times no process has had yet (ticks since boot, far ahead), so
	// they cannot match the sleep started just after this test.
	wrong := strconv.FormatUint(mustUint(t, start)+1_000_000, 10)
	oWrong := strconv.FormatUint(mustUint(t, oStart)+1_000_000, 10)
	for name, want := range map[string]bool{
		pid + "." + start + "-step-123":  true,
		pid + "." + start + "-":          true,
		pid + "." + wrong + "-step-123":  false, // the pid was reused
		pid + ".0-b-1":                   false,
		oPid + "." + oStart + "-step-1":  true,
		oPid + "." + oWrong + "-step-1":  false,
		"999999999." + start + "-step-1": false,
		"999999999-step-1":               false,
		pid + "-step-123":                true, // old form
		oPid + "-w-1":                    true,
		pid + ".x-step-1":                false,
		pid + ".-step-1":                 false,
		pid:                              false,
		"step-1":                         false,
		"0-step-1":                       false,
		".out.tar.tmp-" + pid + "-1":     false,
	} {
		if got := OwnerAlive(name); got != want {
			t.Errorf("OwnerAlive(%q) = %v, want %v", name, got, want)
		}
	}
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Open removes leftovers whose pid is live but started later than the
// owner recorded in the name, and keeps this process's entries.
func TestOpenCleansLeftoversOfReusedPids(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.TempDir("step")
	if err != nil {
		t.Fatal(err)
	}
	mnt, err := s.MountDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{live, mnt} {
		if !strings.HasPrefix(filepath.Base(p), OwnerPrefix()) {
			t.Fatalf("%s does not start with %s", p, OwnerPrefix())
		}
	}
	start := mustUint(t, procinfo.SelfStartTime())
	reused := []string{
		filepath.Join(root, "tmp", fmt.Sprintf("%d.%d-step-1", os.Getpid(), start+1)),
		filepath.Join(root, "mnt", fmt.Sprintf("%d.%d-2", os.Getpid(), start+1)),
	}
	for _, p := range reused {
		if err := os.MkdirAll(filepath.Join(p, "upper"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	for _, p := range reused {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived", p)
		}
	}
	for _, p := range []string{live, mnt} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("this process's %s was removed", p)
		}
	}
}

// kiln du counts a file with several hard links once, as du does: layers
// share inodes with each other and with their templates.
func TestDiskUsageCountsHardlinksOnce(t *testing.T) {
	s := open(t)
	dir := filepath.Join(s.Root(), "l", "0123456789abcdef")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("x"), 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 9 {
		if err := os.Link(filepath.Join(dir, "big"), filepath.Join(dir, "link"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	if u.Layers != 1<<20 {
		t.Fatalf("layers take %d bytes, want %d (one file, ten links)", u.Layers, 1<<20)
	}
}
