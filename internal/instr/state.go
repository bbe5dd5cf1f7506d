// Package instr builds a plan's stages: it dispatches each instruction,
// the metadata ones through convert (pure), and turns RUN, COPY, ADD and
// WORKDIR into solver ops that change the filesystem through a cached,
// committed layer. One file per filesystem instruction, dispatched from
// one type switch (dispatch.go).
package instr

import (
	"context"
	"fmt"

	digest "github.com/opencontainers/go-digest"

	"github.com/kiln-build/kiln/internal/convert"
)

// State is a stage while it is being built.
type State struct {
	convert.State               // image config and history, ARG scope
	Stage         string        // stage name or index, for progress and errors
	Key           digest.Digest // cache key of the filesystem so far
	Platform      string        // os/arch[/variant], part of every key
	Arch          string        // architecture the stage's RUN steps execute as
	Step          int           // 1-based position of the instruction being run
	Steps         int           // number of instructions of the stage (FROM included)
	File          string        // Dockerfile name, for errors

	files map[string]string // files the current COPY hashed (--explain-cache)
	// From resolves a COPY --from / --mount from= name to its filesystem.
	From func(ctx context.Context, name string) (*Named, error)
	// RecordRemote, if set, is told every remote source the stage fetched.
	RecordRemote func(Remote)
}

// prefix is the "[stage 2/5]" label of progress lines.
func (s *State) prefix() string {
	return fmt.Sprintf("[%s %d/%d]", s.Stage, s.Step, s.Steps)
}
