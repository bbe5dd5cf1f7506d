package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Base is a base image the harness makes once per test binary from this
// machine's files and shares read-only: as the root filesystem it was
// imported from, a template store holding it (which NewStore clones), an
// OCI tar and an OCI layout (for other builders and registries).
type Base struct {
	Name string // its name in a store, e.g. "busybox:test"
	slug string // its directory under the work directory

	// need says what the machine lacks to make it ("" when nothing).
	need func(t testing.TB) string
	// make imports it into the template store st (under dir) and returns
	// its manifest (or index) digest.
	make func(t testing.TB, b *Base, dir string, st Opts) string

	once   sync.Once
	skip   string // why it cannot be made here
	err    string // set while making it; "" once made
	rootfs string // the root filesystem imported ("" for an index)
	store  string // the template store
	digest string // what Name points at
	extra  any    // what a maker keeps for its users (Node: npm integrity)

	ociOnce sync.Once
	ociErr  string
	ociTar  string
	layout  string
}

func (b *Base) String() string { return b.Name }

// ensure makes b once, or skips or fails t as the first attempt did.
func (b *Base) ensure(t testing.TB) {
	t.Helper()
	Require(t)
	Kiln(t)
	b.once.Do(func() {
		if b.need != nil {
			if b.skip = b.need(t); b.skip != "" {
				return
			}
		}
		b.err = fmt.Sprintf("making the base image %s failed (see the first test that asked for it)", b.Name)
		dir := filepath.Join(workDir(t), "bases", b.slug)
		b.store = filepath.Join(dir, "store")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b.digest = b.make(t, b, dir, Opts{Root: b.store})
		warm(t, b)
		if err := recordTemplate(b); err != nil {
			t.Fatal(err)
		}
		b.err = ""
	})
	if b.skip != "" {
		t.Skip(b.skip)
	}
	if b.err != "" {
		t.Fatal(b.err)
	}
}

// warm unpacks the image's layer in the template (kiln unpacks a layer on
// first use), so that no store cloned from it unpacks it again. It is only
// a saving: a failure is reported, and each store unpacks for itself.
func warm(t testing.TB, b *Base) {
	if b.rootfs == "" {
		return // an index: its foreign platform cannot run without emulation
	}
	if r := Run(t, Opts{Root: b.store}, "run", "--rm", "--network", "none", b.Name, "/bin/true"); r.Code != 0 {
		fmt.Fprintf(os.Stderr, "harness: unpacking %s in its template failed; each store unpacks it:\n%s\n", b.Name, r)
	}
}

// importRootfs imports dir into the store as name and returns the digest.
func importRootfs(t testing.TB, st Opts, dir, name string, flags ...string) string {
	t.Helper()
	r := MustRun(t, st, append([]string{"import", dir, "-t", name}, flags...)...)
	return strings.TrimSpace(r.Stdout)
}

// Rootfs returns the root filesystem directory b was imported from (kiln
// import of it into any store gives b's digest). It is shared: never write
// to it. It fails t for an image index, which has no single one.
func (b *Base) Rootfs(t testing.TB) string {
	t.Helper()
	b.ensure(t)
	if b.rootfs == "" {
		t.Fatalf("%s is an image index: it has no single root filesystem", b.Name)
	}
	return b.rootfs
}

// Digest returns the manifest (or index) digest b has in every store.
func (b *Base) Digest(t testing.TB) string {
	t.Helper()
	b.ensure(t)
	return b.digest
}

// OCITar returns an OCI image layout tar of b, its index.json naming it
// Name (as `kiln save` writes it). It is shared: never write to it.
func (b *Base) OCITar(t testing.TB) string {
	t.Helper()
	b.ensureOCI(t)
	return b.ociTar
}

// OCILayout returns b as an OCI image layout directory (the OCITar
// extracted), for `oci-layout://` contexts, skopeo's `oci:` and BuildKit.
// It is shared: never write to it.
func (b *Base) OCILayout(t testing.TB) string {
	t.Helper()
	b.ensureOCI(t)
	return b.layout
}

func (b *Base) ensureOCI(t testing.TB) {
	t.Helper()
	b.ensure(t)
	b.ociOnce.Do(func() {
		b.ociErr = fmt.Sprintf("saving %s as an OCI tar failed (see the first test that asked for it)", b.Name)
		dir := filepath.Dir(b.store)
		tar := filepath.Join(dir, "image.tar")
		// A clone, so the template itself is never opened by a command.
		tmp := filepath.Join(dir, "save-store")
		if err := cloneStore(b.store, tmp); err != nil {
			t.Fatal(err)
		}
		MustRun(t, Opts{Root: tmp}, "save", "-o", tar, b.Name)
		if err := removeAll(tmp); err != nil {
			t.Fatal(err)
		}
		layout := filepath.Join(dir, "layout")
		if err := os.Mkdir(layout, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("tar", "-xf", tar, "-C", layout).CombinedOutput(); err != nil {
			t.Fatalf("extracting %s: %v\n%s", tar, err, out)
		}
		b.ociTar, b.layout, b.ociErr = tar, layout, ""
	})
	if b.ociErr != "" {
		t.Fatal(b.ociErr)
	}
}
