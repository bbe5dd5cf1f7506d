package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/internal/exporter"
	"github.com/kiln-build/kiln/internal/imports"
	"github.com/kiln-build/kiln/internal/remotecache"
	"github.com/kiln-build/kiln/internal/session"
)

type buildFlags struct {
	file, target, progress, network, iidfile, shmSize, metadataFile, call                                                               string
	annotations, tags, buildArgs, labels, outputs, secrets, noCacheFilter, platforms, hosts, ulimits, contexts, ssh, cacheTo, cacheFrom []string
	allow                                                                                                                               []string
	noCache, quiet, verify, pull, push, explain, load, report, check, kilnRules                                                         bool
	attest                                                                                                                              attestFlags
}

func newBuildCmd(g *globalFlags) *cobra.Command {
	f := &buildFlags{}
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH",
		Short: "Build an image from a Dockerfile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := f.call
			if f.check {
				spec = "check" // buildx's --check is --call=check
			}
			call, err := parseCall(spec)
			if err != nil {
				return err
			}
			if call != nil {
				return runCall(cmd, call, args[0], f.file, f.kilnRules)
			}
			c, err := g.decideIsolation()
			if err != nil {
				return err
			}
			if answeredFromCache(cmd, c, g, f, args[0]) {
				return nil
			}
			mode, err := c.require(cmd.Context())
			if err != nil {
				return err
			}
			// In the store's tmp/, so what a killed build staged is removed
			// at the next start.
			stdinDir := func() (string, error) {
				s, err := openStore(g)
				if err != nil {
					return "", err
				}
				return s.TempDir("stdin")
			}
			contextDir, file, cleanup, err := stdinInputs(cmd.Context(), cmd.InOrStdin(), args[0], f.file, stdinDir)
			if err != nil {
				return err
			}
			defer cleanup()
			f.file = file
			o, err := f.options(contextDir, g)
			if err != nil {
				return usageError{err}
			}
			o.Out = cmd.ErrOrStderr()
			o.Isolation = mode
			run := session.Run
			if f.verify {
				run = session.VerifyReproducible
			}
			res, err := run(cmd.Context(), o)
			if err != nil {
				if cmd.Context().Err() == nil {
					Report(cmd.ErrOrStderr(), err, f.dockerfilePath(contextDir))
				}
				return reported{err}
			}
			if f.quiet {
				fmt.Fprintln(cmd.OutOrStdout(), res.Descriptor.Digest)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "name of the Dockerfile (default: PATH/Dockerfile)")
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, "name and optionally a tag (name:tag)")
	fl.StringVar(&f.target, "target", "", "target build stage (default: the last)")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "set a build-time variable (K=V, or K to take it from the environment)")
	fl.StringArrayVar(&f.labels, "label", nil, "set metadata for the image (K=V)")
	fl.StringArrayVar(&f.annotations, "annotation", nil, "add an annotation: [type[,type][platform]:]key=value, type manifest (default), manifest-descriptor or index")
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "output destination (type=oci,dest=app.tar)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "secret to expose to RUN --mount=type=secret (id=KEY,src=FILE or id=KEY,env=VAR)")
	fl.StringVar(&f.progress, "progress", "auto", "progress output: auto (tty on a terminal, else plain), tty, plain, rawjson, quiet")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not use the build cache")
	fl.StringSliceVar(&f.noCacheFilter, "no-cache-filter", nil, "rebuild these stages without the cache")
	fl.StringVar(&f.network, "network", "default", "network for RUN: default, host, none")
	fl.StringSliceVar(&f.allow, "allow", nil, "grant an entitlement: network.host (RUN --network=host), security.insecure (RUN --security=insecure)")
	fl.StringVar(&f.iidfile, "iidfile", "", "write the image ID to the file")
	fl.StringArrayVar(&f.platforms, "platform", nil, "target platforms (linux/amd64,linux/arm64); several make an image index")
	fl.StringArrayVar(&f.hosts, "add-host", nil, "add a host:ip line to /etc/hosts of RUN steps")
	fl.StringVar(&f.shmSize, "shm-size", "", "size of /dev/shm in RUN steps (e.g. 128m)")
	fl.StringArrayVar(&f.ulimits, "ulimit", nil, "resource limit of RUN steps (nofile=1024:2048)")
	fl.StringArrayVar(&f.contexts, "build-context", nil, "named context: name=DIR, name=docker-image://REF or name=oci-layout://PATH[:TAG][@DIGEST]")
	fl.BoolVar(&f.explain, "explain-cache", false, "for every step that misses the cache, say which input changed")
	fl.StringVar(&f.metadataFile, "metadata-file", "", "write the build result's digest and descriptor as JSON, as buildx does")
	fl.BoolVar(&f.load, "load", false, "load the single-platform result into a reachable Docker daemon (docker load)")
	fl.StringArrayVar(&f.ssh, "ssh", nil, "ssh agent for RUN --mount=type=ssh: default (=$SSH_AUTH_SOCK) or id=SOCKET")
	fl.StringArrayVar(&f.cacheTo, "cache-to", nil, "export the build cache: type=registry,ref=R, type=local,dest=DIR or type=s3,bucket=B,region=R (,mode=max; ,cache-mounts=true adds RUN cache mounts; docs/remote-cache.md)")
	fl.StringArrayVar(&f.cacheFrom, "cache-from", nil, "import a build cache: type=registry,ref=R, type=local,src=DIR or type=s3,bucket=B,region=R")
	fl.BoolVar(&f.report, "report", false, "print the image's size next to the size of each stage it copies from")
	fl.BoolVar(&f.check, "check", false, `shorthand for "--call=check"`)
	fl.StringVar(&f.call, "call", "", "instead of building, as buildx: check (BuildKit's lint rules; exit status 1 on warnings), outline (the target's build args, secrets and ssh) or targets, with ,format=json and ,ignorestatus=true")
	fl.BoolVar(&f.kilnRules, "kiln-rules", false, "with --call=check, also report kiln's own rules (UnusedStage, FinalStageRunsAsRoot, ...)")
	fl.BoolVar(&f.pull, "pull", false, "always pull base images, even when the store has them")
	fl.BoolVar(&f.push, "push", false, "push the image to the registry of each -t name")
	fl.BoolVar(&f.verify, "verify-reproducible", false, "build twice (the second time without the cache) and fail if the digests differ")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only the image ID")
	f.attest.register(fl)
	return cmd
}

