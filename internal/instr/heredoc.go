package instr

import (
	"context"
	"os"
	"path/filepath"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/convert"
	"github.com/kiln-build/kiln/internal/executor"
)

// scriptMount mounts a RUN heredoc script (convert.Script) read-only at
// its target; the file is written in the store only when the step runs.
func scriptMount(sc *convert.Script, tempDir func(kind string) (string, error)) preparedMount {
	return preparedMount{
		key: cachekey.Mount{Type: "heredoc", Target: sc.Target, Options: []string{sc.Data}},
		setup: func(context.Context) (*executor.Mount, func(), error) {
			dir, err := tempDir("heredoc") // in the store, so a killed build's is cleaned
			if err != nil {
				return nil, nil, err
			}
			file := filepath.Join(dir, "script")
			if err := os.WriteFile(file, []byte(sc.Data), 0o755); err != nil {
				os.RemoveAll(dir)
				return nil, nil, err
			}
			return &executor.Mount{Type: "bind", Source: file, Destination: sc.Target, Options: []string{"rbind", "ro"}},
				func() { os.RemoveAll(dir) }, nil
		},
	}
}
