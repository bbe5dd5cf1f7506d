package bake

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// DefaultFiles are the names read, every one that exists, in this order,
// when no -f is given: compose-go's, then bake's (buildx v0.38.2).
var DefaultFiles = []string{
	"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
	"docker-bake.json", "docker-bake.hcl", "docker-bake.override.json", "docker-bake.override.hcl",
}

// FilesFromEnv is BUILDX_BAKE_FILE split at BUILDX_BAKE_PATH_SEPARATOR
// (default the OS's path list separator), for when no -f is given.
func FilesFromEnv(lookup func(string) (string, bool)) ([]string, error) {
	v, ok := lookup("BUILDX_BAKE_FILE")
	if !ok {
		return nil, nil
	}
	sep, _ := lookup("BUILDX_BAKE_PATH_SEPARATOR")
	if sep == "" {
		sep = string(os.PathListSeparator)
	}
	var names []string
	for _, f := range strings.Split(v, sep) {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f != "-" {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("BUILDX_BAKE_FILE: %w", err)
			}
		}
		names = append(names, f)
	}
	return names, nil
}

// ReadFiles reads the named files ("-" is stdin); with no names, those of
// DefaultFiles that exist in the working directory.
func ReadFiles(names []string, stdin io.Reader) ([]File, error) {
	isDefault := len(names) == 0
	if isDefault {
		names = DefaultFiles
	}
	var out []File
	for _, n := range names {
		var data []byte
		var err error
		if n == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(n)
			if isDefault && errors.Is(err, fs.ErrNotExist) {
				continue
			}
		}
		if err != nil {
			return nil, fmt.Errorf("reading bake file: %w", err)
		}
		out = append(out, File{Name: n, Data: data})
	}
	if len(out) == 0 {
		return nil, errors.New("couldn't find a bake definition (docker-bake.hcl, docker-bake.json or compose.yaml in the working directory, or -f)")
	}
	return out, nil
}