func (f *buildFlags) options(contextDir string, g *globalFlags) (session.Options, error) {
	o := session.Options{
		ContextDir: contextDir, Dockerfile: f.file, Tags: f.tags, Target: f.target,
		Progress: f.progress, NoCache: f.noCache, IIDFile: f.iidfile, Quiet: f.quiet,
		StoreRoot: g.root, NoCacheFor: f.noCacheFilter, Explain: f.explain, Report: f.report, ConfigPath: g.config, Platforms: f.platforms, Pull: f.pull, Push: f.push, BuildArgs: map[string]string{}, Labels: map[string]string{},
	}
	switch f.network {
	case "default", "host", "none":
		o.Network = f.network
	default:
		return o, fmt.Errorf("invalid --network %q: want default, host or none", f.network)
	}
	if f.quiet {
		o.Progress = "quiet"
	}
	if o.Progress == "auto" && isTerminal(os.Stderr) {
		o.Progress = "tty"
	}
	for _, a := range f.buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			if v, ok = os.LookupEnv(k); !ok {
				continue // as docker: a bare name absent from the environment is ignored
			}
		}
		o.BuildArgs[k] = v
	}
	att, err := f.attest.parse(o.BuildArgs)
	if err != nil {
		return o, usageError{err}
	}
	o.Attest = att
	for _, a := range f.annotations {
		ann, err := exporter.ParseAnnotation(a)
		if err != nil {
			return o, usageError{err}
		}
		o.Annotations = append(o.Annotations, ann)
	}
	for _, l := range f.labels {
		k, v, _ := strings.Cut(l, "=")
		o.Labels[k] = v
	}
	run, err := runOptions(f.hosts, f.shmSize, f.ulimits)
	if err != nil {
		return o, err
	}
	if run.Allow, err = entitlements(f.allow, o.Network); err != nil {
		return o, err
	}
	o.Run = run
	if o.Contexts, err = namedContexts(f.contexts); err != nil {
		return o, err
	}
	if o.SSH, err = sshAgents(f.ssh); err != nil {
		return o, err
	}
	for _, c := range f.cacheTo {
		sp, err := remotecache.ParseSpec(c)
		if err != nil {
			return o, err
		}
		o.CacheTo = append(o.CacheTo, sp)
	}
	for _, c := range f.cacheFrom {
		sp, err := remotecache.ParseSpec(c)
		if err != nil {
			return o, err
		}
		o.CacheFrom = append(o.CacheFrom, sp)
	}
	o.Secrets = map[string][]byte{}
	for _, s := range f.secrets {
		id, value, err := session.ParseSecret(s)
		if err != nil {
			return o, err
		}
		o.Secrets[id] = value
	}
	for _, s := range f.outputs {
		out, err := exporter.ParseOutput(s)
		if err != nil {
			return o, err
		}
		o.Outputs = append(o.Outputs, out)
		o.Annotations = append(o.Annotations, out.Annotations...)
	}
	o.Compression, o.CompressionLevel = exporter.LayerCompression(o.Outputs)
	o.MetadataFile, o.Load = f.metadataFile, f.load
	return o, nil
}

