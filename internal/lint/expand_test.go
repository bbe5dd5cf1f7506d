package lint

import (
	"fmt"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

// ruleFindings is "line: message" for one rule's findings, in order.
func ruleFindings(t *testing.T, rule, src string, ignore ...string) []string {
	t.Helper()
	df, err := dockerfile.Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range CheckWith(df, Options{Ignore: ignore}) {
		if f.Rule == rule {
			out = append(out, fmt.Sprintf("%d: %s", f.Line, f.Message))
		}
	}
	return out
}

type ruleCase struct {
	name   string
	src    string
	ignore []string
	want   []string
}

func runRuleCases(t *testing.T, rule string, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ruleFindings(t, rule, tc.src, tc.ignore...)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s findings:\n got %q\nwant %q", rule, got, tc.want)
			}
		})
	}
}

func TestUndefinedVar(t *testing.T) {
	runRuleCases(t, "UndefinedVar", []ruleCase{
		{name: "scratch: an unset name", src: "FROM scratch\nCOPY $SRC /x\n",
			want: []string{"2: Usage of undefined variable '$SRC'"}},
		{name: "scratch: a typo, with a suggestion", src: "FROM scratch\nARG VERSION=1\nENV V=${VERSON}\n",
			want: []string{"3: Usage of undefined variable '$VERSON' (did you mean $VERSION?)"}},
		{name: "scratch: PATH is always set", src: "FROM scratch\nENV PATH=/app:$PATH\n"},
		{name: "ARG and ENV defined before use", src: "FROM scratch\nARG A\nARG B=b\nENV C=c\nWORKDIR /$A/$B/$C\n"},
		{name: "ENV pairs do not see each other", src: "FROM scratch\nENV A=1 B=$A\n",
			want: []string{"2: Usage of undefined variable '$A'"}},
		{name: "ARG pairs do", src: "FROM scratch\nARG A=1 B=$A\nUSER $B\n"},
		{name: "defined after use", src: "FROM scratch\nWORKDIR /$DIR\nARG DIR=x\n",
			want: []string{"2: Usage of undefined variable '$DIR'"}},
		{name: "a global ARG not declared in the stage", src: "ARG VERSION=1\nFROM alpine:$VERSION\nLABEL version=$VERSION\n",
			want: []string{"3: Usage of undefined variable '$VERSION'"}},
		{name: "a global ARG declared in the stage", src: "ARG VERSION=1\nFROM alpine:$VERSION\nARG VERSION\nLABEL version=$VERSION\n"},
		{name: "a predefined ARG needs declaring", src: "FROM scratch\nCOPY app-$TARGETARCH /app\nARG TARGETARCH\nCOPY app-$TARGETARCH /app\n",
			want: []string{"2: Usage of undefined variable '$TARGETARCH'"}},
		{name: "a stage inherits its base stage's names", src: "FROM scratch AS base\nARG A\nENV B=b\nFROM base\nWORKDIR /$A/$B\n"},
		{name: "a stage on scratch is known too", src: "FROM scratch AS base\nFROM base\nWORKDIR $DIR\n",
			want: []string{"3: Usage of undefined variable '$DIR'"}},
		{name: "an unknown image: its env is not judged", src: "FROM node:20\nENV PATH=$PATH:/x\nWORKDIR $NODE_HOME\nENV LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/y\n"},
		{name: "an unknown image: a typo of a defined name", src: "FROM alpine\nENV APP_HOME=/app\nWORKDIR $APP_HOEM\n",
			want: []string{"3: Usage of undefined variable '$APP_HOEM' (did you mean $APP_HOME?)"}},
		{name: "an unknown image: well-known names are not typos", src: "FROM golang\nENV GOPATHS=/x\nWORKDIR $GOPATH\n"},
		{name: "default values count as uses", src: "FROM scratch\nWORKDIR ${DIR:-/app}\n",
			want: []string{"2: Usage of undefined variable '$DIR'"}},
		{name: "RUN's command is the shell's business", src: "FROM scratch\nRUN echo $HOME\n"},
		{name: "RUN's mount options are expanded", src: "FROM scratch\nRUN --mount=type=cache,target=$CACHE true\n",
			want: []string{"2: Usage of undefined variable '$CACHE'"}},
		{name: "an unquoted heredoc is expanded", src: "FROM scratch\nCOPY <<EOF /x\n$GREETING\nEOF\n",
			want: []string{"2: Usage of undefined variable '$GREETING'"}},
		{name: "a quoted heredoc is not", src: "FROM scratch\nCOPY <<'EOF' /x\n$GREETING\nEOF\n"},
		{name: "skipped", src: "# check=skip=UndefinedVar\nFROM scratch\nCOPY $SRC /x\n"},
		{name: "skipped by the instruction's comment", src: "FROM scratch\n# check=skip=UndefinedVar\nCOPY $SRC /x\nCOPY $SRC2 /y\n",
			want: []string{"4: Usage of undefined variable '$SRC2'"}},
	})
}

