package convert

import (
	"fmt"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/kiln-build/kiln/internal/scope"
)

// Run is what a RUN means before anything runs: the process, its network
// and hostname, and how the step is shown and recorded. Its mounts (and
// their content) are the op's, set up only when the step runs.
type Run struct {
	Name     string   // progress line: RUN npm ci
	History  string   // BuildKit's created_by
	Args     []string // argv, SHELL applied
	Env      []string // the image's ENV and the stage's ARGs (not the proxies)
	ProxyEnv []string // proxy build args, given to the process only
	Cwd      string
	User     string
	Network  string // default, host or none
	Hostname string // "" for the executor's default
	Insecure bool   // --security=insecure: a privileged process
	// Script is a heredoc with a shebang, mounted at its Target and run.
	Script *Script
}

// Script is a RUN heredoc run as a file.
type Script struct {
	Target string // /dev/pipes/NAME
	Data   string
}

// RunOf converts a RUN (already expanded) in the stage's state.
// buildNetwork is --network ("" for the default).
func RunOf(s *State, c *instructions.RunCommand, buildNetwork string) (Run, error) {
	cmdLine := c.ShellDependantCmdLine
	r := Run{Cwd: s.WorkDir(), User: s.Img.Config.Config.User, Env: s.RunEnv()}
	if len(c.Files) > 0 {
		var err error
		if cmdLine.CmdLine, r.Script, err = heredoc(c); err != nil {
			return Run{}, err
		}
	}
	r.Args = s.ShellForm(cmdLine)
	r.Name = "RUN " + strings.Join(c.CmdLine, " ")
	r.History = "RUN " + runHistory(r.Args, s.Args) + " # buildkit"
	r.Network = buildNetwork
	// GetNetwork says "default" when RUN has no --network flag: only a
	// real flag overrides the build's --network.
	if n := instructions.GetNetwork(c); n != "" && n != instructions.NetworkDefault {
		r.Network = n
	}
	if r.Network == "" {
		r.Network = "default"
	}
	// BuildKit's Dockerfile frontend takes RUN's hostname from this build
	// arg (no ARG needed), for every RUN of the build.
	r.Hostname = s.BuildArgs["BUILDKIT_SANDBOX_HOSTNAME"]
	r.ProxyEnv = proxyEnv(s.BuildArgs)
	r.Insecure = instructions.GetSecurity(c) == instructions.SecurityInsecure
	return r, nil
}

// heredoc turns RUN <<EOF into what BuildKit runs: a script with a shebang
// is mounted at /dev/pipes/NAME and executed; other content is handed to
// the shell; several heredocs are put back together for the shell.
func heredoc(c *instructions.RunCommand) ([]string, *Script, error) {
	args := c.CmdLine
	if len(args) != 1 || !c.PrependShell {
		return nil, nil, fmt.Errorf("parsing produced an invalid run command: %v", args)
	}
	h := parser.MustParseHeredoc(args[0])
	if h == nil {
		var b strings.Builder
		b.WriteString(args[0])
		for _, f := range c.Files {
			b.WriteString("\n" + f.Data + f.Name)
		}
		return []string{b.String()}, nil, nil
	}
	data := c.Files[0].Data
	if c.Files[0].Chomp {
		data = parser.ChompHeredocContent(data)
	}
	if !strings.HasPrefix(data, "#!") {
		return []string{data}, nil, nil
	}
	target := path.Join("/dev/pipes", c.Files[0].Name)
	return []string{target}, &Script{Target: target, Data: data}, nil
}

// runHistory is BuildKit's created_by text: declared build args, counted,
// before the command ("|2 A=1 B=2 /bin/sh -c make").
func runHistory(args []string, buildArgs scope.Args) string {
	if len(buildArgs) == 0 {
		return strings.Join(args, " ")
	}
	parts := []string{fmt.Sprintf("|%d", len(buildArgs))}
	for _, a := range buildArgs {
		parts = append(parts, a.Key+"="+a.Value)
	}
	return strings.Join(append(parts, args...), " ")
}

// proxyArgs are the build args BuildKit predefines for proxies: RUN sees
// them without an ARG, but they stay out of the image, history and key.
var proxyArgs = []string{"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"}

// proxyEnv exports each proxy build arg in both spellings, as BuildKit's
// llb.ProxyEnv does; given in both, the lower-case one wins (BuildKit reads
// the args in sorted order).
func proxyEnv(buildArgs map[string]string) []string {
	var env []string
	for _, k := range proxyArgs {
		v, ok := buildArgs[strings.ToLower(k)]
		if !ok {
			v, ok = buildArgs[k]
		}
		if ok {
			env = append(env, k+"="+v, strings.ToLower(k)+"="+v)
		}
	}
	return env
}
