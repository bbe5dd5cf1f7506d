package integration

import (
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitServer serves bare repositories under dir over git's smart HTTP
// protocol (git http-backend as CGI), as a git host does.
func gitServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	backend := "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Skip("needs git (apt-get install git)")
	}
	h := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + dir, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// gitRun runs git in dir with a fixed identity.
func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// makeRepo makes served/<name>.git with two commits: v1 (tagged, annotated)
// and main's head; it returns the v1 commit.
func makeRepo(t *testing.T, served, name string) (v1 string) {
	t.Helper()
	work := t.TempDir()
	gitRun(t, work, "init", "-q", "-b", "main")
	writeFiles(t, work, map[string]string{"README": "version 1\n", "sub/dir/f.txt": "in sub\n"})
	if err := os.Chmod(filepath.Join(work, "sub", "dir", "f.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitRun(t, work, "add", ".")
	gitRun(t, work, "commit", "-q", "-m", "one")
	gitRun(t, work, "tag", "-a", "v1", "-m", "v1")
	v1 = gitRun(t, work, "rev-parse", "HEAD")
	writeFiles(t, work, map[string]string{"README": "version 2\n"})
	gitRun(t, work, "commit", "-q", "-am", "two")
	bare := filepath.Join(served, name+".git")
	gitRun(t, served, "clone", "-q", "--bare", work, bare)
	return v1
}

// ADD of git repositories (issue 4): a branch, an annotated tag with a
// subdirectory, a commit with --checksum, --keep-git-dir, --chown, and a
// step that stays cached without cloning again when the ref is unchanged.
func TestAddGit(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	served := t.TempDir()
	v1 := makeRepo(t, served, "app")
	srv := gitServer(t, served)
	repo := srv.URL + "/app.git"
	runBasics(t, []basicCase{
		{
			name: "add git branch tag subdir and checksum",
			dockerfile: "FROM busybox:test\n" +
				"ADD " + repo + " /head/\n" +
				"ADD " + repo + "#v1:sub /tag\n" +
				"ADD --checksum=" + v1[:12] + " " + repo + "#" + v1 + " /commit/\n" +
				"ADD --keep-git-dir=true --chown=7:8 " + repo + "#main /kept\n",
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/head/README", "version 2")
				b.present(t, map[string]bool{"/head/.git": false, "/tag/README": false, "/kept/.git/HEAD": true})
				b.fileIs(t, "/tag/dir/f.txt", "in sub")
				b.ownedBy(t, "/tag/dir/f.txt", 0, 0, 0o755)
				b.fileIs(t, "/commit/README", "version 1")
				b.ownedBy(t, "/kept/README", 7, 8, 0o644)
			},
		},
	})

	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": "FROM busybox:test\nADD --checksum=0000000 " + repo + "#v1 /x/\n"})
	r := runKiln(t, nil, "build", "--progress", "plain", ctx)
	if r.Code == 0 || !strings.Contains(r.Stderr, "checksum mismatch") || !strings.Contains(r.Stderr, "Dockerfile:2") {
		t.Fatalf("a wrong --checksum should fail at Dockerfile:2 naming the mismatch:\n%s", r)
	}
	writeFiles(t, ctx, map[string]string{"Dockerfile": "FROM busybox:test\nADD " + repo + "#nosuchbranch /x/\n"})
	r = runKiln(t, nil, "build", "--progress", "plain", ctx)
	if r.Code == 0 || !strings.Contains(r.Stderr, "nosuchbranch not found") {
		t.Fatalf("a missing ref should fail clearly:\n%s", r)
	}

	// Unchanged ref: the step is CACHED (resolved by ls-remote, not cloned).
	writeFiles(t, ctx, map[string]string{"Dockerfile": "FROM busybox:test\nADD " + repo + "#v1 /x/\n"})
	mustKiln(t, nil, "build", "--progress", "plain", ctx)
	r = mustKiln(t, nil, "build", "--progress", "plain", ctx)
	if n, cached := countStepVertices(r.Stderr, "ADD "+repo+"#v1 /x/"); n != 1 || cached != 1 {
		t.Fatalf("the unchanged git ADD should be CACHED (steps %d, cached %d):\n%s", n, cached, r.Stderr)
	}
}

// A repository whose submodule points at the host's disk (file://) must not
// bring the host's files into the image: only network transports are allowed.
func TestAddGitRefusesFileSubmodule(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	served := t.TempDir()
	secret := t.TempDir()
	gitRun(t, secret, "init", "-q", "-b", "main")
	writeFiles(t, secret, map[string]string{"host-secret.txt": "HOST-ONLY\n"})
	gitRun(t, secret, "add", ".")
	gitRun(t, secret, "commit", "-q", "-m", "secret")
	work := t.TempDir()
	gitRun(t, work, "init", "-q", "-b", "main")
	writeFiles(t, work, map[string]string{"README": "x\n"})
	gitRun(t, work, "-c", "protocol.file.allow=always", "submodule", "add", "-q", "file://"+secret, "sub")
	gitRun(t, work, "add", ".")
	gitRun(t, work, "commit", "-q", "-m", "with a file:// submodule")
	gitRun(t, served, "clone", "-q", "--bare", work, filepath.Join(served, "evil.git"))
	srv := gitServer(t, served)

	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{"Dockerfile": "FROM busybox:test\nADD " + srv.URL + "/evil.git /src/\n"})
	// Even with a host git configuration that allows file:// everywhere.
	gitconfig := filepath.Join(t.TempDir(), "gitconfig")
	writeFile(t, gitconfig, "[protocol \"file\"]\n\tallow = always\n", 0o644)
	r := runKiln(t, []string{"GIT_CONFIG_GLOBAL=" + gitconfig}, "build", "--progress", "plain", ctx)
	if r.Code == 0 || !strings.Contains(r.Stderr, "not allowed") {
		t.Fatalf("a file:// submodule should be refused:\n%s", r)
	}
}
