package integration

import (
	"debug/elf"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/test/harness"
)

// containerEnv gates the suites that build kiln's own image and run it
// under runc (a cold Go build of kiln, then builds inside containers).
const containerEnv = "KILN_TEST_CONTAINER"

func requireContainerSuite(t *testing.T) {
	t.Helper()
	if os.Getenv(containerEnv) == "" {
		t.Skip(containerEnv + "=1 builds kiln's image and runs it under runc with each recipe's security settings")
	}
	requireSuite(t)
}

// TestKilnImage builds the repository's Dockerfile with kiln and checks
// what the image holds: a static kiln, runc and setuid newuidmap/newgidmap
// that run (their libraries are there), the build user's subordinate
// ranges, kiln as the entrypoint, the store as a volume.
func TestKilnImage(t *testing.T) {
	requireContainerSuite(t)
	_, tar, rootfs := harness.KilnImage(t)
	img := harness.ReadImage(t, tar)
	files := img.Files(t)
	for path, want := range map[string]string{
		"/usr/local/bin/kiln":         "file 0755 0:0",
		"/usr/local/bin/kiln-compose": "file 0755 0:0",
		"/usr/sbin/runc":              "file 0755 0:0",
		"/usr/bin/newuidmap":          "file 4755 0:0",
		"/usr/bin/newgidmap":          "file 4755 0:0",
		"/home/build":                 "dir 0755 1000:1000",
	} {
		f, ok := files[path]
		if !ok {
			t.Errorf("image lacks %s", path)
		} else if got := f.String(); !strings.HasPrefix(got, want) {
			t.Errorf("%s is %s, want %s", path, got, want)
		}
	}
	entries := img.LayerEntries(t)
	for path, want := range map[string]string{"/etc/subuid": "build:100000:65536\n", "/etc/subgid": "build:100000:65536\n"} {
		if got := string(entries[path].Data); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	bin, err := elf.Open(filepath.Join(rootfs, "usr", "local", "bin", "kiln"))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("kiln in the image is dynamically linked (%v)", p.Type)
		}
	}
	cfg := img.Config.Config
	if !reflect.DeepEqual(cfg.Entrypoint, []string{"/usr/local/bin/kiln"}) {
		t.Errorf("entrypoint %v", cfg.Entrypoint)
	}
	if _, ok := cfg.Volumes["/var/lib/kiln"]; !ok {
		t.Errorf("volumes %v lack the store /var/lib/kiln", cfg.Volumes)
	}

	box := harness.NewSandbox(t, rootfs, harness.Security{Seccomp: "RuntimeDefault"})
	// kiln bake reads a compose file through the kiln-compose beside kiln.
	bake := t.TempDir()
	writeFile(t, filepath.Join(bake, "compose.yaml"), "services:\n  app:\n    build: .\n    image: kiln-test/app:1\n", 0o644)
	box.CopyIn(t, bake, "bake", "/bake")
	r := box.Run(t, "kiln version && runc --version && newuidmap 2>&1 | grep -q usage: && newgidmap 2>&1 | grep -q usage: && cd /bake && kiln bake --print")
	if r.Code != 0 || !strings.Contains(r.Stdout, "buildkit v0.34.2") || !strings.Contains(r.Stdout, "runc version") ||
		!strings.Contains(r.Stdout, `"kiln-test/app:1"`) {
		t.Errorf("the image's tools do not run:\n%s", r)
	}
}

// sandboxCase is one build run inside a sandbox and as root on the host.
type sandboxCase struct {
	name, dockerfile string
	target           string            // --target, optional
	files            map[string]string // the context
	secret           bool              // --secret id=npm_token from a file outside the context
	platform         string            // --platform, optional
	// goProxy: the Dockerfile has a %s for the URL of a Go module proxy the
	// test serves on loopback (the sandbox shares the host's network), and
	// the context is an app requiring one module from it.
	goProxy bool
	// golang: the case needs golang:1.22-alpine; node: node:20-alpine and
	// the Node app as its context (nodeAppContext). They run in the first
	// recipe and in container mode only (copying a toolchain into every
	// sandbox is minutes): container mode is the one that runs RUN without
	// runc, over the container's own root.
	golang, node bool
}

