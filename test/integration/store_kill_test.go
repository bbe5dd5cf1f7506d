package integration

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// storeCommand is one store command a kill test interrupts: setup prepares
// a fresh store, args are the command, and result describes what the
// command leaves (compared with an uninterrupted run's).
type storeCommand struct {
	name   string
	phase  string // the testhook phase of its kill points; "" is store
	setup  func(t *testing.T, s *harness.Store)
	args   func(dir string) []string
	rerun  func(t *testing.T, s *harness.Store, dir string) []string // nil re-runs args
	result func(t *testing.T, s *harness.Store, dir string) string
}

// refsResult is the store's image names and what each points at.
func refsResult(t *testing.T, s *harness.Store, _ string) string {
	t.Helper()
	var b strings.Builder
	for _, n := range storeNames(t, s.Root, "refs") {
		data, err := os.ReadFile(filepath.Join(s.Root, "refs", n))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\n", n, data)
	}
	return b.String()
}

// SIGKILL lands at each kill point of tag, rmi, push, save and verify
// (internal/testhook phase store): the store stays verifiable, and running
// the command again gives what an uninterrupted run gives.
func TestStoreCommandKillPoints(t *testing.T) {
	t.Parallel()
	harness.Require(t, prerequisites...)
	reg := harness.StartRegistry(t)
	cfg := reg.Config(t, false)
	commands := []storeCommand{
		{name: "tag", args: func(string) []string { return []string{"tag", "busybox:test", "kill/tagged:1"} }, result: refsResult},
		{
			name: "rmi",
			setup: func(t *testing.T, s *harness.Store) {
				s.MustRun(t, "tag", "busybox:test", "kill/a:1")
				s.MustRun(t, "tag", "busybox:test", "kill/b:1")
			},
			args: func(string) []string { return []string{"rmi", "kill/a:1", "kill/b:1"} },
			// rmi checks every name before it removes any, so the user
			// re-runs it with the names a killed rmi left.
			rerun: func(t *testing.T, s *harness.Store, _ string) []string {
				args, refs := []string{"rmi"}, refsResult(t, s, "")
				for _, n := range []string{"a", "b"} {
					if strings.Contains(refs, "%2Fkill%2F"+n+":1 ") {
						args = append(args, "kill/"+n+":1")
					}
				}
				return args
			},
			result: refsResult,
		},
		{
			name:  "save",
			phase: "export", // image.WriteOCITar's points and the rename into place
			args:  func(dir string) []string { return []string{"save", "-o", filepath.Join(dir, "bb.tar"), "busybox:test"} },
			result: func(t *testing.T, _ *harness.Store, dir string) string {
				data, err := os.ReadFile(filepath.Join(dir, "bb.tar"))
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("%x", sha256.Sum256(data))
			},
		},
		{
			name: "push",
			args: func(dir string) []string {
				return []string{"push", "busybox:test", reg.Addr + "/kill/" + filepath.Base(dir) + ":1"}
			},
			result: func(t *testing.T, _ *harness.Store, dir string) string {
				return manifestDigest(t, reg.Addr, "kill/"+filepath.Base(dir), "1")
			},
		},
		{
			name:   "verify",
			args:   func(string) []string { return []string{"store", "verify"} },
			result: func(t *testing.T, s *harness.Store, _ string) string { return s.MustRun(t, "store", "verify").Stdout },
		},
	}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fresh := func() (*harness.Store, string) {
				s := harness.NewStore(t, harness.Busybox).WithConfig(cfg)
				if c.setup != nil {
					c.setup(t, s)
				}
				dir, err := os.MkdirTemp(t.TempDir(), c.name)
				if err != nil {
					t.Fatal(err)
				}
				return s, dir
			}
			ref, refDir := fresh()
			trace := filepath.Join(t.TempDir(), "trace")
			ref.Env = []string{"KILN_TEST_KILLPOINT=trace", "KILN_TEST_KILLPOINT_FILE=" + trace}
			ref.MustRun(t, c.args(refDir)...)
			ref.Env = nil
			phase := c.phase
			if phase == "" {
				phase = "store"
			}
			points := 0
			for _, m := range readMarks(t, trace) {
				if m.phase == phase {
					points++
				}
			}
			if points == 0 {
				t.Fatalf("%s passed no kill point", c.name)
			}
			want := c.result(t, ref, refDir)
			for _, n := range spread(points, 3) {
				where := fmt.Sprintf("%s killed at %s:%d of %d", c.name, phase, n, points)
				s, dir := fresh()
				marker := filepath.Join(t.TempDir(), "marker")
				s.Env = []string{fmt.Sprintf("KILN_TEST_KILLPOINT=%s:%d", phase, n), "KILN_TEST_KILLPOINT_FILE=" + marker}
				cmd := s.Command(t, c.args(dir)...)
				var out strings.Builder
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if !killAtMark(t, cmd, &out, s.Root, phase, marker) {
					t.Fatalf("%s: it ended before its kill point:\n%s", where, out.String())
				}
				s.Env = nil
				// A killed save leaves no file or the whole one: a tar cut
				// at an entry's end would read as a complete one.
				if _, err := os.Stat(filepath.Join(dir, "bb.tar")); c.name == "save" && err == nil {
					if got := c.result(t, s, dir); got != want {
						t.Errorf("%s: it left a tar of sha256 %s under its name, the whole one is %s", where, got, want)
					}
				}
				s.Verify(t)
				again := c.args(dir)
				if c.rerun != nil {
					again = c.rerun(t, s, dir)
				}
				if len(again) > 1 {
					s.MustRun(t, again...)
				}
				s.Verify(t)
				if got := c.result(t, s, dir); got != want {
					t.Errorf("%s: the re-run left\n%s\nan uninterrupted run\n%s", where, got, want)
				}
			}
		})
	}
}

// manifestDigest is the digest the registry at addr serves for repo:tag.
func manifestDigest(t *testing.T, addr, repo, tag string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, "http://"+addr+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD %s:%s: %s", repo, tag, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest")
}
