package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/testutil"
	"github.com/kiln-build/kiln/test/harness"
)

// The seed's Node Dockerfiles, verbatim (Pattern 7 gets the builder stage
// it copies from but never defines). They name node:20-alpine,
// curlimages/curl and busybox:uclibc: each test serves those from its own
// loopback registry, the docker.io mirror of its kiln.toml, and builds in a
// fresh store, so kiln pulls them through the mirror.

const pattern1Node = `# Stage 1: Build
FROM node:20-alpine AS builder
WORKDIR /app

# Install dependencies (cached layer)
COPY package*.json ./
RUN npm ci

# Build application
COPY . .
RUN npm run build

# Stage 2: Production
FROM node:20-alpine AS production
WORKDIR /app

# Create non-root user
RUN addgroup -g 1001 -S nodejs && \
    adduser -S nextjs -u 1001 -G nodejs

# Copy only production artifacts
COPY --from=builder --chown=nextjs:nodejs /app/dist ./dist
COPY --from=builder --chown=nextjs:nodejs /app/node_modules ./node_modules
COPY --from=builder --chown=nextjs:nodejs /app/package.json ./

USER 1001
EXPOSE 3000
CMD ["node", "dist/index.js"]
`

const pattern6Node = `FROM node:20-alpine AS deps
WORKDIR /app
COPY package*.json ./
RUN npm ci --only=production

FROM node:20-alpine AS dev-deps
WORKDIR /app
COPY package*.json ./
RUN npm ci

FROM dev-deps AS builder
COPY . .
RUN npm run build

FROM node:20-alpine AS production
WORKDIR /app
RUN addgroup -g 1001 -S nodejs && \
    adduser -S nextjs -u 1001 -G nodejs

# Use production deps from deps stage
COPY --from=deps --chown=nextjs:nodejs /app/node_modules ./node_modules
COPY --from=builder --chown=nextjs:nodejs /app/dist ./dist

USER 1001
CMD ["node", "dist/index.js"]
`

// pattern7Node is the seed's Pattern 7 after an added builder stage (the
// first five lines, Pattern 1's builder).
const pattern7Node = `# Added by the test: the builder stage Pattern 7 copies from.
FROM node:20-alpine AS builder
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

# Get static binaries from external images
FROM curlimages/curl:latest AS curl
FROM busybox:uclibc AS busybox

FROM node:20-alpine AS production
WORKDIR /app

# Copy curl for health checks
COPY --from=curl /usr/bin/curl /usr/bin/curl

# Copy shell utilities if needed
COPY --from=busybox /bin/sh /bin/sh
COPY --from=busybox /bin/wget /bin/wget

COPY --from=builder /app/dist ./dist
CMD ["node", "dist/index.js"]
`

// nodeBuild is one Node pattern built in a fresh store through the mirror,
// exported three ways: to the store (-t), as an OCI archive and as a
// docker archive.
type nodeBuild struct {
	reg    *harness.Registry
	root   string // the fresh store
	cfg    string // kiln.toml: docker.io mirrored to reg
	tag    string
	first  result // the build that pulled the base images
	img    *ociImage
	docker string // the docker archive
}

func buildNodePattern(t *testing.T, dockerfile, tag string) *nodeBuild {
	t.Helper()
	nodeBaseImages(t)
	b := &nodeBuild{reg: harness.StartRegistry(t), root: t.TempDir(), tag: tag}
	publishNodeImages(t, b.reg)
	b.cfg = b.reg.Config(t, true)
	ctx := nodeAppContext(t)
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	writeFile(t, df, dockerfile, 0o644)
	buildArgs := func(out ...string) []string {
		return append(append([]string{"build", "--progress", "plain", "-f", df, "-t", tag}, out...), ctx)
	}

	b.first = mustKilnIn(t, b.root, b.cfg, buildArgs()...)
	if !strings.Contains(strings.Join(b.reg.Requests(), "\n"), "/v2/library/node/manifests/20-alpine") {
		t.Errorf("the build did not pull node:20-alpine through the mirror %s; registry requests:\n%s",
			b.reg.Addr, strings.Join(b.reg.Requests(), "\n"))
	}
	ociTar := filepath.Join(dir, "image.tar")
	r := mustKilnIn(t, b.root, b.cfg, buildArgs("-o", "type=oci,dest="+ociTar)...)
	b.img = readOCITar(t, ociTar, r)
	b.docker = filepath.Join(dir, "docker.tar")
	mustKilnIn(t, b.root, b.cfg, buildArgs("-o", "type=docker,dest="+b.docker)...)
	return b
}