// wantsToolchains says whether the recipe builds the cases that need a
// toolchain image.
func (rc recipe) wantsToolchains() bool { return rc.name == recipes[0].name || rc.mode == "container" }

// goAppFiles is the Go app of goAppContext, its test passing.
var goAppFiles = map[string]string{
	"go.mod": "module example.com/app\n\ngo 1.22\n", "go.sum": "", "main.go": goMain, "main_test.go": goTestPass}

// nodeNames points the Node patterns' FROM lines at the stand-ins' store
// names (a store without a registry mirror).
var nodeNames = strings.NewReplacer("node:20-alpine", harness.Node.Name,
	"curlimages/curl:latest", harness.Curl.Name, "busybox:uclibc", harness.BusyboxUclibc.Name)

var sandboxCases = []sandboxCase{
	{name: "pattern8", dockerfile: pattern8Busybox, secret: true,
		files: map[string]string{"package.json": `{"name":"app"}`, "index.js": "console.log(1)\n"}},
	{name: "extras", dockerfile: rootlessExtras},
	{name: "pattern1", dockerfile: pattern1Go, golang: true, files: goAppFiles},
	{name: "pattern2-production", dockerfile: pattern2, target: "production", golang: true, files: goAppFiles},
	{name: "pattern3-test", dockerfile: pattern3, target: "test", golang: true, files: goAppFiles},
	{name: "pattern3-production", dockerfile: pattern3, target: "production", golang: true, files: goAppFiles},
	// The seed's Node patterns, FROM the Node base by its store name (the
	// sandbox's store has no registry mirror).
	{name: "pattern1-node", dockerfile: nodeNames.Replace(pattern1Node), node: true},
	{name: "pattern6-node", dockerfile: nodeNames.Replace(pattern6Node), node: true},
	{name: "pattern7-node", dockerfile: nodeNames.Replace(pattern7Node), node: true},
	// Pattern 4: the cache mounts are emulated by copying in container
	// mode, so the module cache's read-only files are copied out again.
	{name: "pattern4-go", dockerfile: pattern4Go, golang: true, goProxy: true},
	// Pattern 5: an index of two images, the arm64 one cross-compiled.
	{name: "pattern5", dockerfile: pattern5, platform: "linux/amd64,linux/arm64", golang: true, files: goAppFiles},
}

