package executor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
)

// maxUserFileBytes bounds how much of an image's passwd/group file is read.
const maxUserFileBytes = 10 << 20

// ResolveUser turns a Dockerfile USER value into ids, as BuildKit does: a
// numeric "uid:gid" needs no files; anything else is looked up in the
// rootfs's /etc/passwd and /etc/group (runc's rules: a bare numeric uid not
// in passwd gets gid 0; supplementary groups come from group membership when
// no group is given). An empty user is root, even without a passwd file.
func ResolveUser(rootfs, usr string) (uid, gid uint32, extraGids []uint32, err error) {
	spec := usr
	if spec == "" {
		spec = "0"
	}
	if u, g, ok := numericUIDGID(spec); ok {
		return u, g, nil, nil
	}
	passwd, closePasswd, err := openUserFile(rootfs, "/etc/passwd")
	if err != nil {
		return 0, 0, nil, err
	}
	defer closePasswd()
	group, closeGroup, err := openUserFile(rootfs, "/etc/group")
	if err != nil {
		return 0, 0, nil, err
	}
	defer closeGroup()

	eu, err := user.GetExecUser(spec, nil, passwd, group)
	if err != nil {
		if usr == "" {
			return 0, 0, nil, nil
		}
		return 0, 0, nil, fmt.Errorf("resolving user %q: %w", usr, err)
	}
	for _, g := range eu.Sgids {
		extraGids = append(extraGids, uint32(g))
	}
	return uint32(eu.Uid), uint32(eu.Gid), extraGids, nil
}

func numericUIDGID(spec string) (uint32, uint32, bool) {
	u, g, ok := strings.Cut(spec, ":")
	if !ok {
		return 0, 0, false
	}
	uid, err1 := strconv.ParseUint(u, 10, 31)
	gid, err2 := strconv.ParseUint(g, 10, 31)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uint32(uid), uint32(gid), true
}

// openUserFile opens name inside rootfs without following symlinks out of
// it. A missing file gives a nil reader, which GetExecUser accepts.
func openUserFile(rootfs, name string) (io.Reader, func(), error) {
	p, err := securejoin.SecureJoin(rootfs, name)
	if err != nil {
		return nil, func() {}, fmt.Errorf("resolving %s in rootfs: %w", name, err)
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, func() {}, nil
	}
	if err != nil {
		return nil, func() {}, fmt.Errorf("opening %s: %w", name, err)
	}
	return io.LimitReader(f, maxUserFileBytes), func() { f.Close() }, nil
}

// makeCwd creates the working directory if it is missing, owned by the user,
// as BuildKit does; it stays in the layer like a WORKDIR would.
func makeCwd(rootfs, cwd string, uid, gid int) error {
	p, err := securejoin.SecureJoin(rootfs, cwd)
	if err != nil {
		return fmt.Errorf("resolving working dir %s: %w", cwd, err)
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := user.MkdirAllAndChown(p, 0o755, uid, gid); err != nil {
		return fmt.Errorf("creating working dir %s: %w", cwd, err)
	}
	return nil
}

// withHome adds HOME when env lacks it, as runc's init does: the home of
// uid's entry in the rootfs's /etc/passwd, else "/". Container mode runs
// RUN without runc, so it does the same itself.
func withHome(env []string, rootfs string, uid uint32) ([]string, error) {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env, nil
		}
	}
	home := "/"
	passwd, closePasswd, err := openUserFile(rootfs, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	defer closePasswd()
	if passwd != nil {
		users, err := user.ParsePasswdFilter(io.LimitReader(passwd, maxUserFileBytes), func(u user.User) bool { return u.Uid == int(uid) })
		if err == nil && len(users) > 0 && users[0].Home != "" {
			home = users[0].Home
		}
	}
	return append(append([]string(nil), env...), "HOME="+home), nil
}
