package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/isolation"
)

func newInfoCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Show the isolation mode kiln would use here and why, the store, config, runtime and kernel features",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.decideIsolation()
			if c.Config == nil || c.Facts.Store == "" && err != nil {
				return err // the config or the store's filesystem could not be read
			}
			w := cmd.OutOrStdout()
			printIsolation(w, c, err)
			printHost(w, c)
			var ie *isolation.Error
			if errors.As(err, &ie) {
				return exitCode{err, 1}
			}
			return err
		},
	}
}

func printIsolation(w io.Writer, c isolationChoice, err error) {
	if err != nil {
		fmt.Fprintf(w, "isolation: none: %v\n", err)
	} else {
		fmt.Fprintf(w, "isolation: %s\n", c.Mode)
		for _, why := range c.Why {
			fmt.Fprintf(w, "  %s\n", why)
		}
	}
	f := c.Facts
	fmt.Fprintf(w, "  uid %d", f.EUID)
	if f.User != "" {
		fmt.Fprintf(w, " (%s)", f.User)
	}
	fmt.Fprintf(w, ", user namespace: %s, CAP_SYS_ADMIN: %s, no_new_privs: %s, seccomp: %s\n",
		yesNo(f.UserNS), yesNo(f.CapSysAdmin), yesNo(f.NoNewPrivs), seccompName(f.Seccomp))
	if f.EUID != 0 {
		fmt.Fprintf(w, "  newuidmap: %s, newgidmap: %s, subordinate ids: %d uids, %d gids\n",
			orNone(f.NewUIDMap), orNone(f.NewGIDMap), isolation.Total(f.SubUIDs), isolation.Total(f.SubGIDs))
	}
}

func printHost(w io.Writer, c isolationChoice) {
	fmt.Fprintf(w, "store: %s (%s)\n", c.Facts.Store, c.Facts.StoreFS)
	fmt.Fprintf(w, "config: %s\n", orNone(c.Config.Path))
	if c.Mode == isolation.Container {
		fmt.Fprintln(w, "runtime: none (container mode chroots RUN into a copy, without runc)")
	} else {
		fmt.Fprintf(w, "runtime: %s\n", runtimeVersion())
	}
	var u unix.Utsname
	_ = unix.Uname(&u)
	fmt.Fprintf(w, "kernel: %s %s\n", unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Machine[:]))
	fmt.Fprintf(w, "  overlayfs: %s\n", overlayState())
	fmt.Fprintf(w, "  cgroup: %s\n", cgroupVersion())
	fmt.Fprintf(w, "  user namespaces: max %s", orNone(readTrim("/proc/sys/user/max_user_namespaces")))
	if v := readTrim("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); v != "" {
		fmt.Fprintf(w, ", apparmor_restrict_unprivileged_userns=%s", v)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  binfmt_misc: %s\n", binfmtHandlers())
}

func runtimeVersion() string {
	bin, err := exec.LookPath("runc")
	if err != nil {
		return "runc not found (install the runc package)"
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return bin
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return fmt.Sprintf("%s (%s)", first, bin)
}

func overlayState() string {
	data, _ := os.ReadFile("/proc/filesystems")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(strings.TrimPrefix(l, "nodev")) == "overlay" {
			return "available"
		}
	}
	return "not loaded (modprobe overlay; mounting may load it)"
}

func cgroupVersion() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "v2"
	}
	return "v1"
}

// binfmtHandlers lists the registered QEMU handlers with their flags.
func binfmtHandlers() string {
	paths, _ := filepath.Glob("/proc/sys/fs/binfmt_misc/qemu-*")
	var out []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(data), "enabled") {
			continue
		}
		flags := ""
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "flags: "); ok {
				flags = v
			}
		}
		out = append(out, fmt.Sprintf("%s[%s]", strings.TrimPrefix(filepath.Base(p), "qemu-"), flags))
	}
	if len(out) == 0 {
		return "no QEMU handlers"
	}
	return strings.Join(out, " ")
}

func readTrim(p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func seccompName(n int) string {
	switch n {
	case 0:
		return "off"
	case 1:
		return "strict"
	}
	return "filter"
}