// TestRecipesInSandbox runs kiln's image under runc with exactly the
// security settings each recipe of docs/recipes declares, the store on a
// bind-mounted directory (the emptyDir), and requires: `kiln info` picks
// the recipe's mode; the builds give root mode's images on the host (every
// file, owner, mode, the config and the history); no secret is left in
// the store. A recipe whose mode kiln refuses must be refused with the
// message the recipe's comment quotes.
func TestRecipesInSandbox(t *testing.T) {
	requireContainerSuite(t)
	_, _, rootfs := harness.KilnImage(t)
	toolchains := []*harness.Base{harness.Golang, harness.Node, harness.Curl, harness.BusyboxUclibc}
	rootStore := harness.NewStore(t, append([]*harness.Base{harness.Busybox}, toolchains...)...)
	// One value for every build: the root store's cache (keys leave
	// secrets out, as BuildKit's) answers the later recipes' root builds.
	secret := randomSecret(t)
	for _, rc := range recipes {
		t.Run(rc.name, func(t *testing.T) {
			sec := rc.read(t, rc.files)
			box := harness.NewSandbox(t, rootfs, sec)
			box.Timeout = 10 * time.Minute // pattern1 compiles Go inside
			store := box.Volume(t, "store", "/var/lib/kiln")
			id := 0
			if sec.UserNS {
				id = harness.SandboxIDBase
			}
			bases := []*harness.Base{harness.Busybox}
			if rc.wantsToolchains() {
				bases = append(bases, toolchains...)
			}
			harness.CopyBases(t, store, id, id, bases...)
			out := box.Volume(t, "out", "/out")

			info := box.Run(t, "kiln info")
			if !strings.Contains(info.Stdout, "isolation: "+rc.mode) && !rc.unsupported {
				t.Fatalf("kiln info under %s does not pick %s:\n%s", sec, rc.mode, info)
			}
			if rc.unsupported {
				if !strings.Contains(info.Stdout, rc.mode+": not supported yet") {
					t.Errorf("kiln info under %s does not say %s is not supported yet:\n%s", sec, rc.mode, info)
				}
				r := box.Run(t, "kiln --isolation="+rc.mode+" build --progress plain /out")
				if r.Code == 0 || !strings.Contains(r.Stderr, "--isolation="+rc.mode+" is not supported yet") {
					t.Fatalf("--isolation=%s under %s is not refused as not supported:\n%s", rc.mode, sec, r)
				}
				return
			}
			for _, c := range sandboxCases {
				if (c.golang || c.node) && !rc.wantsToolchains() {
					continue
				}
				if rc.mode == "container" && c.name == "extras" {
					c.dockerfile = containerExtras
				}
				t.Run(c.name, func(t *testing.T) {
					runSandboxCase(t, box, rootStore, out, c, secret)
				})
			}
		})
	}
}

// TestSandboxNetworkNoneNeedsNetAdmin: where kiln lacks CAP_NET_ADMIN
// (a pod granting only SYS_ADMIN), RUN --network=none fails naming the
// Dockerfile line and the capability to add, before anything runs.
func TestSandboxNetworkNoneNeedsNetAdmin(t *testing.T) {
	requireContainerSuite(t)
	_, _, rootfs := harness.KilnImage(t)
	box := harness.NewSandbox(t, rootfs, harness.Security{UserNS: true, AddCaps: []string{"CAP_SYS_ADMIN"}, Seccomp: "RuntimeDefault"})
	harness.CopyBases(t, box.Volume(t, "store", "/var/lib/kiln"), harness.SandboxIDBase, harness.SandboxIDBase, harness.Busybox)
	ctx := t.TempDir()
	writeFile(t, filepath.Join(ctx, "Dockerfile"), "FROM busybox:test\nRUN --network=none true\n", 0o644)
	box.CopyIn(t, ctx, "ctx", "/ctx")
	r := box.Run(t, "kiln build --progress plain /ctx")
	if r.Code == 0 || !strings.Contains(r.Stderr, "Dockerfile:2") || !strings.Contains(r.Stderr, "add NET_ADMIN to the container's capabilities") {
		t.Errorf("RUN --network=none without CAP_NET_ADMIN:\n%s", r)
	}
}

// containerExtras are the rootless extras container mode can build: all
// but RUN --network=none, which it refuses (TestContainerModeRefuses). Its
// cache has an id of its own: the root store's /cache already holds the
// other recipes' line.
const containerExtras = `FROM busybox:test
RUN --mount=type=cache,id=container-extras,target=/cache echo one >> /cache/log
RUN --mount=type=cache,id=container-extras,target=/cache wc -l < /cache/log > /cachelines
RUN mkdir -p /o/gone && touch /o/gone/f && chown -R 1234:5678 /o && chmod 2750 /o && ln -s /nowhere /o/link && mkfifo /o/fifo
RUN rm -rf /o && mkdir /o && echo fresh > /o/only && chmod 0604 /o/only
RUN --mount=type=bind,target=/ctx,rw echo scratch > /ctx/w && adduser -D -u 1500 app && su app -c 'id -u' > /uid
USER 1500:1500
RUN id -u > /home/app/who && id -G >> /home/app/who
`

