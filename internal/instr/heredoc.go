package instr

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/kiln-build/kiln/internal/cachekey"
	"github.com/kiln-build/kiln/internal/executor"
)

// heredocArgs turns RUN <<EOF into what BuildKit runs: a script with a
// shebang is mounted at /dev/pipes/NAME and executed; other content is
// handed to the shell; several heredocs are put back together for the shell.
func heredocArgs(c *instructions.RunCommand, tempDir func(kind string) (string, error)) ([]string, *preparedMount, error) {
	args := c.CmdLine
	if len(args) != 1 || !c.PrependShell {
		return nil, nil, fmt.Errorf("parsing produced an invalid run command: %v", args)
	}
	h := parser.MustParseHeredoc(args[0])
	if h == nil {
		var b strings.Builder
		b.WriteString(args[0])
		for _, f := range c.Files {
			b.WriteString("\n" + f.Data + f.Name)
		}
		return []string{b.String()}, nil, nil
	}
	data := c.Files[0].Data
	if c.Files[0].Chomp {
		data = parser.ChompHeredocContent(data)
	}
	if !strings.HasPrefix(data, "#!") {
		return []string{data}, nil, nil
	}
	name := c.Files[0].Name
	target := path.Join("/dev/pipes", name)
	pm := &preparedMount{
		key: cachekey.Mount{Type: "heredoc", Target: target, Options: []string{data}},
		setup: func(context.Context) (*executor.Mount, func(), error) {
			dir, err := tempDir("heredoc") // in the store, so a killed build's is cleaned
			if err != nil {
				return nil, nil, err
			}
			file := filepath.Join(dir, "script")
			if err := os.WriteFile(file, []byte(data), 0o755); err != nil {
				os.RemoveAll(dir)
				return nil, nil, err
			}
			return &executor.Mount{Type: "bind", Source: file, Destination: target, Options: []string{"rbind", "ro"}},
				func() { os.RemoveAll(dir) }, nil
		},
	}
	return []string{target}, pm, nil
}
