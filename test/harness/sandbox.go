package harness

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/sandboxspec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Security is what a CI system or Kubernetes gives a container
// (sandboxspec.Security).
type Security = sandboxspec.Security

// SandboxIDBase is the first host id of a sandbox's user namespace.
const SandboxIDBase = sandboxspec.IDBase

// DockerDefaultCaps is Docker's (and containerd's) default capability set.
var DockerDefaultCaps = sandboxspec.DockerDefaultCaps

// Sandbox is a root filesystem (kiln's image) run under runc with one
// Security, as a container runtime would run it.
type Sandbox struct {
	Sec     Security
	Dir     string        // every host directory the container sees lives here
	Timeout time.Duration // of one Run (0: the package's Timeout)
	rootfs  string
	mounts  []specs.Mount
	runc    string // runc's --root, private to the sandbox
	n       int
}

// NewSandbox copies rootfs (an exported image) into a bundle of t. In a
// user namespace its owners are shifted by SandboxIDBase, as a runtime
// does for hostUsers: false.
func NewSandbox(t testing.TB, rootfs string, sec Security) *Sandbox {
	t.Helper()
	Require(t, "runc", "cp")
	s := &Sandbox{Sec: sec, Dir: reachableTempDir(t)}
	s.rootfs = filepath.Join(s.Dir, "rootfs")
	if out, err := exec.Command("cp", "-a", rootfs, s.rootfs).CombinedOutput(); err != nil {
		t.Fatalf("copying the image's rootfs: %v\n%s", err, out)
	}
	s.shift(t, s.rootfs)
	s.runc = filepath.Join(s.Dir, "runc")
	MkdirAll(t, s.runc)
	return s
}

// Volume makes Dir/name, writable by the container's root, and mounts it
// at dest (an emptyDir).
func (s *Sandbox) Volume(t testing.TB, name, dest string) string {
	t.Helper()
	p := filepath.Join(s.Dir, name)
	MkdirAll(t, p)
	s.shift(t, p)
	s.mounts = append(s.mounts, specs.Mount{Destination: dest, Type: "bind", Source: p, Options: []string{"rbind", "rw"}})
	return p
}

// CopyIn copies src to Dir/name, owned by the container's root, and mounts
// it read-only at dest.
func (s *Sandbox) CopyIn(t testing.TB, src, name, dest string) {
	t.Helper()
	p := filepath.Join(s.Dir, name)
	if out, err := exec.Command("cp", "-a", src, p).CombinedOutput(); err != nil {
		t.Fatalf("copying %s into the sandbox: %v\n%s", src, err, out)
	}
	s.shift(t, p)
	s.mounts = append(s.mounts, specs.Mount{Destination: dest, Type: "bind", Source: p, Options: []string{"rbind", "ro"}})
}

// shift moves the owners of p's tree into the user namespace's range.
func (s *Sandbox) shift(t testing.TB, p string) {
	t.Helper()
	if !s.Sec.UserNS {
		return
	}
	err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		uid, gid := owner(fi)
		if uid >= SandboxIDBase {
			return nil
		}
		mode := fi.Mode()
		if err := os.Lchown(path, SandboxIDBase+uid, SandboxIDBase+gid); err != nil {
			return err
		}
		if mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 && mode&fs.ModeSymlink == 0 {
			return os.Chmod(path, mode) // chown cleared them
		}
		return nil
	})
	if err != nil {
		t.Fatalf("shifting owners of %s: %v", p, err)
	}
}

// Run runs script with /bin/sh in a new container and returns its output.
func (s *Sandbox) Run(t testing.TB, script string) Result {
	t.Helper()
	s.n++
	bundle := filepath.Join(s.Dir, fmt.Sprintf("bundle%d", s.n))
	MkdirAll(t, bundle)
	spec, err := s.spec(script)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, filepath.Join(bundle, "config.json"), string(data), 0o644)
	id := fmt.Sprintf("kiln-sandbox-%d-%d", os.Getpid(), s.n)
	cmd := exec.Command("runc", "--root", s.runc, "run", "--bundle", bundle, id)
	t.Cleanup(func() { _ = exec.Command("runc", "--root", s.runc, "delete", "--force", id).Run() })
	return runKilnFor(t, cmd, "runc "+s.Sec.String(), s.Timeout)
}

func (s *Sandbox) spec(script string) (*specs.Spec, error) {
	return sandboxspec.Spec(s.Sec, s.rootfs, []string{"/bin/sh", "-ec", script}, s.mounts)
}

func owner(fi fs.FileInfo) (uid, gid int) {
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}
