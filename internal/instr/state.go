// Package instr builds a plan's stages: it resolves each stage's base,
// has convert turn the stage into vertices (pure), and binds each RUN,
// COPY, ADD and WORKDIR vertex to I/O (hashing sources, preparing mounts)
// as a solver op that changes the filesystem through a cached, committed
// layer. One file per filesystem instruction, run from one type switch
// (dispatch.go).
package instr

import (
	"context"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

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
	File          string        // Dockerfile name, for errors

	// steps numbers the progress lines as BuildKit does; name is the
	// current instruction's line (convert.StepName), platform the
	// stage's platform for multi-platform prefixes.
	steps    convert.Steps
	name     string
	platform ocispec.Platform
	multi    bool // a multi-platform build: lines carry the platform

	files map[string]string // files the current COPY hashed (--explain-cache)
	// From resolves a COPY --from / --mount from= name to its filesystem.
	From func(ctx context.Context, name string) (*Named, error)
	rec  *recorder // the build's record of remote sources (Result.Remotes)
}

// nextLine numbers the current instruction's step and returns its
// progress line, "[linux/arm64 base 2/5] RUN …".
func (s *State) nextLine() string {
	s.setPlatformPrefix()
	return s.steps.Next(s.name)
}

// againLine is a second line with the current step's number.
func (s *State) againLine(name string) string {
	s.setPlatformPrefix()
	return s.steps.Again(name)
}

func (s *State) setPlatformPrefix() {
	if s.multi {
		s.steps.Platform = convert.PlatformPrefix(s.platform, s.ExpandEnv())
	}
}
