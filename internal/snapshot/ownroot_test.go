package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/image"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/store"
)

// containerRoot makes a directory standing for a builder container's root:
// its own files (bin/tool, etc/os) and what a step must not touch (vol, a
// volume; etc/hosts, a bound file), passed as kept paths.
func containerRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write(t, root, "bin/tool", "container")
	write(t, root, "etc/os", "container")
	write(t, root, "etc/hosts", "container hosts")
	write(t, root, "vol/data", "volume")
	must(t, os.Chmod(root, 0o755))
	return root
}

func newOwnRoot(t *testing.T) (*OwnRoot, *store.Store, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("copies keep owners and whiteouts: they need root")
	}
	st, err := store.Open(t.TempDir())
	must(t, err)
	root := containerRoot(t)
	o, err := NewOwnRoot(st, nil, root, []string{filepath.Join(root, "vol"), filepath.Join(root, "etc/hosts")})
	must(t, err)
	t.Cleanup(o.Wait)
	return o, st, root
}

func wantFile(t *testing.T, root, rel, want string) {
	t.Helper()
	if got, ok := read(t, root, rel); !ok || got != want {
		t.Errorf("%s = %q (exists %v), want %q", rel, got, ok, want)
	}
}

func wantNoFile(t *testing.T, root, rel string) {
	t.Helper()
	if _, ok := read(t, root, rel); ok {
		t.Errorf("%s is there", rel)
	}
}

// A step holds the container's root: it sees the image's files and the
// container's kept paths, not the container's own files; the layer holds
// the step's changes and nothing kept; afterwards the root is the
// container's again, as it was.
func TestOwnRootLendsTheRootAndGivesItBack(t *testing.T) {
	o, st, root := newOwnRoot(t)
	ctx := context.Background()
	base := commit(t, o, nil, func(r string) {
		if r != root {
			t.Fatalf("the step's root is %s, not the container's %s", r, root)
		}
		wantNoFile(t, r, "bin/tool")
		wantNoFile(t, r, "etc/os")
		wantFile(t, r, "etc/hosts", "container hosts")
		wantFile(t, r, "vol/data", "volume")
		write(t, r, "etc/os", "image")
		write(t, r, "app/main", "v1")
		write(t, r, "vol/data", "written through the volume")
	})
	// The root stays lent for a next step until the build is over.
	wantNoFile(t, root, "bin/tool")
	wantFile(t, root, "app/main", "v1")
	o.Wait()
	for _, rel := range []string{"bin/tool", "etc/os", "etc/hosts", "vol/data"} {
		want := map[string]string{"bin/tool": "container", "etc/os": "container", "etc/hosts": "container hosts",
			"vol/data": "written through the volume"}[rel]
		wantFile(t, root, rel, want)
	}
	wantNoFile(t, root, "app/main")
	if _, err := os.Stat(filepath.Join(root, heldName)); !os.IsNotExist(err) {
		t.Errorf("the holding directory is left: %v", err)
	}
	entries := layerEntries(t, st, base)
	for _, name := range []string{"etc/os", "app/main"} {
		if entries[name] == nil {
			t.Errorf("the layer lacks %s: %v", name, entries)
		}
	}
	for _, name := range []string{"vol/data", "vol/", "etc/hosts", "bin/tool", heldName + "/"} {
		if entries[name] != nil {
			t.Errorf("the layer holds the container's %s", name)
		}
	}

	// The next step starts from the image, the container's files aside.
	a, err := o.Prepare(ctx, []image.Layer{*base})
	must(t, err)
	wantFile(t, root, "etc/os", "image")
	wantFile(t, root, "app/main", "v1")
	wantNoFile(t, root, "bin/tool")
	must(t, o.Remove(a))
	wantFile(t, root, "bin/tool", "container")
	wantNoFile(t, root, "app/main")
}

// A kiln killed while a step held the root leaves a state file; the next
// lend gives the container's files back first and loses none of them.
func TestOwnRootRecoversFromACrash(t *testing.T) {
	o, _, root := newOwnRoot(t)
	base := commit(t, o, nil, func(r string) { write(t, r, "app/main", "v1") })
	o.Wait()
	crashed, err := newHostRoot(root, []string{filepath.Join(root, "vol"), filepath.Join(root, "etc/hosts")})
	must(t, err)
	must(t, crashed.lend())
	write(t, root, "app/half-written", "x")
	crashed.unlock() // killed: no giveBack
	wantNoFile(t, root, "bin/tool")

	a, err := o.Prepare(context.Background(), []image.Layer{*base})
	must(t, err)
	wantNoFile(t, root, "app/half-written")
	wantFile(t, root, "app/main", "v1")
	l, err := o.Commit(context.Background(), a, layer.Options{Epoch: time.Unix(0, 0)})
	must(t, err)
	if l == nil {
		t.Fatal("no layer")
	}
	o.Wait()
	wantFile(t, root, "bin/tool", "container")
	wantFile(t, root, "etc/os", "container")
	wantFile(t, root, "vol/data", "volume")
	wantNoFile(t, root, "app/main")
}

