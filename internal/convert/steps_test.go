package convert

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The names are BuildKit v0.34.2's for the same instructions (the
// progress goldens of test/differential hold them as the oracle printed).
func TestStepName(t *testing.T) {
	env := []string{"P=/usr/local", "NAME=world", "TOKEN=fromenv"}
	for _, c := range []struct{ line, want string }{
		{`RUN echo $P ${P}/bin '$P' "$P" $UNSET`, `RUN echo /usr/local /usr/local/bin '$P' "/usr/local" $UNSET`},
		{`run echo lower`, `RUN echo lower`},
		{`RUN ["echo", "exec form"]`, `RUN ["echo", "exec form"]`},
		{`RUN --mount=type=secret,id=s,env=TOKEN echo "token is $TOKEN"`, `RUN --mount=type=secret,id=s,env=TOKEN echo "token is ****"`},
		{"RUN <<EOT\necho one\necho two\nEOT", "RUN <<EOT (echo one...)"},
		{"RUN <<EOT\necho one\nEOT", "RUN <<EOT (echo one)"},
		{`COPY --chown=1:1 "${NAME}.txt" $P/`, `COPY --chown=1:1 world.txt /usr/local/`},
		{"COPY <<EOT /greeting\nhello\nEOT", "COPY <<EOT /greeting"},
		{`workdir $P/sub`, `WORKDIR /usr/local/sub`},
		{`ADD --link f /f`, `ADD --link f /f`},
	} {
		cmd := commands(t, c.line+"\n")[0]
		// Named after expansion, as BuildKit's dispatch does: RUN's mounts
		// are parsed then; the text named is the command as written.
		if err := Expand("Dockerfile", '\\', cmd, env); err != nil {
			t.Fatal(err)
		}
		if got := StepName(cmd, env, '\\'); got != c.want {
			t.Errorf("%q: got %q, want %q", c.line, got, c.want)
		}
	}
}

func TestStepsNumbering(t *testing.T) {
	cmds := commands(t, "ENV A=1\nWORKDIR /\nRUN a\nCOPY a b\nADD a b\nWORKDIR /w\nCMD x\n")
	s := Steps{Stage: "base", Total: StepTotal(true, cmds)}
	if s.Total != 6 {
		t.Fatalf("total %d, want 6 (FROM, two WORKDIRs, RUN, COPY, ADD)", s.Total)
	}
	if got := s.Next("FROM x"); got != "[base 1/6] FROM x" {
		t.Errorf("got %q", got)
	}
	s.OnBuild = true
	if got := s.Next("RUN a"); got != "[base 2/6] ONBUILD RUN a" {
		t.Errorf("got %q", got)
	}
	s.OnBuild, s.Stage = false, ""
	if got := s.Again("LINK COPY a b"); got != "[2/6] LINK COPY a b" {
		t.Errorf("got %q", got)
	}
	wide := Steps{Total: 11}
	if got := wide.Next("RUN a"); got != "[ 1/11] RUN a" {
		t.Errorf("width: got %q", got)
	}
	if got := (&Steps{}).Next("RUN a"); got != "RUN a" {
		t.Errorf("no total: got %q", got)
	}
}

func TestPlatformPrefix(t *testing.T) {
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	for _, c := range []struct {
		env  []string
		want string
	}{
		{nil, "linux/amd64 "},
		{[]string{"TARGETPLATFORM=linux/amd64"}, "linux/amd64 "},
		{[]string{"TARGETPLATFORM=linux/arm64"}, "linux/amd64->arm64 "},
		{[]string{"TARGETARCH=arm", "TARGETVARIANT=v7"}, "linux/amd64->arm/v7 "},
		{[]string{"TARGETOS=windows"}, "linux/amd64->windows/amd64 "},
	} {
		if got := PlatformPrefix(amd64, c.env); got != c.want {
			t.Errorf("%v: got %q, want %q", c.env, got, c.want)
		}
	}
}
