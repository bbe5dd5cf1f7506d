package convert

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// runOf converts the last instruction of lines, a RUN, after the others.
func runOf(t *testing.T, s *State, lines, buildNetwork string) Run {
	t.Helper()
	cmds := commands(t, lines)
	for _, c := range cmds[:len(cmds)-1] {
		if err := Expand("Dockerfile", s.Escape, c, s.ExpandEnv()); err != nil {
			t.Fatal(err)
		}
		if err := apply(t, s, c); err != nil {
			t.Fatal(err)
		}
	}
	run := cmds[len(cmds)-1].(*instructions.RunCommand)
	if err := Expand("Dockerfile", s.Escape, run, s.ExpandEnv()); err != nil {
		t.Fatal(err)
	}
	r, err := RunOf(s, run, buildNetwork)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunShellAndExecForm(t *testing.T) {
	r := runOf(t, newState(), "WORKDIR /src\nUSER app\nRUN make $TARGET\n", "")
	if !slices.Equal(r.Args, []string{"/bin/sh", "-c", "make $TARGET"}) || r.Cwd != "/src" || r.User != "app" {
		t.Errorf("run %+v", r)
	}
	if r.Name != "RUN make $TARGET" || r.History != "RUN /bin/sh -c make $TARGET # buildkit" {
		t.Errorf("name %q history %q", r.Name, r.History)
	}
	r = runOf(t, newState(), "SHELL [\"/bin/bash\", \"-c\"]\nRUN [\"go\", \"build\"]\n", "")
	if !slices.Equal(r.Args, []string{"go", "build"}) || r.History != "RUN go build # buildkit" {
		t.Errorf("exec form %+v", r)
	}
	r = runOf(t, newState(), "SHELL [\"/bin/bash\", \"-c\"]\nRUN echo hi\n", "")
	if !slices.Equal(r.Args, []string{"/bin/bash", "-c", "echo hi"}) {
		t.Errorf("shell form under SHELL %q", r.Args)
	}
}

// RUN sees the image's ENV and the stage's ARGs; its history counts the
// ARGs (an unset one as FOO=); proxies reach the process only.
func TestRunEnvAndHistory(t *testing.T) {
	s := newState()
	s.BuildArgs = map[string]string{"B": "given", "http_proxy": "http://p:3128", "BUILDKIT_SANDBOX_HOSTNAME": "box"}
	r := runOf(t, s, "ARG A=1\nARG B\nARG UNSET\nENV A=env\nRUN true\n", "")
	env := strings.Join(r.Env, " ")
	if !strings.Contains(env, "A=env") || !strings.Contains(env, "B=given") || strings.Contains(env, "UNSET") || strings.Contains(env, "proxy") {
		t.Errorf("env %q", env)
	}
	if want := "RUN |3 A=1 B=given UNSET= /bin/sh -c true # buildkit"; r.History != want {
		t.Errorf("history %q, want %q", r.History, want)
	}
	if want := []string{"HTTP_PROXY=http://p:3128", "http_proxy=http://p:3128"}; !slices.Equal(r.ProxyEnv, want) {
		t.Errorf("proxy env %q, want %q", r.ProxyEnv, want)
	}
	if r.Hostname != "box" {
		t.Errorf("hostname %q from BUILDKIT_SANDBOX_HOSTNAME", r.Hostname)
	}
}

// A RUN's --network flag overrides the build's; without either it is the
// default network.
func TestRunNetwork(t *testing.T) {
	for _, tc := range []struct{ line, build, want string }{
		{"RUN true\n", "", "default"},
		{"RUN true\n", "host", "host"},
		{"RUN --network=none true\n", "host", "none"},
		{"RUN --network=default true\n", "none", "none"},
	} {
		if got := runOf(t, newState(), tc.line, tc.build).Network; got != tc.want {
			t.Errorf("%q with --network=%q: %q, want %q", tc.line, tc.build, got, tc.want)
		}
	}
}

// Heredocs: a script with a shebang is mounted and run; other content goes
// to the shell.
func TestRunHeredoc(t *testing.T) {
	r := runOf(t, newState(), "RUN <<EOT\necho one\necho two\nEOT\n", "")
	if r.Script != nil || !slices.Equal(r.Args, []string{"/bin/sh", "-c", "echo one\necho two\n"}) {
		t.Errorf("shell heredoc: %q, script %+v", r.Args, r.Script)
	}
	r = runOf(t, newState(), "RUN <<EOT\n#!/usr/bin/env python3\nprint(1)\nEOT\n", "")
	if r.Script == nil || r.Script.Target != "/dev/pipes/EOT" || !strings.HasPrefix(r.Script.Data, "#!/usr/bin/env python3") {
		t.Fatalf("script heredoc: %+v", r.Script)
	}
	if !slices.Equal(r.Args, []string{"/bin/sh", "-c", "/dev/pipes/EOT"}) {
		t.Errorf("script heredoc runs %q", r.Args)
	}
}

// An ARG given a value after an ENV of its name wins for RUN, as in
// BuildKit; a later ENV wins again.
func TestRunArgAfterEnv(t *testing.T) {
	r := runOf(t, newState(), "ENV V=env\nARG V=arg\nRUN echo $V\n", "")
	if !slices.Contains(r.Env, "V=arg") || slices.Contains(r.Env, "V=env") {
		t.Errorf("ARG after ENV: env %q", r.Env)
	}
	r = runOf(t, newState(), "ENV V=env\nARG V=arg\nENV V=env2\nRUN echo $V\n", "")
	if !slices.Contains(r.Env, "V=env2") || slices.Contains(r.Env, "V=arg") {
		t.Errorf("ENV after ARG: env %q", r.Env)
	}
}

// --security=insecure is part of what a RUN means (the worker checks the
// entitlement).
func TestRunSecurity(t *testing.T) {
	if runOf(t, newState(), "RUN true\n", "").Insecure {
		t.Error("RUN without --security is insecure")
	}
	if !runOf(t, newState(), "RUN --security=insecure true\n", "").Insecure {
		t.Error("RUN --security=insecure is not insecure")
	}
}
