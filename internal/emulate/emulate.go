// Package emulate makes foreign-architecture RUN steps possible: it checks
// that the kernel's binfmt_misc hands such binaries to QEMU user emulation
// (Debian's qemu-user-static) and, running as root, registers the handler
// itself when it is missing.
package emulate

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

const binfmtDir = "/proc/sys/fs/binfmt_misc"

// qemuArch maps GOARCH names to QEMU's.
var qemuArch = map[string]string{
	"amd64": "x86_64", "386": "i386", "arm64": "aarch64", "arm": "arm",
	"ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64el",
}

// Native reports whether arch runs without emulation on this machine.
func Native(arch string) bool {
	return arch == runtime.GOARCH || (runtime.GOARCH == "amd64" && arch == "386")
}

var mu sync.Mutex

// Ensure makes sure binaries of arch can run here.
func Ensure(arch string) error {
	if Native(arch) {
		return nil
	}
	q, ok := qemuArch[arch]
	if !ok {
		return fmt.Errorf("no QEMU emulation known for architecture %s", arch)
	}
	mu.Lock()
	defer mu.Unlock()
	if enabled(q) {
		return nil
	}
	interp := "/usr/bin/qemu-" + q + "-static"
	if _, err := os.Stat(interp); err != nil {
		return fmt.Errorf("running %s steps needs QEMU user emulation: install Debian's qemu-user-static (%s is missing)", arch, interp)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("running %s steps needs the qemu-%s binfmt_misc handler; register it (as root: kiln does it itself)", arch, q)
	}
	if err := mountBinfmt(); err != nil {
		return err
	}
	return register(q, interp)
}

func enabled(q string) bool {
	data, err := os.ReadFile(binfmtDir + "/qemu-" + q)
	return err == nil && strings.HasPrefix(string(data), "enabled")
}

func mountBinfmt() error {
	if _, err := os.Stat(binfmtDir + "/register"); err == nil {
		return nil
	}
	if err := unix.Mount("binfmt_misc", binfmtDir, "binfmt_misc", 0, ""); err != nil {
		return fmt.Errorf("mounting binfmt_misc: %w", err)
	}
	return nil
}

// register writes the handler with flags F (the kernel opens the
// interpreter now, so it works inside containers whose rootfs lacks it) and
// P (argv[0] is kept: BusyBox picks its applet by that name).
func register(q, interp string) error {
	magic, mask, err := magicOf(q)
	if err != nil {
		return err
	}
	rule := fmt.Sprintf(":qemu-%s:M::%s:%s:%s:PF", q, magic, mask, interp)
	f, err := os.OpenFile(binfmtDir+"/register", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("registering qemu-%s: %w", q, err)
	}
	defer f.Close()
	if _, err := f.WriteString(rule); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("registering qemu-%s: %w", q, err)
	}
	if !enabled(q) {
		return fmt.Errorf("registering qemu-%s: the handler is not enabled", q)
	}
	return nil
}

// magicOf reads the ELF magic and mask Debian's qemu-user-static ships for
// systemd-binfmt (/usr/lib/binfmt.d/qemu-ARCH.conf).
func magicOf(q string) (string, string, error) {
	f, err := os.Open("/usr/lib/binfmt.d/qemu-" + q + ".conf")
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("no binfmt rule for qemu-%s: install Debian's qemu-user-static", q)
	}
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// :name:type:offset:magic:mask:interpreter:flags
		parts := strings.Split(line, ":")
		if len(parts) >= 7 && parts[2] == "M" {
			return parts[4], parts[5], nil
		}
	}
	return "", "", fmt.Errorf("no magic rule in the qemu-%s binfmt file", q)
}