func TestUndefinedArgInFrom(t *testing.T) {
	runRuleCases(t, "UndefinedArgInFrom", []ruleCase{
		{name: "undeclared", src: "FROM alpine:$TAG\n",
			want: []string{"1: FROM argument 'TAG' is not declared"}},
		{name: "a typo", src: "ARG VERSION=3\nFROM alpine:${VERSOIN}\n",
			want: []string{"2: FROM argument 'VERSOIN' is not declared (did you mean VERSION?)"}},
		{name: "declared without a default", src: "ARG TAG\nFROM alpine:${TAG:-3}\n"},
		{name: "declared after FROM is too late", src: "FROM alpine:$TAG\nARG TAG=3\n",
			want: []string{"1: FROM argument 'TAG' is not declared"}},
		{name: "predefined", src: "FROM --platform=$BUILDPLATFORM alpine AS b\nFROM alpine:$TARGETARCH\n"},
		{name: "in --platform", src: "FROM --platform=$BUILDPLATFROM alpine\n",
			want: []string{"1: FROM argument 'BUILDPLATFROM' is not declared (did you mean BUILDPLATFORM?)"}},
		{name: "skipped", src: "# check=skip=UndefinedArgInFrom\nFROM alpine:$TAG\n"},
	})
}

func TestInvalidDefaultArgInFrom(t *testing.T) {
	runRuleCases(t, "InvalidDefaultArgInFrom", []ruleCase{
		{name: "no default", src: "ARG IMAGE\nFROM $IMAGE\n",
			want: []string{"2: Default value for ARG $IMAGE results in empty or invalid base image name"}},
		{name: "an empty tag", src: "ARG TAG\nFROM alpine:${TAG}\n",
			want: []string{"2: Default value for ARG alpine:${TAG} results in empty or invalid base image name"}},
		{name: "a default", src: "ARG TAG=3.19\nFROM alpine:${TAG}\n"},
		{name: "a fallback in the FROM", src: "ARG TAG\nFROM alpine:${TAG:-3.19}\n"},
		{name: "a default from another ARG", src: "ARG V=3\nARG TAG=$V.19\nFROM alpine:$TAG\n"},
		{name: "a stage name", src: "ARG B=base\nFROM scratch AS base\nFROM $B\n"},
		{name: "skipped", src: "# check=skip=InvalidDefaultArgInFrom\nARG IMAGE\nFROM $IMAGE\n"},
	})
}

