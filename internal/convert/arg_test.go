package convert

import (
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/scope"
)

func TestArg(t *testing.T) {
	s := newState()
	s.Globals = map[string]string{"G": "global", "TARGETARCH": "arm64"}
	s.BuildArgs = map[string]string{"B": "given"}
	convert(t, s, "ARG G\nARG TARGETARCH\nARG B=default\nARG D=${G}-d\nARG UNSET\nENV D=env\nARG E=$D\n")
	got := map[string]string{}
	for _, kv := range s.Args {
		got[kv.Key] = kv.Value
	}
	want := map[string]string{"G": "global", "TARGETARCH": "arm64", "B": "given", "D": "global-d", "UNSET": "", "E": "env"}
	for _, kv := range s.Args {
		if kv.Unset != (kv.Key == "UNSET") {
			t.Errorf("ARG %s: unset = %v", kv.Key, kv.Unset)
		}
	}
	// An ARG with no value is in neither environment; redeclared without
	// one, an ARG keeps its value.
	if env := strings.Join(append(s.ExpandEnv(), s.RunEnv()...), " "); strings.Contains(env, "UNSET") {
		t.Errorf("unset ARG in an environment: %q", env)
	}
	convert(t, s, "ARG D\n")
	if v, _ := expandNext(s, "$D"); v != "env" {
		t.Errorf("$D after ARG D = %q", v)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ARG %s = %q, want %q", k, got[k], v)
		}
	}
	if got := s.Img.Config.History[len(s.Img.Config.History)-2].CreatedBy; got != "ARG E=env" {
		t.Errorf("history %q", got)
	}
	if got := s.Img.Config.Config.Env; strings.Contains(strings.Join(got, " "), "G=") {
		t.Errorf("an ARG reached the image's env: %q", got)
	}
	// RUN sees the ARGs, ENV winning.
	run := strings.Join(s.RunEnv(), " ")
	if !strings.Contains(run, "D=env") || !strings.Contains(run, "B=given") || strings.Contains(run, "D=global-d") {
		t.Errorf("RUN env %q", run)
	}
	if err := tryConvert(t, newState(), "ARG X=${NOPE:?must be set}\n"); err == nil {
		t.Error("a failing default was accepted")
	}
}

// expandNext expands a word as the stage's next instruction would see it.
func expandNext(s *State, word string) (string, error) {
	return scope.Expand(word, s.Escape, s.ExpandEnv())
}

// A default sees the ARGs before it in the same instruction, as in
// BuildKit (dispatchArg reads the state's env for each one).
func TestArgSeesEarlierArgOfTheSameInstruction(t *testing.T) {
	s := convert(t, newState(), "ARG A=1 B=${A}-b\n")
	if v, _ := expandNext(s, "$B"); v != "1-b" {
		t.Errorf("$B = %q, want 1-b", v)
	}
}
