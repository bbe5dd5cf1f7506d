package harness

import (
	"path/filepath"
	"testing"
)

// BuildSpec is one `kiln build --progress plain` to an OCI tar.
type BuildSpec struct {
	Context    string // directory
	Dockerfile string // its text, written outside the context (-f)
	Tag        string // -t, optional
	Target     string // --target, optional
	Args       []string
	Env        []string // added to kiln's environment
}

// Build runs spec on s and returns kiln's result and the path of the OCI tar
// (which exists only if the build succeeded).
func (s *Store) Build(t testing.TB, spec BuildSpec) (Result, string) {
	t.Helper()
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	WriteFile(t, df, spec.Dockerfile, 0o644)
	tar := filepath.Join(dir, "image.tar")
	args := []string{"build", "--progress", "plain", "-f", df, "-o", "type=oci,dest=" + tar}
	if spec.Tag != "" {
		args = append(args, "-t", spec.Tag)
	}
	if spec.Target != "" {
		args = append(args, "--target", spec.Target)
	}
	args = append(args, spec.Args...)
	args = append(args, spec.Context)
	o := s.Opts()
	o.Env = append(append([]string(nil), o.Env...), spec.Env...)
	return Run(t, o, args...), tar
}

// MustBuild runs spec on s, fails t unless it succeeds, and reads the image.
func (s *Store) MustBuild(t testing.TB, spec BuildSpec) (Result, *Image) {
	t.Helper()
	r, tar := s.Build(t, spec)
	if r.Code != 0 {
		t.Fatalf("build failed:\n%s", r)
	}
	return r, ReadImage(t, tar)
}