func TestExposeInvalidFormat(t *testing.T) {
	runRuleCases(t, "ExposeInvalidFormat", []ruleCase{
		{name: "host port", src: "FROM scratch\nEXPOSE 8080:80\n",
			want: []string{"2: EXPOSE instruction should not define an IP address or host-port mapping, found '8080:80'"}},
		{name: "IP and host port", src: "FROM scratch\nEXPOSE 80 127.0.0.1:8080:80/udp\n",
			want: []string{"2: EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:8080:80/udp'"}},
		{name: "from a variable", src: "FROM scratch\nARG PORTS=8080:80\nEXPOSE $PORTS\n",
			want: []string{"3: EXPOSE instruction should not define an IP address or host-port mapping, found '8080:80'"}},
		{name: "ports and ranges", src: "FROM scratch\nEXPOSE 80 443/tcp 53/udp 8000-8010\n"},
		{name: "an invalid protocol fails the build first", src: "FROM scratch\nEXPOSE 1:80/bogus\n"},
		{name: "skipped", src: "# check=skip=ExposeInvalidFormat\nFROM scratch\nEXPOSE 8080:80\n"},
	})
}

func TestCopyIgnoredFile(t *testing.T) {
	runRuleCases(t, "CopyIgnoredFile", []ruleCase{
		{name: "an ignored file", src: "FROM scratch\nCOPY .env config.json /app/\n", ignore: []string{".env"},
			want: []string{`2: Attempting to Copy file ".env" that is excluded by .dockerignore`}},
		{name: "inside an ignored directory, ADD", src: "FROM scratch\nADD ./secrets/key.pem /k\n", ignore: []string{"secrets"},
			want: []string{`2: Attempting to Add file "secrets/key.pem" that is excluded by .dockerignore`}},
		{name: "a wildcard pattern", src: "FROM scratch\nCOPY debug.log /x\n", ignore: []string{"*.log"},
			want: []string{`2: Attempting to Copy file "debug.log" that is excluded by .dockerignore`}},
		{name: "from a variable", src: "FROM scratch\nARG F=node_modules\nCOPY $F /x\n", ignore: []string{"node_modules"},
			want: []string{`3: Attempting to Copy file "node_modules" that is excluded by .dockerignore`}},
		{name: "not ignored", src: "FROM scratch\nCOPY src /src\n", ignore: []string{"node_modules", "*.log"}},
		{name: "the context root", src: "FROM scratch\nCOPY . /src\n", ignore: []string{".git"}},
		{name: "the context root, all ignored but exceptions", src: "FROM scratch\nCOPY . /src\n", ignore: []string{"*", "!src"}},
		{name: "the context root, all ignored", src: "FROM scratch\nCOPY . /src\n", ignore: []string{"**"},
			want: []string{`2: Attempting to Copy file "." that is excluded by .dockerignore`}},
		{name: "exceptions turn the rule off", src: "FROM scratch\nCOPY .env /x\n", ignore: []string{".env", "!keep"}},
		{name: "from another stage", src: "FROM scratch AS b\nFROM scratch\nCOPY --from=b .env /x\n", ignore: []string{".env"}},
		{name: "a URL", src: "FROM scratch\nADD https://example.com/a.tgz /x\n", ignore: []string{"https:"}},
		{name: "an unknown value", src: "FROM scratch\nARG F\nCOPY $F /x\n", ignore: []string{"*"}},
		{name: "no ignore file", src: "FROM scratch\nCOPY .env /x\n"},
		{name: "skipped", src: "# check=skip=CopyIgnoredFile\nFROM scratch\nCOPY .env /x\n", ignore: []string{".env"}},
		// The build's scoping (internal/scope through convert): an ENV
		// wins over an earlier ARG of its name, an ARG given a value
		// after the ENV wins over it, and a default sees the ARGs before
		// it in the same instruction.
		{name: "ENV after ARG", src: "FROM scratch\nARG F=public\nENV F=secret\nCOPY $F /x\n", ignore: []string{"secret"},
			want: []string{`4: Attempting to Copy file "secret" that is excluded by .dockerignore`}},
		{name: "ARG after ENV", src: "FROM scratch\nENV F=secret\nARG F=public\nCOPY $F /x\n", ignore: []string{"secret"}},
		{name: "ARG without a value after ENV", src: "FROM scratch\nARG F=public\nENV F=secret\nARG F\nCOPY $F /x\n", ignore: []string{"secret"},
			want: []string{`5: Attempting to Copy file "secret" that is excluded by .dockerignore`}},
		{name: "an ARG of the same instruction", src: "FROM scratch\nARG D=secret F=${D}/key\nCOPY $F /x\n", ignore: []string{"secret"},
			want: []string{`3: Attempting to Copy file "secret/key" that is excluded by .dockerignore`}},
	})
}

