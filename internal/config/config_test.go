package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "kiln.toml")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// isolate points every implicit location into a fresh temp dir.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(EnvVar, "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	t.Setenv("HOME", filepath.Join(dir, "home"))
	old := SystemPath
	SystemPath = filepath.Join(dir, "etc", "kiln", "kiln.toml")
	t.Cleanup(func() { SystemPath = old })
	return dir
}

func mirrorOf(t *testing.T, c *Config) string {
	t.Helper()
	m := c.Registries["docker.io"].Mirrors
	if len(m) != 1 {
		t.Fatalf("config %s: mirrors = %v", c.Path, m)
	}
	return m[0]
}

func TestLoadPrecedence(t *testing.T) {
	dir := isolate(t)
	section := func(m string) string { return "[registry.\"docker.io\"]\nmirrors = [\"" + m + "\"]\n" }

	c, err := Load("")
	if err != nil || len(c.Registries) != 0 || c.Path != "" {
		t.Fatalf("no files: got %+v, %v", c, err)
	}
	writeConfig(t, filepath.Join(dir, "etc", "kiln"), section("system"))
	steps := []struct {
		want  string
		setup func()
	}{
		{"system", func() {}},
		{"xdg", func() { writeConfig(t, filepath.Join(dir, "xdg", "kiln"), section("xdg")) }},
		{"env", func() { t.Setenv(EnvVar, writeConfig(t, filepath.Join(dir, "env"), section("env"))) }},
	}
	for _, s := range steps {
		s.setup()
		c, err := Load("")
		if err != nil {
			t.Fatal(err)
		}
		if got := mirrorOf(t, c); got != s.want {
			t.Errorf("got mirror %q, want %q", got, s.want)
		}
	}
	explicit := writeConfig(t, filepath.Join(dir, "explicit"), section("explicit"))
	if c, err := Load(explicit); err != nil || mirrorOf(t, c) != "explicit" {
		t.Errorf("explicit: %v", err)
	}
}

func TestLoadHomeFallback(t *testing.T) {
	dir := isolate(t)
	t.Setenv("XDG_CONFIG_HOME", "")
	writeConfig(t, filepath.Join(dir, "home", ".config", "kiln"), "[registry.\"docker.io\"]\nmirrors = [\"home\"]\n")
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if got := mirrorOf(t, c); got != "home" {
		t.Errorf("got %q", got)
	}
}

func TestLoadExplicitMissing(t *testing.T) {
	isolate(t)
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Fatalf("want an error naming the file, got %v", err)
	}
}

func TestBuildkitdToml(t *testing.T) {
	body := `
debug = true
root = "/var/lib/buildkit"

[grpc]
  address = ["unix:///run/buildkit/buildkitd.sock"]

[worker.oci]
  enabled = true
  gc = true
  [[worker.oci.gcpolicy]]
    keepDuration = "48h"

[registry."docker.io"]
  mirrors = ["127.0.0.1:5000", "mirror.gcr.io"]

[registry."127.0.0.1:5000"]
  http = true
  insecure = true
  ca = ["/etc/certs/ca.pem"]
  [[registry."127.0.0.1:5000".keypair]]
    key = "/etc/certs/key.pem"
    cert = "/etc/certs/cert.pem"
`
	c, err := Parse("buildkitd.toml", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Registry{
		"docker.io":      {Mirrors: []string{"127.0.0.1:5000", "mirror.gcr.io"}},
		"127.0.0.1:5000": {HTTP: true, Insecure: true, CA: []string{"/etc/certs/ca.pem"}},
	}
	if !reflect.DeepEqual(c.Registries, want) {
		t.Errorf("got %+v\nwant %+v", c.Registries, want)
	}
	if got := c.Host("index.docker.io").Mirrors; len(got) != 2 {
		t.Errorf("Host(index.docker.io) mirrors = %v", got)
	}
	if got := c.Host("quay.io"); !reflect.DeepEqual(got, Registry{}) {
		t.Errorf("Host(quay.io) = %+v", got)
	}
}

func TestSyntaxErrorNamesFileAndLine(t *testing.T) {
	isolate(t)
	p := writeConfig(t, t.TempDir(), "[registry.\"docker.io\"]\nmirrors = [\"a\"\nhttp = true\n")
	_, err := Load(p)
	if err == nil {
		t.Fatal("want a syntax error")
	}
	if !strings.Contains(err.Error(), p+":3:") {
		t.Errorf("error %q does not name %s:3", err, p)
	}
}

func TestNilConfigHost(t *testing.T) {
	var c *Config
	if got := c.Host("docker.io"); !reflect.DeepEqual(got, Registry{}) {
		t.Errorf("got %+v", got)
	}
}

func TestIsolationKey(t *testing.T) {
	c, err := Parse("kiln.toml", []byte("isolation = \"rootless\"\n"))
	if err != nil || c.Isolation != "rootless" {
		t.Fatalf("Parse = %+v, %v", c, err)
	}
	_, err = Parse("/etc/kiln/kiln.toml", []byte("isolation = \"chroot\"\n"))
	if err == nil || !strings.Contains(err.Error(), "/etc/kiln/kiln.toml") || !strings.Contains(err.Error(), `"chroot"`) {
		t.Fatalf("bad isolation: err = %v", err)
	}
}