// assertRuns checks that the image answers want when run by `kiln run`
// from the store and by runc on the bundle umoci unpacks from the OCI
// archive, and returns the unpacked root filesystem.
func (b *nodeBuild) assertRuns(t *testing.T, want string) string {
	t.Helper()
	r := mustKilnIn(t, b.root, b.cfg, "run", "--rm", b.tag)
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Errorf("kiln run --rm %s printed %q, want %q\n%s", b.tag, got, want, r)
	}
	bundle := b.img.Unpack(t)
	if got := strings.TrimSpace(harness.RunBundle(t, bundle)); got != want {
		t.Errorf("runc on the umoci bundle printed %q, want %q", got, want)
	}
	return filepath.Join(bundle, "rootfs")
}

// assertThirdPartyReaders checks the OCI and docker archives with skopeo:
// both must show the config the OCI archive holds.
func (b *nodeBuild) assertThirdPartyReaders(t *testing.T) {
	t.Helper()
	want := b.img.Config.Config
	for _, ref := range []string{"oci-archive:" + b.img.Tar, "docker-archive:" + b.docker} {
		out := skopeoOut(t, "inspect", "--config", ref)
		var cfg struct {
			Config struct {
				User       string
				Cmd        []string
				WorkingDir string
			}
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if err := json.Unmarshal([]byte(out), &cfg); err != nil {
			t.Fatalf("skopeo inspect --config %s: %v\n%s", ref, err, out)
		}
		if cfg.Config.User != want.User || !reflect.DeepEqual(cfg.Config.Cmd, want.Cmd) || cfg.Config.WorkingDir != want.WorkingDir {
			t.Errorf("skopeo inspect --config %s: User %q Cmd %q WorkingDir %q, want %q %q %q",
				ref, cfg.Config.User, cfg.Config.Cmd, cfg.Config.WorkingDir, want.User, want.Cmd, want.WorkingDir)
		}
		if len(cfg.RootFS.DiffIDs) != len(b.img.Manifest.Layers) {
			t.Errorf("skopeo inspect --config %s: %d diff IDs, the OCI manifest has %d layers", ref, len(cfg.RootFS.DiffIDs), len(b.img.Manifest.Layers))
		}
		raw := skopeoOut(t, "inspect", "--raw", ref)
		if !strings.Contains(raw, `"layers"`) {
			t.Errorf("skopeo inspect --raw %s shows no manifest:\n%s", ref, raw)
		}
	}
}

// assertNodeConfig checks the production stage's config as the seed writes it.
func assertNodeConfig(t *testing.T, img *ociImage, user string, ports ...string) {
	t.Helper()
	c := img.Config.Config
	if c.User != user {
		t.Errorf("User = %q, want %q", c.User, user)
	}
	if !reflect.DeepEqual(c.Cmd, []string{"node", "dist/index.js"}) {
		t.Errorf("Cmd = %q, want [node dist/index.js]", c.Cmd)
	}
	if c.WorkingDir != "/app" {
		t.Errorf("WorkingDir = %q, want /app", c.WorkingDir)
	}
	if len(ports) > 0 && !hasPorts(c.ExposedPorts, ports...) {
		t.Errorf("ExposedPorts = %v, want %v", c.ExposedPorts, ports)
	}
}

// assertOwned checks that every path is owned by uid:gid.
func assertOwned(t *testing.T, rootfs string, uid, gid uint32, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if o := statPath(t, rootfs, p); o.uid != uid || o.gid != gid {
			t.Errorf("%s is owned by %d:%d, want %d:%d", p, o.uid, o.gid, uid, gid)
		}
	}
}

// assertNextjsUser checks the user and group the seed's adduser/addgroup make.
func assertNextjsUser(t *testing.T, rootfs string) {
	t.Helper()
	passwd := readImageFile(t, rootfs, "/etc/passwd")
	group := readImageFile(t, rootfs, "/etc/group")
	if !strings.Contains(passwd, "\nnextjs:x:1001:1001:") {
		t.Errorf("/etc/passwd has no nextjs user 1001:1001:\n%s", passwd)
	}
	if !strings.Contains(group, "\nnodejs:x:1001:") {
		t.Errorf("/etc/group has no nodejs group 1001:\n%s", group)
	}
}

