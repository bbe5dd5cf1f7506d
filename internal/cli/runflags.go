package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/kiln-build/kiln/internal/instr"
)

// runOptions parses --add-host, --shm-size and --ulimit as docker does.
func runOptions(hosts []string, shm string, ulimits []string) (instr.RunOptions, error) {
	o := instr.RunOptions{}
	for _, h := range hosts {
		name, ip, ok := strings.Cut(h, ":")
		if !ok {
			name, ip, ok = strings.Cut(h, "=")
		}
		if !ok || name == "" || ip == "" {
			return o, fmt.Errorf("invalid --add-host %q: want name:ip", h)
		}
		o.ExtraHosts = append(o.ExtraHosts, name+":"+ip)
	}
	if shm != "" {
		n, err := units.RAMInBytes(shm)
		if err != nil || n <= 0 {
			return o, fmt.Errorf("invalid --shm-size %q", shm)
		}
		o.ShmSize = n
	}
	for _, u := range ulimits {
		l, err := parseUlimit(u)
		if err != nil {
			return o, err
		}
		o.Ulimits = append(o.Ulimits, l)
	}
	return o, nil
}

// entitlements reads --allow as buildx does: network.host and
// security.insecure (BuildKit's names); --network=host grants network.host
// itself, as buildx adds the entitlement for its own flag.
func entitlements(allow []string, network string) (map[string]bool, error) {
	granted := map[string]bool{}
	for _, a := range allow {
		switch a {
		case instr.EntitlementNetworkHost, instr.EntitlementSecurityInsecure:
			granted[a] = true
		default:
			return nil, fmt.Errorf("invalid --allow %q: kiln grants network.host and security.insecure", a)
		}
	}
	if network == "host" {
		granted[instr.EntitlementNetworkHost] = true
	}
	return granted, nil
}

// parseUlimit reads name=soft[:hard], e.g. nofile=1024:2048.
func parseUlimit(s string) (specs.POSIXRlimit, error) {
	name, val, ok := strings.Cut(s, "=")
	if !ok {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid --ulimit %q: want name=soft[:hard]", s)
	}
	soft, hard, hasHard := strings.Cut(val, ":")
	if !hasHard {
		hard = soft
	}
	sv, err1 := strconv.ParseUint(soft, 10, 64)
	hv, err2 := strconv.ParseUint(hard, 10, 64)
	if err1 != nil || err2 != nil || sv > hv {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid --ulimit %q: want name=soft[:hard] with soft <= hard", s)
	}
	return specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(name), Soft: sv, Hard: hv}, nil
}