// `# check=skip=` turns kiln's own rules off too.
func TestSkipKilnRules(t *testing.T) {
	src := "# check=skip=WorkdirRelativePath,FinalStageRunsAsRoot\nFROM alpine\nWORKDIR app\n"
	if got := findings(t, src); len(got) != 0 {
		t.Fatalf("skipped rules reported: %v", got)
	}
	if got := findings(t, "# check=skip=all\nFROM golang\nWORKDIR app\nCMD go run .\n"); len(got) != 0 {
		t.Fatalf("skip=all reported: %v", got)
	}
}

// fakeBaseEnv knows "alpine" (on linux/amd64 only, for --platform tests)
// and "base-with-foo", each with FOO in its env.
func fakeBaseEnv(ref string, p ocispec.Platform) ([]string, bool) {
	switch {
	case ref == "base-with-foo":
		return []string{"FOO=1", "HOME=/root"}, true
	case ref == "alpine" && p.OS == "linux" && p.Architecture == "amd64":
		return []string{"FOO=1", "PATH=/bin"}, true
	}
	return nil, false
}

func optsFindings(t *testing.T, rule, src string, o Options) []string {
	t.Helper()
	df, err := dockerfile.Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range CheckWith(df, o) {
		if f.Rule == rule {
			out = append(out, fmt.Sprintf("%d: %s", f.Line, f.Message))
		}
	}
	return out
}