// An image that would replace a directory holding a kept path is refused,
// and the root is given back whole.
func TestOwnRootRefusesToReplaceAboveAMount(t *testing.T) {
	o, st, root := newOwnRoot(t)
	c := NewCopy(st, nil)
	l0 := commit(t, c, nil, func(r string) { write(t, r, "etc/passwd", "root:x:0:0::/:/bin/sh\n") })
	l1 := commit(t, c, []image.Layer{*l0}, func(r string) { must(t, os.RemoveAll(filepath.Join(r, "etc"))) })
	// l1 holds the whiteout of etc, where etc/hosts is kept.
	if _, err := o.Prepare(context.Background(), []image.Layer{*l0, *l1}); err == nil {
		t.Fatal("an image removing etc over a bound etc/hosts was copied in")
	}
	wantFile(t, root, "bin/tool", "container")
	wantFile(t, root, "etc/hosts", "container hosts")
	wantFile(t, root, "etc/os", "container")
}

// mark tags the file rel with an xattr no copy keeps (a layer carries
// only security.capability), and marked says whether it still has it.
func mark(t *testing.T, root, rel string) {
	t.Helper()
	must(t, unix.Lsetxattr(filepath.Join(root, rel), "user.kiln-test", []byte("1"), 0))
}

func marked(t *testing.T, root, rel string) bool {
	t.Helper()
	_, err := unix.Lgetxattr(filepath.Join(root, rel), "user.kiln-test", make([]byte, 8))
	return err == nil
}

// A committed step leaves the root lent with its result: the next step of
// the chain starts there without a copy (the same files, not copies of
// them), with the targets of emulated mounts put back as the layers have
// them; a step of another chain gets the root given back and copied
// afresh; Wait gives it back.
func TestOwnRootKeepsTheRootForTheNextStep(t *testing.T) {
	o, st, root := newOwnRoot(t)
	ctx := context.Background()
	base := commit(t, o, nil, func(r string) {
		write(t, r, "app/conf", "base")
		write(t, r, "cache/seed", "the image's")
	})
	mark(t, root, "app/conf")

	a, err := o.Prepare(ctx, []image.Layer{*base})
	must(t, err)
	if !marked(t, root, "app/conf") {
		t.Errorf("the next step's app/conf is a copy")
	}
	wantNoFile(t, root, "bin/tool")
	// What the executor does for RUN --mount=type=cache,target=/cache and
	// a secret under /run, which the image lacks.
	must(t, os.RemoveAll(filepath.Join(root, "cache")))
	write(t, root, "cache/m", "the mount's")
	write(t, root, "run/secrets/tok", "secret")
	a.Hide("cache")
	a.Hide("run")
	write(t, root, "app/new", "2")
	l2, err := o.Commit(ctx, a, layer.Options{Epoch: time.Unix(0, 0)})
	must(t, err)
	wantFile(t, root, "cache/seed", "the image's")
	wantNoFile(t, root, "cache/m")
	if _, err := os.Lstat(filepath.Join(root, "run")); !os.IsNotExist(err) {
		t.Errorf("the secret's mount point is left: %v", err)
	}
	entries := layerEntries(t, st, l2)
	if entries["app/new"] == nil || entries["cache/"] != nil || entries["cache/m"] != nil || entries["run/"] != nil {
		t.Errorf("layer 2 holds %v", entries)
	}

	a, err = o.Prepare(ctx, []image.Layer{*base, *l2})
	must(t, err)
	if !marked(t, root, "app/conf") {
		t.Errorf("the third step's app/conf is a copy")
	}
	wantFile(t, root, "app/new", "2")
	write(t, root, "app/third", "3")
	l3, err := o.Commit(ctx, a, layer.Options{Epoch: time.Unix(0, 0)})
	must(t, err)

	// Another chain: the root is given back and the base copied in again.
	a, err = o.Prepare(ctx, []image.Layer{*base})
	must(t, err)
	if marked(t, root, "app/conf") {
		t.Errorf("a step of another chain got the resident root")
	}
	wantNoFile(t, root, "app/new")
	wantNoFile(t, root, "app/third")
	must(t, o.Remove(a))
	wantFile(t, root, "bin/tool", "container")

	// A resident root is given back at the end of the build.
	a, err = o.Prepare(ctx, []image.Layer{*base, *l2, *l3})
	must(t, err)
	wantFile(t, root, "app/third", "3")
	_, err = o.Commit(ctx, a, layer.Options{Epoch: time.Unix(0, 0)})
	must(t, err)
	wantNoFile(t, root, "bin/tool")
	o.Wait()
	wantFile(t, root, "bin/tool", "container")
	wantFile(t, root, "etc/os", "container")
	wantNoFile(t, root, "app/conf")
	if _, err := os.Stat(filepath.Join(root, heldName)); !os.IsNotExist(err) {
		t.Errorf("the holding directory is left: %v", err)
	}
}
