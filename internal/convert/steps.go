package convert

import (
	"fmt"
	"math"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Steps numbers a stage's progress lines as BuildKit's dockerfile2llb
// does: "[base 2/4] RUN …". Only FROM an image, RUN, COPY, ADD and a
// WORKDIR that makes a directory take a number; the total also counts
// every WORKDIR and the base image's ONBUILD triggers.
type Steps struct {
	Stage    string // "" when the Dockerfile has a single stage
	Total    int    // 0: lines carry no prefix at all
	Platform string // "linux/arm64 " in a multi-platform build, else ""
	OnBuild  bool   // the instruction is an ONBUILD trigger
	index    int
}

// StepTotal is what BuildKit counts for a stage: FROM when its base is an
// image (not scratch, not a stage), each RUN, COPY, ADD and WORKDIR.
func StepTotal(fromImage bool, cmds []instructions.Command) int {
	n := 0
	if fromImage {
		n = 1
	}
	for _, c := range cmds {
		switch c.(type) {
		case *instructions.RunCommand, *instructions.CopyCommand, *instructions.AddCommand, *instructions.WorkdirCommand:
			n++
		}
	}
	return n
}

// Next numbers the next step and returns its line.
func (s *Steps) Next(name string) string {
	if s.Total == 0 {
		return name
	}
	s.index++
	return s.label(name)
}

// Again gives name the number of the last step (COPY --link's second
// vertex, "LINK COPY …").
func (s *Steps) Again(name string) string {
	if s.Total == 0 {
		return name
	}
	return s.label(name)
}

func (s *Steps) label(name string) string {
	out := "[" + s.Platform
	if s.Stage != "" {
		out += s.Stage + " "
	}
	out += fmt.Sprintf("%*d/%d] ", int(1+math.Log10(float64(s.Total))), s.index, s.Total)
	if s.OnBuild {
		out += "ONBUILD "
	}
	return out + name
}

// PlatformPrefix is a multi-platform build's "linux/arm64 " before a step
// of a stage on p, with "->arm64" when the stage's TARGET* args (in env)
// name another architecture or OS, as in a cross-compiling stage.
func PlatformPrefix(p ocispec.Platform, env []string) string {
	out := platforms.FormatAll(p)
	if t := targetFromEnv(env); t != nil {
		if t.OS == "" {
			t.OS = p.OS
		}
		if t.Architecture == "" {
			t.Architecture = p.Architecture
		}
		n := platforms.Normalize(*t)
		switch {
		case n.OS == p.OS && n.Architecture != p.Architecture:
			out += "->" + n.Architecture
			if n.Variant != "" {
				out += "/" + n.Variant
			}
		case n.OS != p.OS:
			out += "->" + platforms.FormatAll(n)
		}
	}
	return out + " "
}

// targetFromEnv is the platform the TARGET* variables of env name, nil
// when none is set (BuildKit's platformFromEnv).
func targetFromEnv(env []string) *ocispec.Platform {
	var p ocispec.Platform
	set := false
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "TARGETPLATFORM":
			if tp, err := platforms.Parse(v); err == nil {
				return &tp
			}
		case "TARGETOS":
			p.OS, set = v, true
		case "TARGETARCH":
			p.Architecture, set = v, true
		case "TARGETVARIANT":
			p.Variant, set = v, true
		}
	}
	if !set {
		return nil
	}
	return &p
}

// StepName is how BuildKit shows RUN, COPY, ADD and WORKDIR: the
// instruction as written, keyword upper-cased, its variables expanded in
// env (the stage's environment before it). RUN keeps quotes, escapes and
// unset variables as written, masks its secret env mounts as "****", and
// sums up a heredoc it runs: "RUN <<EOT (echo one...)".
func StepName(cmd instructions.Command, env []string, escape rune) string {
	text := cmd.(fmt.Stringer).String()
	lex := shell.NewLex(escape)
	if r, ok := cmd.(*instructions.RunCommand); ok {
		lex.RawQuotes, lex.RawEscapes, lex.SkipUnsetEnv = true, true, true
		env = maskSecretEnv(r, env)
		if len(r.Files) > 0 && len(r.CmdLine) == 1 && parser.MustParseHeredoc(r.CmdLine[0]) != nil {
			text += fmt.Sprintf(" (%s)", summarizeHeredoc(r.Files[0].Data))
		}
	}
	if w, _, err := lex.ProcessWord(text, shell.EnvsFromSlice(env)); err == nil {
		text = w
	}
	kw, rest, ok := strings.Cut(text, " ")
	if !ok {
		return strings.ToUpper(kw)
	}
	return strings.ToUpper(kw) + " " + rest
}

// maskSecretEnv sets the variables RUN's secret mounts fill to "****".
func maskSecretEnv(r *instructions.RunCommand, env []string) []string {
	var masked []string
	for _, m := range instructions.GetMounts(r) {
		if m.Type == instructions.MountTypeSecret && m.Env != nil {
			masked = append(masked, *m.Env+"=****")
		}
	}
	if masked == nil {
		return env
	}
	return append(append([]string(nil), env...), masked...)
}

// summarizeHeredoc is a heredoc's first line, "..." when it has more.
func summarizeHeredoc(doc string) string {
	lines := strings.Split(strings.ReplaceAll(strings.TrimSpace(doc), "\r\n", "\n"), "\n")
	if len(lines) > 1 {
		return lines[0] + "..."
	}
	return lines[0]
}
