package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/platforms"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/bake"
)

// bakeFlags are `docker buildx bake`'s flags.
type bakeFlags struct {
	files, sets, vars, allow                             []string
	list, progress, metadataFile, call, jobs, sbom, prov string
	print, push, load, noCache, pull                     bool
}

func newBakeCmd(g *globalFlags) *cobra.Command {
	f := &bakeFlags{}
	cmd := &cobra.Command{
		Use:   "bake [OPTIONS] [TARGET...]",
		Short: "Build the targets of docker-bake.hcl, docker-bake.json or compose.yaml in one process",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBake(cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.files, "file", "f", nil, "build definition file (default: compose.yaml … docker-bake.override.hcl in the working directory, or $BUILDX_BAKE_FILE)")
	fl.StringArrayVar(&f.sets, "set", nil, `override a target value: "pattern.key[+]=value" (pattern: a target, * or prefix*)`)
	fl.StringArrayVar(&f.vars, "var", nil, `set a variable: "name=value"`)
	fl.StringVar(&f.list, "list", "", "list targets or variables: targets, variables, or type=T,format=json")
	fl.BoolVar(&f.print, "print", false, "print the resolved definition as JSON without building")
	fl.BoolVar(&f.push, "push", false, `shorthand for "--set=*.push=true"`)
	fl.BoolVar(&f.load, "load", false, `shorthand for "--set=*.load=true"`)
	fl.BoolVar(&f.noCache, "no-cache", false, "do not use the build cache")
	fl.BoolVar(&f.pull, "pull", false, "always pull base images")
	fl.StringVar(&f.sbom, "sbom", "", `shorthand for "--set=*.attest=type=sbom"`)
	fl.StringVar(&f.prov, "provenance", "", `shorthand for "--set=*.attest=type=provenance"`)
	fl.StringVar(&f.progress, "progress", "auto", "progress output: auto, tty, plain, rawjson, quiet")
	fl.StringVar(&f.metadataFile, "metadata-file", "", "write each target's build result as JSON, as buildx does")
	fl.StringVar(&f.call, "call", "build", "method to evaluate: build or check")
	fl.BoolFunc("check", `shorthand for "--call=check"`, func(string) error { f.call = "check"; return nil })
	fl.StringArrayVar(&f.allow, "allow", nil, "allow access to resources: fs.read=PATH, fs.write=PATH, fs=PATH, network.host, security.insecure")
	fl.StringVarP(&f.jobs, "jobs", "j", "", `how many targets build at once: "N" or "fail-fast[,parallel=N]" (default: the CPU count)`)
	return cmd
}

// bakeOverrides turns the shorthand flags into --set values, as buildx.
func (f *bakeFlags) overrides(cmd *cobra.Command) []string {
	o := append([]string(nil), f.sets...)
	if f.push {
		o = append(o, "*.push=true")
	}
	if f.load {
		o = append(o, "*.load=true")
	}
	if f.call != "" && f.call != "build" {
		o = append(o, "*.call="+f.call)
	}
	if cmd.Flags().Changed("no-cache") {
		o = append(o, fmt.Sprintf("*.no-cache=%t", f.noCache))
	}
	if cmd.Flags().Changed("pull") {
		o = append(o, fmt.Sprintf("*.pull=%t", f.pull))
	}
	if f.sbom != "" {
		o = append(o, "*.attest="+attestShorthand("sbom", f.sbom))
	}
	if f.prov != "" {
		o = append(o, "*.attest="+attestShorthand("provenance", f.prov))
	}
	return o
}

func attestShorthand(kind, v string) string {
	switch v {
	case "true", "1":
		return "type=" + kind
	case "false", "0":
		return "type=" + kind + ",disabled=true"
	}
	if strings.HasPrefix(v, "type=") {
		return v
	}
	return "type=" + kind + "," + v
}

// loadBake reads and parses the definition files.
func (f *bakeFlags) readConfig(cmd *cobra.Command) (*bake.Config, []*bake.Variable, error) {
	names := f.files
	if len(names) == 0 {
		env, err := bake.FilesFromEnv(os.LookupEnv)
		if err != nil {
			return nil, nil, err
		}
		names = env
	}
	files, err := bake.ReadFiles(names, cmd.InOrStdin())
	if err != nil {
		return nil, nil, err
	}
	vars := map[string]string{}
	for _, v := range f.vars {
		if v == "" {
			continue
		}
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return nil, nil, usageError{fmt.Errorf("invalid variable %q, expected key=value", v)}
		}
		if k == "" {
			return nil, nil, usageError{fmt.Errorf("invalid variable %q, key is empty", v)}
		}
		vars[k] = val
	}
	defaults := map[string]string{
		"BAKE_CMD_CONTEXT":    "cwd://",
		"BAKE_LOCAL_PLATFORM": platforms.Format(platforms.DefaultSpec()),
	}
	return bake.Parse(files, defaults, vars)
}

func runBake(cmd *cobra.Command, g *globalFlags, f *bakeFlags, args []string) error {
	if f.print && f.list != "" {
		return usageError{errors.New("--print and --list are mutually exclusive")}
	}
	switch f.call {
	case "build", "check":
	default:
		return usageError{fmt.Errorf("--call=%s is not supported yet (build, check)", f.call)}
	}
	if len(args) > 0 && remoteDefinition(args[0]) {
		return fmt.Errorf("remote bake definitions (%s) are not supported yet: clone it and run kiln bake in it", args[0])
	}
	if v := os.Getenv("BUILDX_BAKE_FILE_RELATIVE_PATHS"); v != "" && v != "0" && v != "false" {
		return errors.New("BUILDX_BAKE_FILE_RELATIVE_PATHS is not supported yet: contexts are relative to the working directory")
	}
	cfg, vars, err := f.readConfig(cmd)
	if err != nil {
		return err
	}
	if f.list != "" {
		req, err := bake.ParseListRequest(f.list)
		if err != nil {
			return usageError{err}
		}
		if req.Type == "variables" {
			return bake.ListVariables(cmd.OutOrStdout(), req.Format, vars)
		}
		return cfg.ListTargets(cmd.OutOrStdout(), req.Format)
	}
	res, err := cfg.Resolve(args, f.overrides(cmd))
	if err != nil {
		return err
	}
	sourceDateEpoch(res)
	if f.print {
		return res.Print(cmd.OutOrStdout())
	}
	return bakeBuild(cmd, g, f, res)
}

// remoteDefinition tells a remote bake definition (a git or https URL as
// the first argument) from a target name.
func remoteDefinition(s string) bool {
	for _, p := range []string{"https://", "http://", "git://", "git@", "ssh://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return strings.HasSuffix(s, ".git")
}

// sourceDateEpoch passes SOURCE_DATE_EPOCH from the environment as a build
// argument of every target that does not set it, as buildx does.
func sourceDateEpoch(res *bake.Resolved) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return
	}
	for _, t := range res.Targets {
		if _, set := t.Args["SOURCE_DATE_EPOCH"]; set {
			continue
		}
		if t.Args == nil {
			t.Args = map[string]*string{}
		}
		t.Args["SOURCE_DATE_EPOCH"] = &v
	}
}