// reported is a build error already printed with its context.
type reported struct{ error }

func (r reported) Unwrap() error { return r.error }

// IsReported reports whether err was already printed.
func IsReported(err error) bool {
	var r reported
	return errors.As(err, &r)
}

// usageError marks bad command-line input (exit code 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// IsUsage reports whether err is a usage error.
func IsUsage(err error) bool {
	_, ok := err.(usageError)
	return ok
}

// dockerfilePath is where the Dockerfile is read from, for error excerpts.
func (f *buildFlags) dockerfilePath(contextDir string) string {
	if f.file != "" {
		return f.file
	}
	return filepath.Join(contextDir, "Dockerfile")
}

// namedContexts parses --build-context name=DIR|docker-image://REF|oci-layout://PATH.
func namedContexts(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("invalid --build-context %q: want name=DIR, name=docker-image://REF or name=oci-layout://PATH", v)
		}
		switch {
		case strings.HasPrefix(value, "docker-image://"):
		case strings.HasPrefix(value, "oci-layout://"):
			lr, err := imports.ParseLayoutRef(value)
			if err != nil {
				return nil, fmt.Errorf("--build-context %s: %w", name, err)
			}
			if lr.Dir, err = filepath.Abs(lr.Dir); err != nil {
				return nil, err
			}
			if _, err := os.Stat(filepath.Join(lr.Dir, "index.json")); err != nil {
				return nil, fmt.Errorf("--build-context %s: %s is not an OCI image layout (no index.json)", name, lr.Dir)
			}
			value = lr.String()
		case strings.Contains(value, "://"):
			return nil, fmt.Errorf("--build-context %s: only directories, docker-image:// and oci-layout:// are supported yet", v)
		default:
			abs, err := filepath.Abs(value)
			if err != nil {
				return nil, err
			}
			if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("--build-context %s: %s is not a directory", name, value)
			}
			value = abs
		}
		out[strings.ToLower(name)] = value
	}
	return out, nil
}

// sshAgents parses --ssh default|id[=socket]: without a socket, $SSH_AUTH_SOCK.
func sshAgents(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		id, sock, ok := strings.Cut(v, "=")
		if !ok || sock == "" {
			sock = os.Getenv("SSH_AUTH_SOCK")
			if sock == "" {
				return nil, fmt.Errorf("--ssh %s: no socket given and SSH_AUTH_SOCK is not set (is an ssh agent running?)", id)
			}
		}
		if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("--ssh %s: %s is not a socket", id, sock)
		}
		out[id] = sock
	}
	return out, nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