// TestContainerModeRefuses: under Docker's defaults without a user
// namespace (case 3), what container mode cannot give fails the build
// naming the Dockerfile line, before anything runs.
func TestContainerModeRefuses(t *testing.T) {
	requireContainerSuite(t)
	_, _, rootfs := harness.KilnImage(t)
	box := harness.NewSandbox(t, rootfs, harness.Security{Seccomp: "RuntimeDefault"})
	harness.CopyBases(t, box.Volume(t, "store", "/var/lib/kiln"), 0, 0, harness.Busybox)
	for name, c := range map[string]struct{ dockerfile, flags, want string }{
		"network-none": {"FROM busybox:test\nRUN --network=none touch /ran\n", "", "RUN --network=none needs a network namespace, which --isolation=container cannot make"},
		"insecure":     {"FROM busybox:test\nRUN --security=insecure touch /ran\n", "--allow security.insecure ", "RUN --security=insecure is refused with --isolation=container"},
	} {
		ctx := t.TempDir()
		writeFile(t, filepath.Join(ctx, "Dockerfile"), c.dockerfile, 0o644)
		box.CopyIn(t, ctx, "ctx-"+name, "/ctx-"+name)
		r := box.Run(t, "kiln build --progress plain "+c.flags+"/ctx-"+name)
		if r.Code == 0 || !strings.Contains(r.Stderr, "Dockerfile:2") || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%s in container mode:\n%s", name, r)
		}
	}
}

func runSandboxCase(t *testing.T, box *harness.Sandbox, rootStore *harness.Store, out string, c sandboxCase, secret string) {
	ctx := t.TempDir()
	if c.node {
		ctx = nodeAppContext(t)
	}
	if c.goProxy {
		proxy := startGoProxy(t, fmt.Sprintf("kiln.test/sandbox%d/a", time.Now().UnixNano()))
		c.dockerfile = fmt.Sprintf(c.dockerfile, proxy.url)
		c.files = proxy.appFiles(slices.Collect(maps.Keys(proxy.zips))...)
	}
	writeFiles(t, ctx, c.files)
	writeFile(t, filepath.Join(ctx, "Dockerfile"), c.dockerfile, 0o644)
	spec := buildSpec{Dockerfile: c.dockerfile, Context: ctx, Target: c.target}
	in := t.TempDir()
	boxArgs := ""
	if c.target != "" {
		boxArgs = "--target " + c.target + " "
	}
	if c.platform != "" {
		spec.Args = append(spec.Args, "--platform", c.platform)
		boxArgs += "--platform " + c.platform + " "
	}
	if c.secret {
		writeFile(t, filepath.Join(in, "npm_token"), secret, 0o600)
		spec.Args = append(spec.Args, "--secret", "id=npm_token,src="+filepath.Join(in, "npm_token"))
		boxArgs += "--secret id=npm_token,src=/in/npm_token "
	}
	r, rootTar := rootStore.Build(t, spec)
	if r.Code != 0 {
		t.Fatalf("root build failed:\n%s", r)
	}
	box.CopyIn(t, ctx, "ctx-"+c.name, "/ctx-"+c.name)
	box.CopyIn(t, in, "in-"+c.name, "/in")
	r = box.Run(t, "kiln build --progress plain "+boxArgs+"-o type=oci,dest=/out/"+c.name+".tar /ctx-"+c.name)
	if r.Code != 0 {
		t.Fatalf("build in the sandbox (%s) failed:\n%s", box.Sec, r)
	}
	assertSameArchive(t, harness.ReadArchive(t, rootTar), harness.ReadArchive(t, filepath.Join(out, c.name+".tar")))
	if c.secret {
		assertNoSecret(t, "the sandbox's store", filepath.Join(box.Dir, "store"), secret)
		assertNoSecret(t, "the sandbox's OCI tar (extracted, layers decompressed)", untarToTemp(t, filepath.Join(out, c.name+".tar")), secret)
		if strings.Contains(r.Stdout+r.Stderr, secret) {
			t.Errorf("the build's output in the sandbox shows the secret:\n%s", r)
		}
	}
}
