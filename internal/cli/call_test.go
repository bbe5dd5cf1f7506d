package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// callBuild runs `kiln build ARGS` and returns stdout and the exit status
// Main would give.
func callBuild(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := New()
	cmd.SetArgs(append([]string{"--root", t.TempDir(), "build"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(""))
	code := exitStatus(cmd.Execute(), false, io.Discard)
	return out.String(), code
}

func writeDockerfile(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// --call=check,format=json prints BuildKit's lint result shape with
// BuildKit's rules only, and exits 1 on warnings as buildx does.
func TestCallCheckJSON(t *testing.T) {
	// Line 2 is DuplicateStageName (BuildKit); the unused stage "a" and the
	// root final stage are kiln's own rules, absent without --kiln-rules.
	dir := writeDockerfile(t, "FROM scratch AS a\nFROM scratch AS a\nENV A 1\n")
	out, code := callBuild(t, "--call=check,format=json", dir)
	if code != 1 {
		t.Fatalf("exit status %d, want 1; output:\n%s", code, out)
	}
	var res struct {
		Warnings []struct {
			RuleName, Description, URL, Detail string
			Location                           struct {
				SourceIndex int
				Ranges      []struct{ Start, End struct{ Line int } }
			}
		}
		Sources []struct {
			Filename, Language string
			Data               []byte
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var got []string
	for _, w := range res.Warnings {
		if len(w.Location.Ranges) == 0 || w.URL == "" || w.Description == "" {
			t.Errorf("warning lacks location, url or description: %+v", w)
			continue
		}
		got = append(got, w.RuleName+"@"+string(rune('0'+w.Location.Ranges[0].Start.Line)))
	}
	if want := "DuplicateStageName@2 LegacyKeyValueFormat@3"; strings.Join(got, " ") != want {
		t.Errorf("warnings %v, want %s", got, want)
	}
	if len(res.Sources) != 1 || res.Sources[0].Language != "Dockerfile" || !strings.HasSuffix(res.Sources[0].Filename, "Dockerfile") ||
		!strings.HasPrefix(string(res.Sources[0].Data), "FROM scratch AS a") {
		t.Errorf("sources: %+v", res.Sources)
	}

	if _, code := callBuild(t, "--call=check,format=json,ignorestatus=true", dir); code != 0 {
		t.Errorf("ignorestatus=true: exit status %d, want 0", code)
	}
	out, _ = callBuild(t, "--call=check,format=json", "--kiln-rules", dir)
	if !strings.Contains(out, `"ruleName": "UnusedStage"`) {
		t.Errorf("--kiln-rules lacks kiln's UnusedStage:\n%s", out)
	}
}

func TestCallCheckText(t *testing.T) {
	out, code := callBuild(t, "--call=check", writeDockerfile(t, "FROM scratch\nCMD [\"x\"]\n"))
	if code != 0 || out != "Check complete, no warnings found.\n" {
		t.Errorf("clean Dockerfile: status %d, output %q", code, out)
	}
	out, code = callBuild(t, "--call=check", writeDockerfile(t, "FROM scratch\ncopy a /a\n"))
	for _, want := range []string{
		"Check complete, 1 warning has been found!\n",
		"\nWARNING: ConsistentInstructionCasing - https://docs.docker.com/go/dockerfile/rule/consistent-instruction-casing/\n",
		"Command 'copy' should match the case of the command majority (uppercase)\n",
		"Dockerfile:2\n",
		"   2 | >>> copy a /a\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
}

func TestCallTargets(t *testing.T) {
	// A stage's description is a comment that starts with its name.
	dir := writeDockerfile(t, "# build the builder\nFROM busybox AS build\nFROM scratch AS final\n")
	out, code := callBuild(t, "--call=targets", dir)
	if code != 0 || !strings.Contains(out, "TARGET") || !strings.Contains(out, "build           the builder\n") || !strings.Contains(out, "final (default)") {
		t.Errorf("status %d, output:\n%s", code, out)
	}
	out, _ = callBuild(t, "--call=targets,format=json", dir)
	var res struct {
		Targets []struct {
			Name, Description, Base string
			Default                 bool
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Targets) != 2 ||
		res.Targets[0].Name != "build" || res.Targets[0].Description != "the builder" || res.Targets[0].Base != "busybox" || !res.Targets[1].Default {
		t.Errorf("json targets (%v): %s", err, out)
	}
}

func TestCallRejectsUnsupported(t *testing.T) {
	dir := writeDockerfile(t, "FROM scratch\n")
	for _, call := range []string{"nosuch", "check,bogus=1"} {
		if _, code := callBuild(t, "--call="+call, dir); code == 0 {
			t.Errorf("--call=%s: exit status %d", call, code)
		}
	}
}

// The warnings' text is what BuildKit v0.34.2's lint subrequest printed for
// the same Dockerfile (buildctl --opt requestid=frontend.lint, recorded in
// testdata with the file name as DOCKERFILE); buildx adds the header line.
func TestCallCheckMatchesBuildKit(t *testing.T) {
	src, err := os.ReadFile("testdata/callcheck/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/callcheck/buildkit-v0.34.2.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir := writeDockerfile(t, string(src))
	out, code := callBuild(t, "--call=check", dir)
	// buildctl starts with an empty line of its own; buildx with its count.
	oracle := strings.TrimPrefix(string(want), "\n")
	wantOut := "Check complete, 6 warnings have been found!\n" + strings.ReplaceAll(oracle, "DOCKERFILE:", filepath.Join(dir, "Dockerfile")+":")
	if code != 1 || out != wantOut {
		t.Errorf("status %d, output differs from BuildKit's:\n got:\n%s\nwant:\n%s", code, out, wantOut)
	}
}

// --call=outline lists the target's build args (doc comments, defaults,
// --build-arg values) and secrets, as buildx prints BuildKit's outline;
// test/differential's TestCalls compares it with buildx itself.
func TestCallOutline(t *testing.T) {
	dir := writeDockerfile(t, "# V is the version\nARG V=1\nFROM scratch AS out\nARG V\nARG MODE=fast\nRUN --mount=type=secret,id=tok,required true\n")
	out, code := callBuild(t, "--call=outline", "--build-arg", "MODE=slow", dir)
	want := "TARGET: out\n\nBUILD ARG   VALUE   DESCRIPTION\nV           1       is the version\nMODE        slow    \n\nSECRET   REQUIRED\ntok      true\n\n"
	if code != 0 || out != want {
		t.Errorf("status %d, output:\n%q\nwant:\n%q", code, out, want)
	}
	if _, code := callBuild(t, "--call=outline", "--target", "nosuch", dir); code == 0 {
		t.Error("an unknown --target succeeded")
	}
}
