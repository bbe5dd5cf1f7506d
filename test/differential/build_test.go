package differential

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	units "github.com/docker/go-units"

	"github.com/kiln-build/kiln/test/harness"
	"github.com/kiln-build/kiln/test/oracletest"
)

// buildKiln builds the case with kiln on a store holding the busybox base
// (other bases come from the test registry, the docker.io mirror).
func buildKiln(t *testing.T, env *suite, c *testCase) Result {
	t.Helper()
	ctx := c.makeContext(t)
	tar := filepath.Join(t.TempDir(), "image.tar")
	s := harness.NewStore(t, harness.Busybox)
	s.Config = env.reg.Config(t, true)
	args := append([]string{"build", "--progress", "plain", "-o", "type=oci,dest=" + tar}, c.flagsFor(ctx)...)
	r := s.Run(t, append(args, ctx)...)
	if r.Code != 0 {
		return Result{Fails: true, Error: errorLines(r.Stderr)}
	}
	return Result{Images: normalize(t, tar, testBases(t))}
}

// buildOracle builds the case with BuildKit, through buildctl: buildx has
// no way to set the frontend's cmdline option, which makes the Dockerfile
// frontend ignore a `# syntax=` line and build with itself (the version
// under test) instead of pulling a frontend image. buildctlFlags
// translates the case's buildx flags the way buildx does.
func buildOracle(t *testing.T, o *oracletest.Oracle, c *testCase) Result {
	t.Helper()
	ctx := c.makeContext(t)
	tar := filepath.Join(t.TempDir(), "image.tar")
	flags, err := buildctlFlags(c.flagsFor(ctx))
	if err != nil {
		t.Fatalf("case %s: %v", c.name, err)
	}
	args := append([]string{"build", "--progress", "plain", "--frontend", "dockerfile.v0",
		"--local", "context=" + ctx, "--local", "dockerfile=" + ctx, "--opt", "cmdline=",
		"--output", "type=oci,dest=" + tar}, flags...)
	r := o.Buildctl(t, args...)
	if r.Code != 0 {
		return Result{Fails: true, Error: snapshotIDs.ReplaceAllString(errorLines(r.Stderr), "ref (id)")}
	}
	return Result{Images: normalize(t, tar, testBases(t))}
}

// flagsFor resolves the case's relative paths (secrets, named contexts)
// against its context dir.
func (c *testCase) flagsFor(ctx string) []string {
	out := make([]string, len(c.flags))
	for i, f := range c.flags {
		out[i] = strings.ReplaceAll(f, "$CONTEXT", ctx)
	}
	return out
}

// buildctlFlags maps buildx build flags onto buildctl's, as buildx maps
// them onto the solve request.
func buildctlFlags(flags []string) ([]string, error) {
	var out []string
	for i := 0; i < len(flags); i++ {
		if flags[i] == "--no-cache" {
			out = append(out, "--no-cache")
			continue
		}
		name, val, inline := strings.Cut(flags[i], "=")
		if !inline {
			if i+1 >= len(flags) {
				return nil, fmt.Errorf("flag %s has no value", name)
			}
			i++
			val = flags[i]
		}
		switch name {
		case "--build-arg":
			out = append(out, "--opt", "build-arg:"+val)
		case "--label":
			out = append(out, "--opt", "label:"+val)
		case "--target":
			out = append(out, "--opt", "target="+val)
		case "--platform":
			out = append(out, "--opt", "platform="+val)
		case "--allow":
			out = append(out, "--allow", val)
		case "--secret":
			out = append(out, "--secret", val)
		case "--network":
			// buildx grants network.host itself for its own --network=host.
			out = append(out, "--opt", "force-network-mode="+val)
			if val == "host" {
				out = append(out, "--allow", "network.host")
			}
		case "--add-host":
			out = append(out, "--opt", "add-hosts="+strings.Replace(val, ":", "=", 1))
		case "--build-context":
			n, src, _ := strings.Cut(val, "=")
			if strings.Contains(src, "://") {
				out = append(out, "--opt", "context:"+n+"="+src)
			} else {
				out = append(out, "--local", n+"="+src, "--opt", "context:"+n+"=local:"+n)
			}
		case "--shm-size":
			n, err := units.RAMInBytes(val)
			if err != nil {
				return nil, fmt.Errorf("--shm-size %s: %v", val, err)
			}
			out = append(out, "--opt", "shm-size="+strconv.FormatInt(n, 10))
		case "--ulimit":
			out = append(out, "--opt", "ulimit="+val)
		default:
			return nil, fmt.Errorf("flag %s: not mapped to buildctl", name)
		}
	}
	return out, nil
}

// snapshotIDs are the random ids BuildKit's errors name ("checksum of ref
// th2i…::lopu…"), replaced so a rewritten golden does not change for them.
var snapshotIDs = regexp.MustCompile(`ref [a-z0-9]+::[a-z0-9]+`)

// errorLines keeps a failed build's error lines (both builders print
// "ERROR: …" or "error: …"), else its last lines.
func errorLines(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "error:") || strings.Contains(l, "ERROR:") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if keep == nil {
		return lastLines(stderr, 3)
	}
	return strings.Join(keep, "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func readGolden(t *testing.T, name string) (Result, bool) {
	t.Helper()
	var r Result
	p := filepath.Join(goldenDir, name+".json")
	if _, err := os.Stat(p); os.IsNotExist(err) {
		return r, false
	}
	harness.ReadJSON(t, p, &r)
	return r, true
}
