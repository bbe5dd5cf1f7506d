package convert

import (
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
	"github.com/kiln-build/kiln/internal/image"
)

var epoch = time.Unix(1700000000, 0).UTC()

// newState is a stage FROM scratch for linux/amd64.
func newState() *State {
	return &State{Img: image.New(ocispec.Platform{OS: "linux", Architecture: "amd64"}), Escape: '\\', Epoch: epoch}
}

// commands parses the instructions of a stage FROM scratch.
func commands(t *testing.T, lines string) []instructions.Command {
	t.Helper()
	df, err := dockerfile.Parse("Dockerfile", []byte("FROM scratch\n"+lines))
	if err != nil {
		t.Fatal(err)
	}
	return df.Stages[0].Commands
}

// convert expands and applies every instruction of lines to s, as a build
// dispatches them; it fails the test on the first error.
func convert(t *testing.T, s *State, lines string) *State {
	t.Helper()
	if err := tryConvert(t, s, lines); err != nil {
		t.Fatal(err)
	}
	return s
}

func tryConvert(t *testing.T, s *State, lines string) error {
	t.Helper()
	for _, c := range commands(t, lines) {
		if err := Expand("Dockerfile", s.Escape, c, s.ExpandEnv()); err != nil {
			return err
		}
		if err := apply(t, s, c); err != nil {
			return err
		}
	}
	return nil
}

// lastHistory is the created_by of the stage's last history entry, which
// must be an empty layer at the epoch.
func lastHistory(t *testing.T, s *State) string {
	t.Helper()
	h := s.Img.Config.History
	if len(h) == 0 {
		t.Fatal("no history")
	}
	last := h[len(h)-1]
	if !last.EmptyLayer || last.Created == nil || !last.Created.Equal(epoch) {
		t.Errorf("history %+v: want an empty layer at the epoch", last)
	}
	return last.CreatedBy
}

// apply converts one config-changing instruction: a metadata one, or
// WORKDIR's config part.
func apply(t *testing.T, s *State, c instructions.Command) error {
	t.Helper()
	if w, ok := c.(*instructions.WorkdirCommand); ok {
		Workdir(s, w)
		return nil
	}
	handled, err := Meta(s, c)
	if !handled {
		t.Fatalf("%s is not a metadata instruction", c.Name())
	}
	return err
}