// With the base image's env known, UndefinedVar is BuildKit's: the image's
// names are defined, every other unset name is reported.
func TestUndefinedVarKnownBase(t *testing.T) {
	amd64 := &ocispec.Platform{OS: "linux", Architecture: "amd64"}
	for _, tc := range []struct {
		name, src string
		o         Options
		want      []string
	}{
		{name: "the base's env is defined, nothing else", src: "FROM base-with-foo\nWORKDIR $FOO/$BAR\n",
			want: []string{"2: Usage of undefined variable '$BAR'"}},
		{name: "well-known names are judged too", src: "FROM base-with-foo\nWORKDIR $HOME/$GOPATH\nENV PATH=$PATH:/x\n",
			want: []string{"2: Usage of undefined variable '$GOPATH' (did you mean $PATH?)"}},
		{name: "suggestions include the base's names", src: "FROM base-with-foo\nWORKDIR $FOOO\n",
			want: []string{"2: Usage of undefined variable '$FOOO' (did you mean $FOO?)"}},
		{name: "a stage on a known base is known", src: "FROM base-with-foo AS b\nFROM b\nWORKDIR $FOO/$BAR\n",
			want: []string{"3: Usage of undefined variable '$BAR'"}},
		{name: "an unknown base is conservative", src: "FROM node:20\nWORKDIR $FOO/$BAR/$NODE_HOME\n"},
		{name: "the base name after global ARGs", src: "ARG IMG=base-with-foo\nFROM $IMG\nWORKDIR $FOO/$BAR\n",
			want: []string{"3: Usage of undefined variable '$BAR'"}},
		{name: "the target platform", src: "FROM alpine\nWORKDIR $FOO/$BAR\n", o: Options{Platform: amd64},
			want: []string{"2: Usage of undefined variable '$BAR'"}},
		{name: "another target platform: unknown", src: "FROM alpine\nWORKDIR $FOO/$BAR\n",
			o: Options{Platform: &ocispec.Platform{OS: "linux", Architecture: "s390x"}}},
		{name: "FROM --platform", src: "FROM --platform=linux/amd64 alpine\nWORKDIR $FOO/$BAR\n",
			o:    Options{Platform: &ocispec.Platform{OS: "linux", Architecture: "s390x"}},
			want: []string{"1: FROM --platform flag should not use constant value \"linux/amd64\"", "2: Usage of undefined variable '$BAR'"}},
		{name: "a build argument names the base", src: "ARG IMG=node\nFROM $IMG\nWORKDIR $FOO/$BAR\n",
			o:    Options{BuildArgs: map[string]string{"IMG": "base-with-foo"}},
			want: []string{"3: Usage of undefined variable '$BAR'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.BaseEnv = fakeBaseEnv
			var got []string
			for _, rule := range []string{"FromPlatformFlagConstDisallowed", "UndefinedVar"} {
				got = append(got, optsFindings(t, rule, tc.src, tc.o)...)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// Build arguments: an ARG given one takes it, its default is not expanded;
// InvalidDefaultArgInFrom still judges the defaults.
func TestBuildArgs(t *testing.T) {
	o := Options{BuildArgs: map[string]string{"TAG": "3.19", "V": "x"}}
	if got := optsFindings(t, "InvalidDefaultArgInFrom", "ARG TAG\nFROM alpine:${TAG}\n", o); len(got) != 1 {
		t.Errorf("InvalidDefaultArgInFrom with a build argument: %q, want the finding", got)
	}
	if got := optsFindings(t, "UndefinedVar", "FROM scratch\nARG V=$NOPE\nARG W=$NOPE2\n", o); strings.Join(got, "\n") != "3: Usage of undefined variable '$NOPE2'" {
		t.Errorf("UndefinedVar in a default replaced by a build argument: %q", got)
	}
	// The value is known, so CopyIgnoredFile can judge it.
	o.Ignore = []string{"x"}
	if got := optsFindings(t, "CopyIgnoredFile", "FROM scratch\nARG V\nCOPY $V /x\n", o); len(got) != 1 {
		t.Errorf("CopyIgnoredFile with a build argument: %q, want the finding", got)
	}
}

// Lint runs the build's conversion (convert.Convert): a base stage's ARGs
// and ONBUILD triggers reach the stages built on it (a trigger's words are
// judged at the stage's FROM line), only the stages a --target needs are
// converted, and the build's error stops it there and is reported.
func TestLintRunsTheConversion(t *testing.T) {
	src := "FROM scratch AS base\nARG V=v\nONBUILD COPY $IN_TRIGGER /t\n" +
		"FROM base AS child\nCOPY $V/$IN_CHILD /x\n" +
		"FROM scratch AS failing\nEXPOSE 1:80/bogus\nCOPY $AFTER_ERROR /y\n" +
		"FROM base\nCOPY $IN_LAST /z\n"
	df, err := dockerfile.Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target  string
		want    []string
		errLine int
	}{
		// Every stage, up to the failing one; child is not needed by the
		// last stage, so it gets no triggers.
		{target: "", want: []string{"5: '$IN_CHILD'"}, errLine: 7},
		{target: "child", want: []string{"4: '$IN_TRIGGER'", "5: '$IN_CHILD'"}},
		{target: "failing", errLine: 7},
	} {
		res := Run(df, Options{Target: tc.target})
		var got []string
		for _, f := range res.Findings {
			if f.Rule == "UndefinedVar" {
				got = append(got, fmt.Sprintf("%d: %s", f.Line, strings.TrimPrefix(f.Message, "Usage of undefined variable ")))
			}
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("target %q: UndefinedVar at %q, want %q", tc.target, got, tc.want)
		}
		switch {
		case tc.errLine == 0 && res.Err != nil:
			t.Errorf("target %q: build error %v", tc.target, res.Err)
		case tc.errLine != 0 && (res.Err == nil || res.Err.Line != tc.errLine):
			t.Errorf("target %q: build error %v, want one at line %d", tc.target, res.Err, tc.errLine)
		}
	}
}
