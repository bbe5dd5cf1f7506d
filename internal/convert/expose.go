package convert

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// expose is EXPOSE: the ports added as BuildKit adds them: each word expanded, a
// range 8000-8002 made into one port per number, an [ip:][host:] prefix
// accepted and dropped, the protocol lower-cased; the history lists them
// in the parser's (sorted) order: EXPOSE [3000/udp 8000/tcp].
func expose(s *State, c *instructions.ExposeCommand) error {
	lex := shell.NewLex(s.Escape)
	env := shell.EnvsFromSlice(s.ExpandEnv())
	cfg := &s.Img.Config.Config
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	var added []string
	for _, p := range c.Ports {
		words, err := lex.ProcessWords(p, env)
		if err != nil {
			return err
		}
		for _, w := range words {
			ports, err := exposedPorts(w)
			if err != nil {
				return err
			}
			for _, port := range ports {
				cfg.ExposedPorts[port] = struct{}{}
			}
			added = append(added, ports...)
		}
	}
	s.Img.AddHistory(fmt.Sprintf("EXPOSE %v", added), s.Epoch)
	return nil
}

// exposedPorts turns one EXPOSE word ([ip:][host:]port[-end][/proto]) into
// its "port/proto" entries.
func exposedPorts(raw string) ([]string, error) {
	parts := strings.Split(raw, ":")
	container := parts[len(parts)-1]
	if len(parts) >= 3 {
		ip := strings.Join(parts[:len(parts)-2], ":")
		if h, _, err := net.SplitHostPort(ip + ":"); err == nil && strings.HasPrefix(ip, "[") {
			ip = h
		}
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("invalid port: %q: invalid IP address: %s", raw, ip)
		}
	}
	num, proto, _ := strings.Cut(container, "/")
	if num == "" {
		return nil, fmt.Errorf("invalid port: %q: no port specified", raw)
	}
	switch proto = strings.ToLower(proto); proto {
	case "":
		proto = "tcp"
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid port: %q: invalid proto: %s", raw, proto)
	}
	start, end, err := portRange(num)
	if err != nil {
		return nil, fmt.Errorf("invalid port: %q: %v", raw, err)
	}
	if len(parts) >= 2 {
		hs, he, err := portRange(parts[len(parts)-2])
		if err != nil {
			return nil, fmt.Errorf("invalid port: %q: invalid hostPort: %s", raw, parts[len(parts)-2])
		}
		if end-start != he-hs && end != start {
			return nil, fmt.Errorf("invalid port: %q: invalid ranges specified for container and host Ports", raw)
		}
	}
	ports := make([]string, 0, end-start+1)
	for p := start; p <= end; p++ {
		ports = append(ports, strconv.Itoa(p)+"/"+proto)
	}
	return ports, nil
}

// portRange parses "8000" or "8000-8002" (numbers 0-65535, end >= start).
func portRange(s string) (int, int, error) {
	a, b, isRange := strings.Cut(s, "-")
	start, err := portNumber(a)
	if err != nil {
		return 0, 0, err
	}
	if !isRange || a == b {
		return start, start, nil
	}
	end, err := portNumber(b)
	if err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, fmt.Errorf("invalid port range: %s", s)
	}
	return start, end, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("invalid port number %q (0-65535)", s)
	}
	return n, nil
}
