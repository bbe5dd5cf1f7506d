package harness

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// User is a plain user a test created, with subordinate uid and gid ranges
// in /etc/subuid and /etc/subgid, for running kiln without privileges. Its
// Dir is readable by it: its kiln binary, its store and what the test
// copies there.
type User struct {
	Name     string
	UID, GID int
	Dir      string // owned by root, 0755; Own makes subdirectories the user's
	Data     string // $XDG_DATA_HOME: the store is Data/kiln, kiln's default
	kiln     string
}

// NewUser creates a user for t (removed with its files when t ends) and
// gives it 65536 subordinate uids and gids. It skips t unless root with
// useradd and newuidmap (Debian's passwd and uidmap).
func NewUser(t testing.TB) *User {
	t.Helper()
	Require(t, "useradd", "userdel", "usermod", "newuidmap", "newgidmap")
	u := &User{Name: fmt.Sprintf("kilnrl%d", os.Getpid()%1000000)}
	if out, err := exec.Command("useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", u.Name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", u.Name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", u.Name, err, out)
		}
	})
	if !hasSubIDs("/etc/subuid", u.Name) || !hasSubIDs("/etc/subgid", u.Name) {
		start := freeSubIDStart(t)
		r := fmt.Sprintf("%d-%d", start, start+65535)
		if out, err := exec.Command("usermod", "--add-subuids", r, "--add-subgids", r, u.Name).CombinedOutput(); err != nil {
			t.Fatalf("usermod --add-subuids: %v\n%s", err, out)
		}
	}
	pw, err := user.Lookup(u.Name)
	if err != nil {
		t.Fatal(err)
	}
	u.UID, _ = strconv.Atoi(pw.Uid)
	u.GID, _ = strconv.Atoi(pw.Gid)

	u.Dir = reachableTempDir(t)
	u.Data = u.Own(t, "data")
	u.kiln = filepath.Join(u.Dir, "kiln")
	data, err := os.ReadFile(Kiln(t))
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, u.kiln, string(data), 0o755)
	return u
}

// reachableTempDir makes a directory every user can reach, removed when t
// ends (files the user's kiln wrote there are owned by its subordinate ids).
func reachableTempDir(t testing.TB) string {
	t.Helper()
	base := os.TempDir()
	for p := base; p != "/"; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o001 == 0 {
			base = "/tmp" // a private TMPDIR: its parents shut the user out
			break
		}
	}
	d, err := os.MkdirTemp(base, "kiln-user-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(d); err != nil {
			t.Errorf("removing %s: %v", d, err)
		}
	})
	return d
}

// Own makes Dir/name (and its parents) owned by the user and returns it.
func (u *User) Own(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(u.Dir, name)
	MkdirAll(t, p)
	u.chown(t, p)
	return p
}

// CopyIn copies the tree src to Dir/name, owned by the user, and returns it.
func (u *User) CopyIn(t testing.TB, src, name string) string {
	t.Helper()
	dst := filepath.Join(u.Dir, name)
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("copying %s: %v\n%s", src, err, out)
	}
	u.chown(t, dst)
	return dst
}

func (u *User) chown(t testing.TB, p string) {
	t.Helper()
	err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.Lchown(path, u.UID, u.GID); err != nil {
			return err
		}
		// chown clears a file's setuid and setgid bits: put them back, so
		// the user's copy of a context keeps its modes.
		if special := fi.Mode() & (fs.ModeSetuid | fs.ModeSetgid); special != 0 && fi.Mode().IsRegular() {
			return os.Chmod(path, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// AddBases copies the bases' blobs, names and cache records (not their
// unpacked layers, which carry root's owners) into the user's default
// store: its kiln unpacks the layers itself.
func (u *User) AddBases(t testing.TB, bases ...*Base) {
	t.Helper()
	CopyBases(t, filepath.Join(u.Data, "kiln"), u.UID, u.GID, bases...)
}

// CopyBases copies the bases' blobs, names and cache records, not their
// unpacked layers, into the store, owned by uid:gid: a kiln whose ids are
// mapped differently from the template's unpacks the layers itself.
func CopyBases(t testing.TB, store string, uid, gid int, bases ...*Base) {
	t.Helper()
	for _, b := range bases {
		b.ensure(t)
		err := filepath.WalkDir(b.store, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(b.store, p)
			if rel == "l" {
				return filepath.SkipDir
			}
			dst := filepath.Join(store, rel)
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if d.IsDir() {
				err = os.MkdirAll(dst, 0o700)
			} else if _, serr := os.Lstat(dst); errors.Is(serr, fs.ErrNotExist) {
				err = copyFile(p, dst, fi)
			}
			if err != nil {
				return err
			}
			return os.Lchown(dst, uid, gid)
		})
		if err != nil {
			t.Fatalf("copying %s into %s: %v", b.Name, store, err)
		}
	}
}

// Run runs the user's kiln with args, as the user, on its default store.
func (u *User) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return u.RunEnv(t, nil, args...)
}

// RunEnv is Run with env (KEY=VALUE) added to the user's environment.
func (u *User) RunEnv(t testing.TB, env []string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(u.kiln, args...)
	cmd.Dir = u.Dir
	cmd.Env = append(Environ("HOME="+u.Dir, "USER="+u.Name, "LOGNAME="+u.Name, "XDG_DATA_HOME="+u.Data,
		"XDG_CONFIG_HOME="+filepath.Join(u.Dir, "config"), "XDG_RUNTIME_DIR=", "TMPDIR="), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}}}
	return runKiln(t, cmd, "kiln as "+u.Name)
}

// Build runs spec as the user (its context must be readable by the user:
// see CopyIn) and returns the result and the OCI tar's path.
func (u *User) Build(t testing.TB, name string, spec BuildSpec) (Result, string) {
	t.Helper()
	dir := u.Own(t, filepath.Join("builds", name))
	df := filepath.Join(dir, "Dockerfile")
	WriteFile(t, df, spec.Dockerfile, 0o644)
	tar := filepath.Join(dir, "image.tar")
	args := []string{"build", "--progress", "plain", "-f", df, "-o", "type=oci,dest=" + tar}
	if spec.Tag != "" {
		args = append(args, "-t", spec.Tag)
	}
	if spec.Target != "" {
		args = append(args, "--target", spec.Target)
	}
	args = append(append(args, spec.Args...), spec.Context)
	if len(spec.Env) > 0 {
		t.Fatal("harness: User.Build takes no Env")
	}
	return u.Run(t, args...), tar
}

// hasSubIDs reports whether file grants name a range.
func hasSubIDs(file, name string) bool {
	data, _ := os.ReadFile(file)
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, name+":") {
			return true
		}
	}
	return false
}

// freeSubIDStart is past every range /etc/subuid and /etc/subgid grant.
func freeSubIDStart(t testing.TB) int {
	t.Helper()
	end := 100000
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		data, _ := os.ReadFile(f)
		for _, l := range strings.Split(string(data), "\n") {
			parts := strings.Split(l, ":")
			if len(parts) != 3 {
				continue
			}
			start, err1 := strconv.Atoi(parts[1])
			count, err2 := strconv.Atoi(parts[2])
			if err1 == nil && err2 == nil && start+count > end {
				end = start + count
			}
		}
	}
	return end
}
