package instr

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
)

// resolveChown turns COPY --chown's user[:group] into ids, reading names from
// the destination rootfs as BuildKit does: a user given by name brings its
// primary group, a user given by id brings the same number as group, and
// no user (":group") is root.
func resolveChown(rootfs, spec string) (uid, gid int, err error) {
	u, g, hasGroup := strings.Cut(spec, ":")
	if uid, err = strconv.Atoi(u); err == nil {
		gid = uid
	} else if u != "" {
		pw, err := lookupPasswd(rootfs, u)
		if err != nil {
			return 0, 0, err
		}
		uid, gid = pw.Uid, pw.Gid
	}
	if !hasGroup {
		return uid, gid, nil
	}
	if gid, err = strconv.Atoi(g); err == nil {
		return uid, gid, nil
	}
	gr, err := lookupGroup(rootfs, g)
	if err != nil {
		return 0, 0, err
	}
	return uid, gr.Gid, nil
}

func lookupPasswd(rootfs, name string) (user.User, error) {
	f, err := openInRoot(rootfs, "/etc/passwd")
	if err != nil {
		return user.User{}, fmt.Errorf("resolving user %q: %w", name, err)
	}
	defer f.Close()
	users, err := user.ParsePasswdFilter(f, func(u user.User) bool { return u.Name == name })
	if err != nil || len(users) == 0 {
		return user.User{}, fmt.Errorf("unable to find user %s: no matching entries in passwd file", name)
	}
	return users[0], nil
}

func lookupGroup(rootfs, name string) (user.Group, error) {
	f, err := openInRoot(rootfs, "/etc/group")
	if err != nil {
		return user.Group{}, fmt.Errorf("resolving group %q: %w", name, err)
	}
	defer f.Close()
	groups, err := user.ParseGroupFilter(f, func(g user.Group) bool { return g.Name == name })
	if err != nil || len(groups) == 0 {
		return user.Group{}, fmt.Errorf("unable to find group %s: no matching entries in group file", name)
	}
	return groups[0], nil
}

// openInRoot opens a file of an image's rootfs without following any
// symlink out of it.
func openInRoot(rootfs, p string) (*os.File, error) {
	full, err := securejoin.SecureJoin(rootfs, p)
	if err != nil {
		return nil, err
	}
	return os.Open(full)
}
