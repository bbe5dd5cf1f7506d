package session

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Epoch is the build's timestamp for reproducible output: SOURCE_DATE_EPOCH
// (from --build-arg, then the environment), else the time of the newest
// commit of the context's git repository, else the Unix epoch.
func Epoch(contextDir string, buildArgs map[string]string) (time.Time, error) {
	v, ok := buildArgs["SOURCE_DATE_EPOCH"]
	if !ok {
		v, ok = os.LookupEnv("SOURCE_DATE_EPOCH")
	}
	if ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid SOURCE_DATE_EPOCH %q: want seconds since 1970", v)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if t, ok := gitCommitTime(contextDir); ok {
		return t, nil
	}
	return time.Unix(0, 0).UTC(), nil
}

func gitCommitTime(dir string) (time.Time, bool) {
	if !inGitRepo(dir) {
		return time.Time{}, false
	}
	if _, err := exec.LookPath("git"); err != nil {
		return time.Time{}, false
	}
	out, err := exec.Command("git", "-C", dir, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// keyEpoch is the explicit SOURCE_DATE_EPOCH of a build (--build-arg, then
// the environment) as the solver puts it in step keys; "" when not given.
func keyEpoch(buildArgs map[string]string) string {
	if t := explicitEpoch(buildArgs); t != nil {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return ""
}

// inGitRepo says whether git could find a repository for dir: $GIT_DIR is
// set, or dir or a parent has a .git (directory, or file of a worktree).
// Outside one, not starting git saves a process on every build.
func inGitRepo(dir string) bool {
	if os.Getenv("GIT_DIR") != "" {
		return true
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return true // let git decide
	}
	for {
		if _, err := os.Lstat(filepath.Join(abs, ".git")); err == nil {
			return true
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return false
		}
		abs = parent
	}
}
