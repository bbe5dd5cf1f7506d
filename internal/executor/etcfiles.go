package executor

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// hostResolvConf is read for the container's resolv.conf; a var for tests.
var hostResolvConf = "/etc/resolv.conf"

// Docker's fallback nameservers when none are usable (libnetwork's defaults).
var defaultNameservers = []string{"8.8.8.8", "8.8.4.4"}

// etcFiles are generated files in the bundle, bind-mounted read-only.
type etcFiles struct {
	hosts      string
	resolvConf string
}

func writeEtcFiles(bundle string, s Spec) (etcFiles, error) {
	hosts, err := hostsFile(s.Hostname, s.ExtraHosts)
	if err != nil {
		return etcFiles{}, err
	}
	resolv, err := resolvConf(hostResolvConf, s.Network == NetworkNone)
	if err != nil {
		return etcFiles{}, err
	}
	f := etcFiles{hosts: filepath.Join(bundle, "hosts"), resolvConf: filepath.Join(bundle, "resolv.conf")}
	if err := os.WriteFile(f.hosts, hosts, 0o644); err != nil {
		return etcFiles{}, fmt.Errorf("writing hosts file: %w", err)
	}
	if err := os.WriteFile(f.resolvConf, resolv, 0o644); err != nil {
		return etcFiles{}, fmt.Errorf("writing resolv.conf: %w", err)
	}
	return f, nil
}

// hostsFile is BuildKit's /etc/hosts: localhost and the hostname, then one
// line per extra host ("name:ip", as --add-host takes them).
func hostsFile(hostname string, extra []string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "127.0.0.1\tlocalhost %s\n", hostname)
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, h := range extra {
		name, ip, ok := strings.Cut(h, ":")
		addr, err := netip.ParseAddr(ip)
		if !ok || name == "" || err != nil {
			return nil, fmt.Errorf("parsing extra host %q: want name:ip", h)
		}
		fmt.Fprintf(&b, "%s\t%s\n", addr, name)
	}
	return b.Bytes(), nil
}

// resolvConf derives the container's resolv.conf from the host's. On the
// host network it is kept as is: a local resolver such as systemd-resolved's
// 127.0.0.53 is reachable there (BuildKit does the same). In a private
// network namespace local nameservers cannot work, so they are dropped and
// Docker's defaults stand in when none remain.
func resolvConf(hostPath string, privateNet bool) ([]byte, error) {
	data, err := os.ReadFile(hostPath)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("reading host resolv.conf: %w", err)
	}
	var out bytes.Buffer
	servers := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if ns, ok := nameserver(line); ok {
			if privateNet && isLocalAddr(ns) {
				continue
			}
			servers++
		}
		out.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading host resolv.conf: %w", err)
	}
	if servers == 0 {
		for _, ns := range defaultNameservers {
			fmt.Fprintf(&out, "nameserver %s\n", ns)
		}
	}
	return out.Bytes(), nil
}

func nameserver(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "nameserver" {
		return "", false
	}
	return f[1], true
}

func isLocalAddr(s string) bool {
	addr, err := netip.ParseAddr(s)
	return err == nil && addr.IsLoopback()
}
