package instr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/dfgitutil"
	digest "github.com/opencontainers/go-digest"
)

// gitSource is one ADD source naming a git repository, resolved to a commit
// before anything is fetched, so a cached step never clones.
type gitSource struct {
	ref    *dfgitutil.GitRef
	commit string
	keep   bool
}

// parseGitSource reports whether src is a git repository as BuildKit tells
// them apart (https://…git, git@…, git://…, with #ref:subdir or ?ref=…).
func parseGitSource(src string) (*dfgitutil.GitRef, bool, error) {
	ref, isGit, err := dfgitutil.ParseGitRef(src)
	if err != nil {
		if isGit {
			return nil, true, fmt.Errorf("invalid git source %s: %w", src, err)
		}
		return nil, false, nil
	}
	if ref.IndistinguishableFromLocal {
		return nil, false, nil
	}
	return ref, true, nil
}

var fullCommit = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// resolveGit finds the commit each source names with `git ls-remote` and
// checks it against --checksum.
func (e *Worker) resolveGit(ctx context.Context, srcs []string, keepFlag *bool, checksum string) ([]gitSource, digest.Digest, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, "", errors.New("ADD of a git repository needs git on this machine (apt-get install git)")
	}
	all := sha256.New()
	var out []gitSource
	for _, src := range srcs {
		ref, _, err := parseGitSource(src)
		if err != nil {
			return nil, "", err
		}
		keep := false
		if keepFlag != nil {
			keep = *keepFlag
		}
		if ref.KeepGitDir != nil {
			if keepFlag != nil && *keepFlag != *ref.KeepGitDir {
				return nil, "", errors.New("inconsistent keep-git-dir configuration")
			}
			keep = *ref.KeepGitDir
		}
		want := checksum
		if ref.Checksum != "" {
			if want != "" && want != ref.Checksum {
				return nil, "", fmt.Errorf("checksum mismatch %q != %q", want, ref.Checksum)
			}
			want = ref.Checksum
		}
		commit, err := e.gitCmd().lsRemote(ctx, ref.Remote, ref.Ref)
		if err != nil {
			return nil, "", fmt.Errorf("ADD %s: %w", src, err)
		}
		if want != "" && !strings.HasPrefix(commit, want) {
			return nil, "", fmt.Errorf("ADD %s: checksum mismatch: %s resolves to commit %s, want %s", src, refName(ref.Ref), commit, want)
		}
		submodules := ref.Submodules == nil || *ref.Submodules
		fmt.Fprintf(all, "%q %s %q %t %t\n", ref.Remote, commit, ref.SubDir, keep, submodules)
		out = append(out, gitSource{ref: ref, commit: commit, keep: keep})
	}
	return out, digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(all.Sum(nil))), nil
}

func refName(ref string) string {
	if ref == "" {
		return "HEAD"
	}
	return ref
}

// lsRemote resolves ref (a branch, tag, full ref name or commit; HEAD when
// empty) to a commit. An annotated tag resolves to the commit it points at.
func (g gitCmd) lsRemote(ctx context.Context, remote, ref string) (string, error) {
	if fullCommit.MatchString(ref) {
		return ref, nil
	}
	name := refName(ref)
	out, err := g.run(ctx, "", "ls-remote", "--", remote, name)
	if err != nil {
		return "", err
	}
	found := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if sha, r, ok := strings.Cut(line, "\t"); ok {
			found[r] = sha
		}
	}
	for _, r := range []string{name, "refs/heads/" + name, "refs/tags/" + name} {
		if sha, ok := found[r+"^{}"]; ok {
			return sha, nil
		}
		if sha, ok := found[r]; ok {
			return sha, nil
		}
	}
	return "", fmt.Errorf("git ref %s not found in %s", name, remote)
}

// fetch checks each source's commit out into dir/<i>, with submodules,
// and returns the paths (relative to dir) to copy: each checkout's subdir.
func (g gitCmd) fetch(ctx context.Context, dir string, srcs []gitSource) ([]string, error) {
	var paths []string
	for i, src := range srcs {
		repo := filepath.Join(dir, fmt.Sprint(i))
		if err := g.checkout(ctx, repo, src); err != nil {
			return nil, fmt.Errorf("fetching %s: %w", src.ref.Remote, err)
		}
		sub := filepath.Join(fmt.Sprint(i), src.ref.SubDir)
		p, err := securejoin.SecureJoin(dir, sub)
		if err != nil {
			return nil, err
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s: no directory %q at commit %s", src.ref.Remote, src.ref.SubDir, src.commit)
		}
		paths = append(paths, sub+"/")
	}
	return paths, nil
}

func (g gitCmd) checkout(ctx context.Context, repo string, src gitSource) error {
	if _, err := g.run(ctx, "", "init", "-q", repo); err != nil {
		return err
	}
	if _, err := g.run(ctx, repo, "remote", "add", "origin", src.ref.Remote); err != nil {
		return err
	}
	// A shallow fetch of the commit is what smart servers allow; dumb http
	// and older servers need the ref by name or everything.
	want := src.commit
	if _, err := g.run(ctx, repo, "fetch", "-q", "--depth=1", "origin", want); err != nil {
		if _, err := g.run(ctx, repo, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
			return err
		}
	}
	if _, err := g.run(ctx, repo, "-c", "advice.detachedHead=false", "checkout", "-q", want); err != nil {
		return err
	}
	submodules := src.ref.Submodules == nil || *src.ref.Submodules
	if _, err := os.Stat(filepath.Join(repo, ".gitmodules")); err == nil && submodules {
		if _, err := g.run(ctx, repo, "submodule", "update", "-q", "--init", "--recursive", "--depth=1"); err != nil {
			if _, err := g.run(ctx, repo, "submodule", "update", "-q", "--init", "--recursive"); err != nil {
				return err
			}
		}
	}
	if !src.keep {
		return os.RemoveAll(filepath.Join(repo, ".git"))
	}
	return nil
}

// gitCmd runs the host's git without prompting. For ssh remotes
// (git@host:repo) it uses the build's --ssh default agent, as BuildKit does.
// Only network transports are allowed: a hostile repository's submodule
// must not reach the host's files (file://) or run commands (ext::).
type gitCmd struct{ env []string }

func (e *Worker) gitCmd() gitCmd {
	g := gitCmd{env: append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "LC_ALL=C",
		"GIT_ALLOW_PROTOCOL=https:http:ssh:git")}
	if sock := e.SSH["default"]; sock != "" {
		g.env = append(g.env, "SSH_AUTH_SOCK="+sock)
	}
	return g
}

// run runs git in dir; its stderr becomes the error.
func (g gitCmd) run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = g.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return stdout.String(), nil
}