func TestNodePattern1Builder(t *testing.T) {
	t.Parallel() // own registry, own store: ~20 s each, mostly moving the node image
	b := buildNodePattern(t, pattern1Node, "node-app:p1")
	rootfs := b.assertRuns(t, nodeGreeting+": greet 1.0.0")
	assertNodeConfig(t, b.img, "1001", "3000/tcp")
	assertNextjsUser(t, rootfs)
	assertOwned(t, rootfs, 1001, 1001,
		"/app/dist", "/app/dist/index.js", "/app/node_modules", "/app/node_modules/kiln-greet",
		"/app/node_modules/kiln-greet/index.js", "/app/node_modules/kiln-devtool/package.json", "/app/package.json")
	if got := readImageFile(t, rootfs, "/app/dist/index.js"); got != strings.TrimSpace(nodeAppSrc) {
		t.Errorf("/app/dist/index.js = %q, want the app's src/index.js", got)
	}
	// Only the production artifacts: no sources, no lockfile.
	for _, p := range []string{"/app/src", "/app/package-lock.json"} {
		if exists(t, rootfs, p) {
			t.Errorf("%s is in the production image", p)
		}
	}
	b.assertThirdPartyReaders(t)
}

func TestNodePattern6DependencyOnlyStage(t *testing.T) {
	t.Parallel() // own registry, own store: ~20 s each, mostly moving the node image
	b := buildNodePattern(t, pattern6Node, "node-app:p6")
	rootfs := b.assertRuns(t, nodeGreeting+": greet 1.0.0")
	assertNodeConfig(t, b.img, "1001")
	assertNextjsUser(t, rootfs)
	assertOwned(t, rootfs, 1001, 1001,
		"/app/dist", "/app/dist/index.js", "/app/node_modules", "/app/node_modules/kiln-greet/index.js")
	// The deps stage ran `npm ci --only=production`: no devDependency.
	if exists(t, rootfs, "/app/node_modules/kiln-devtool") {
		t.Errorf("/app/node_modules has the devDependency kiln-devtool: the deps stage's npm ci --only=production installed it")
	}
	if exists(t, rootfs, "/app/package.json") {
		t.Errorf("/app/package.json is in the production image; Pattern 6 does not copy it")
	}
	b.assertThirdPartyReaders(t)
}

func TestNodePattern7ExternalBinaries(t *testing.T) {
	t.Parallel() // own registry, own store: ~20 s each, mostly moving the node image
	b := buildNodePattern(t, pattern7Node, "node-app:p7")
	// Pattern 7 copies no node_modules: the app runs without its dependency.
	rootfs := b.assertRuns(t, nodeGreeting+": no deps")
	assertNodeConfig(t, b.img, "")
	reqs := strings.Join(b.reg.Requests(), "\n")
	for _, m := range []string{"/v2/curlimages/curl/manifests/latest", "/v2/library/busybox/manifests/uclibc"} {
		if !strings.Contains(reqs, m) {
			t.Errorf("the build did not pull %s through the mirror; registry requests:\n%s", m, reqs)
		}
	}
	r := mustKilnIn(t, b.root, b.cfg, "run", "--rm", b.tag, "/usr/bin/curl")
	if got := strings.TrimSpace(r.Stdout); got != curlStandInBanner {
		t.Errorf("kiln run --rm %s /usr/bin/curl printed %q, want %q", b.tag, got, curlStandInBanner)
	}
	r = mustKilnIn(t, b.root, b.cfg, "run", "--rm", b.tag, "/bin/sh", "-c", "echo sh works; /bin/wget --help 2>&1 | grep -c '^Usage: wget'")
	if got := strings.TrimSpace(r.Stdout); got != "sh works\n1" {
		t.Errorf("/bin/sh and /bin/wget in the image printed %q, want %q", got, "sh works\n1")
	}
	assertOwned(t, rootfs, 0, 0, "/app/dist/index.js", "/usr/bin/curl", "/bin/busybox")
	if o := statPath(t, rootfs, "/usr/bin/curl"); !o.mode.IsRegular() || o.mode.Perm()&0o111 == 0 {
		t.Errorf("/usr/bin/curl mode %v, want an executable file", o.mode)
	}
	// The node image has /bin/sh and /bin/wget as symlinks to busybox: as in
	// BuildKit (fsutil/copy resolves the destination in the root), COPY
	// writes through them, to /bin/busybox, and leaves the links.
	for _, p := range []string{"/bin/sh", "/bin/wget"} {
		if o := statPath(t, rootfs, p); o.mode&os.ModeSymlink == 0 {
			t.Errorf("%s mode %v: COPY replaced the symlink instead of writing through it as BuildKit does", p, o.mode)
		}
	}
	want, err := os.ReadFile(testutil.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(rootfs, "bin", "busybox")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("/bin/busybox in the image is not busybox:uclibc's busybox (err %v, %d bytes)", err, len(got))
	}
	b.assertThirdPartyReaders(t)
}
