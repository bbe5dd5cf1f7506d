package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/test/harness"
)

// kilnHome runs kiln on root with the kiln.toml cfg, HOME and DOCKER_CONFIG
// in home (so credentials are read from and written to home/.docker only),
// no proxy, and stdin as standard input.
func kilnHome(t *testing.T, root, cfg, home, stdin string, args ...string) result {
	t.Helper()
	env := []string{"HOME=" + home, "DOCKER_CONFIG=" + filepath.Join(home, ".docker")}
	return harness.Run(t, harness.Opts{Root: root, Config: cfg, Env: env, Stdin: stdin}, args...)
}

// wantFailure fails t unless r failed with a message holding every one of
// wants (case-insensitive) and no Go stack trace.
func wantFailure(t *testing.T, what string, r result, wants ...string) {
	t.Helper()
	if r.Code == 0 {
		t.Fatalf("%s: kiln succeeded, want a failure:\n%s", what, r)
	}
	msg := strings.ToLower(r.Stderr)
	for _, w := range wants {
		if !strings.Contains(msg, strings.ToLower(w)) {
			t.Errorf("%s: the error does not say %q:\n%s", what, w, r)
		}
	}
	if strings.Contains(r.Stderr, "goroutine ") || strings.Contains(r.Stderr, "panic:") {
		t.Errorf("%s: kiln printed a Go stack:\n%s", what, r)
	}
	t.Logf("%s: %s", what, strings.TrimSpace(r.Stderr))
}

// TestRegistryTLSAuth goes through a registry with a private CA and
// htpasswd auth with the CLI: no credentials → a clear 401; kiln login
// writes config.json; build --push and push succeed; pull into a fresh store
// gives the same digest; logout removes the credential; without the CA in
// kiln.toml the certificate is refused with a clear message.
func TestRegistryTLSAuth(t *testing.T) {
	t.Parallel()
	requireSuite(t)
	reg := harness.StartAuthRegistry(t)
	cfg := filepath.Join(t.TempDir(), "kiln.toml")
	writeFile(t, cfg, fmt.Sprintf("[registry.%q]\n  ca = [%q]\n", reg.Addr, reg.CAPath), 0o644)
	home := t.TempDir()
	ref := reg.Addr + "/team/app:1"
	ctx := t.TempDir()
	df := regDockerfile(t, pushDockerfile)
	// The image exists in the store before any push is tried.
	mustKilnIn(t, suiteRoot(t), "", "build", "--progress", "plain", "-f", df, "-t", "tlsauth:src", ctx)

	r := kilnHome(t, suiteRoot(t), cfg, home, "", "push", "tlsauth:src", ref)
	wantFailure(t, "push without login", r, reg.Addr+"/team/app:1", "authentication required", "401")

	// A wrong password is refused, as docker login does, and not saved.
	r = kilnHome(t, suiteRoot(t), cfg, home, "wrong-pw\n", "login", reg.Addr, "-u", reg.User, "--password-stdin")
	wantFailure(t, "login with a wrong password", r, reg.Addr, "refused", "401")
	dockerCfg := filepath.Join(home, ".docker", "config.json")
	if _, err := os.Stat(dockerCfg); err == nil {
		data, _ := os.ReadFile(dockerCfg)
		t.Errorf("a refused login wrote %s:\n%s", dockerCfg, data)
	}

	r = kilnHome(t, suiteRoot(t), cfg, home, reg.Password+"\n", "login", reg.Addr, "-u", reg.User, "--password-stdin")
	if r.Code != 0 {
		t.Fatalf("kiln login failed:\n%s", r)
	}
	var cf struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	harness.ReadJSON(t, dockerCfg, &cf)
	if a, ok := cf.Auths[reg.Addr]; !ok || a.Auth == "" {
		data, _ := os.ReadFile(dockerCfg)
		t.Fatalf("after kiln login, %s has no auth for %s:\n%s", dockerCfg, reg.Addr, data)
	}

	r = kilnHome(t, suiteRoot(t), cfg, home, "", "build", "--progress", "plain", "-f", df, "-t", ref, "--push", ctx)
	if r.Code != 0 {
		t.Fatalf("build --push after login:\n%s", r)
	}
	pushed := storeDigest(t, suiteRoot(t), ref)
	ref2 := reg.Addr + "/team/other:2"
	if r := kilnHome(t, suiteRoot(t), cfg, home, "", "push", "tlsauth:src", ref2); r.Code != 0 {
		t.Fatalf("kiln push after login:\n%s", r)
	}

	fresh := filepath.Join(t.TempDir(), "store")
	r = kilnHome(t, fresh, cfg, home, "", "pull", ref)
	if r.Code != 0 {
		t.Fatalf("kiln pull after login:\n%s", r)
	}
	if got := strings.TrimSpace(r.Stdout); got != pushed {
		t.Errorf("pulled %s, pushed %s", got, pushed)
	}
	r = kilnHome(t, fresh, cfg, home, "", "pull", ref2)
	if r.Code != 0 {
		t.Fatalf("kiln pull %s after login:\n%s", ref2, r)
	}
	if got, want := strings.TrimSpace(r.Stdout), storeDigest(t, suiteRoot(t), "tlsauth:src"); got != want {
		t.Errorf("pulled %s from %s, pushed %s", got, ref2, want)
	}

	// Without the CA the registry's certificate is not trusted.
	noCA := filepath.Join(t.TempDir(), "kiln.toml")
	writeFile(t, noCA, "", 0o644)
	r = kilnHome(t, filepath.Join(t.TempDir(), "store"), noCA, home, "", "pull", ref)
	wantFailure(t, "pull without the CA", r, reg.Addr, "certificate", "ca = ")

	if r := kilnHome(t, suiteRoot(t), cfg, home, "", "logout", reg.Addr); r.Code != 0 {
		t.Fatalf("kiln logout:\n%s", r)
	}
	data, err := os.ReadFile(dockerCfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), reg.Addr) {
		t.Errorf("after kiln logout, %s still names %s:\n%s", dockerCfg, reg.Addr, data)
	}
	var left map[string]json.RawMessage
	if err := json.Unmarshal(data, &left); err != nil {
		t.Errorf("after kiln logout, %s is not JSON: %v", dockerCfg, err)
	}
	r = kilnHome(t, filepath.Join(t.TempDir(), "store"), cfg, home, "", "pull", ref)
	wantFailure(t, "pull after logout", r, reg.Addr+"/team/app:1", "authentication required", "401")
}
