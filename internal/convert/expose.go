package convert

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// expose is EXPOSE: ports (expanded as words, so one $VAR may hold
// several) as port/protocol, tcp by default.
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
			port, err := normalizePort(w)
			if err != nil {
				return err
			}
			cfg.ExposedPorts[port] = struct{}{}
			added = append(added, port+":{}")
		}
	}
	s.Img.AddHistory(fmt.Sprintf("EXPOSE map[%s]", strings.Join(added, " ")), s.Epoch)
	return nil
}

// normalizePort turns "3000" into "3000/tcp" and checks the protocol.
func normalizePort(p string) (string, error) {
	num, proto, ok := strings.Cut(p, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return "", fmt.Errorf("invalid EXPOSE protocol %q in %q", proto, p)
	}
	if num == "" || strings.Trim(num, "0123456789-") != "" {
		return "", fmt.Errorf("invalid EXPOSE port %q", p)
	}
	return num + "/" + proto, nil
}
