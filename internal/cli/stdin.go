package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kiln-build/kiln/internal/layer"
)

// stdinInputs handles `-f -` (the Dockerfile on standard input) and `-` as
// the context (a tar on standard input, plain or compressed), staging them in
// a temporary directory that cleanup removes.
// tempDir makes that directory; nil means os.MkdirTemp.
func stdinInputs(ctx context.Context, stdin io.Reader, contextDir, file string, tempDir func() (string, error)) (string, string, func(), error) {
	if contextDir != "-" && file != "-" {
		return contextDir, file, func() {}, nil
	}
	if contextDir == "-" && file == "-" {
		return "", "", nil, usageError{fmt.Errorf("the context and the Dockerfile cannot both come from standard input")}
	}
	if tempDir == nil {
		tempDir = func() (string, error) { return os.MkdirTemp("", "kiln-stdin-") }
	}
	tmp, err := tempDir()
	if err != nil {
		return "", "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	if file == "-" {
		file = filepath.Join(tmp, "Dockerfile")
		data, err := io.ReadAll(stdin)
		if err == nil {
			err = os.WriteFile(file, data, 0o644)
		}
		if err != nil {
			cleanup()
			return "", "", nil, fmt.Errorf("reading the Dockerfile from standard input: %w", err)
		}
		return contextDir, file, cleanup, nil
	}
	dir := filepath.Join(tmp, "context")
	if err := os.Mkdir(dir, 0o755); err != nil {
		cleanup()
		return "", "", nil, err
	}
	if _, err := layer.Unpack(ctx, stdin, dir); err != nil {
		cleanup()
		return "", "", nil, fmt.Errorf("reading the context tar from standard input: %w", err)
	}
	if file != "" && !filepath.IsAbs(file) {
		file = filepath.Join(dir, file) // -f names a file inside the tar
	}
	return dir, file, cleanup, nil
}
