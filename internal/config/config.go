// Package config reads kiln.toml. Its registry section has the schema of
// buildkitd.toml's [registry."host"] tables, so a BuildKit user can reuse
// theirs. The top-level isolation key sets the default of --isolation;
// every other key in the file is ignored.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/kiln-build/kiln/internal/isolation"
)

// Config is the parsed kiln.toml.
type Config struct {
	// Registries is keyed by registry host ("docker.io", "127.0.0.1:5000").
	Registries map[string]Registry `toml:"registry"`
	// Isolation is the default --isolation mode ("" means auto).
	Isolation string `toml:"isolation"`
	// Path is the file the config was read from ("" when none exists).
	Path string `toml:"-"`
}

// Registry is the configuration of one registry host.
type Registry struct {
	// Mirrors are hosts (optionally host/path-prefix) tried before the registry itself.
	Mirrors []string `toml:"mirrors"`
	// HTTP allows plain HTTP for this host.
	HTTP bool `toml:"http"`
	// Insecure skips TLS certificate verification for this host.
	Insecure bool `toml:"insecure"`
	// CA lists PEM files added to the system roots for this host.
	CA []string `toml:"ca"`
}

// EnvVar names the environment variable holding a config path.
const EnvVar = "KILN_CONFIG"

// SystemPath is the system-wide config file.
var SystemPath = "/etc/kiln/kiln.toml"

// Load reads the first file that exists of: explicit (an error if it is
// missing), $KILN_CONFIG, $XDG_CONFIG_HOME/kiln/kiln.toml (or
// ~/.config/kiln/kiln.toml) and /etc/kiln/kiln.toml. With none of them it
// returns an empty config.
func Load(explicit string) (*Config, error) {
	if explicit != "" {
		return loadFile(explicit)
	}
	for _, p := range candidates() {
		if _, err := os.Stat(p); err == nil {
			return loadFile(p)
		}
	}
	return &Config{Registries: map[string]Registry{}}, nil
}

// candidates lists the implicit config locations, most specific first.
func candidates() []string {
	var out []string
	if p := os.Getenv(EnvVar); p != "" {
		out = append(out, p)
	}
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		out = append(out, filepath.Join(d, "kiln", "kiln.toml"))
	} else if home, err := os.UserHomeDir(); err == nil {
		out = append(out, filepath.Join(home, ".config", "kiln", "kiln.toml"))
	}
	return append(out, SystemPath)
}

func loadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading config: %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cfg, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	cfg.Path = path
	return cfg, nil
}

// Parse decodes kiln.toml content read from file (used in messages). A
// syntax error names the file, line and column.
func Parse(file string, data []byte) (*Config, error) {
	cfg := &Config{}
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(cfg); err != nil {
		var derr *toml.DecodeError
		if errors.As(err, &derr) {
			row, col := derr.Position()
			return nil, fmt.Errorf("parsing config %s:%d:%d: %w", file, row, col, err)
		}
		return nil, fmt.Errorf("parsing config %s: %w", file, err)
	}
	if cfg.Registries == nil {
		cfg.Registries = map[string]Registry{}
	}
	if _, err := isolation.ParseMode(cfg.Isolation); err != nil {
		return nil, fmt.Errorf("parsing config %s: %w", file, err)
	}
	return cfg, nil
}

// dockerHubHosts are the names Docker Hub goes by; a [registry."docker.io"]
// section applies to all of them.
var dockerHubHosts = map[string]bool{"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true}

// Host returns the configuration of a registry host (the zero value if none).
func (c *Config) Host(host string) Registry {
	if c == nil {
		return Registry{}
	}
	if r, ok := c.Registries[host]; ok {
		return r
	}
	if dockerHubHosts[host] {
		for h := range dockerHubHosts {
			if r, ok := c.Registries[h]; ok {
				return r
			}
		}
	}
	return Registry{}
}
