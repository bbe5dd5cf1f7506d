package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The scanner speaks BuildKit's protocol: the core target and each extra
// become <name>.spdx.json statements in the destination.
func TestJobWritesOneStatementPerTarget(t *testing.T) {
	run := t.TempDir()
	for dir, file := range map[string]string{
		"src/core/sbom":           "lib/apk/db/installed",
		"src/extras/sbom-context": "package.json",
		"src/extras/sbom-build":   "usr/lib/python3.11/site-packages/x-1.0.dist-info/METADATA",
	} {
		p := filepath.Join(run, dir, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := map[string]string{
			"installed":    "P:core-pkg\nV:1.0-r0\nA:x86_64\n\n",
			"package.json": `{"name":"ctx-pkg","version":"2.0.0"}`,
			"METADATA":     "Metadata-Version: 2.1\nName: x\nVersion: 1.0\n",
		}[filepath.Base(file)]
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(run, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		envSource:      filepath.Join(run, "src/core/sbom"),
		envExtras:      filepath.Join(run, "src/extras"),
		envDestination: out,
	}
	j, err := jobFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if err := j.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, pkg := range map[string]string{"sbom": "core-pkg", "sbom-build": `"x"`, "sbom-context": "ctx-pkg"} {
		data, err := os.ReadFile(filepath.Join(out, name+".spdx.json"))
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Type          string          `json:"_type"`
			PredicateType string          `json:"predicateType"`
			Predicate     json.RawMessage `json:"predicate"`
		}
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Type != "https://in-toto.io/Statement/v1" || st.PredicateType != "https://spdx.dev/Document" {
			t.Errorf("%s: statement %s / %s", name, st.Type, st.PredicateType)
		}
		if !strings.Contains(string(st.Predicate), pkg) || !strings.Contains(string(st.Predicate), `"name":"`+name+`"`) {
			t.Errorf("%s: the document does not name %s or itself", name, pkg)
		}
	}
}

// A missing required variable is an error naming it.
func TestJobNeedsSourceAndDestination(t *testing.T) {
	_, err := jobFromEnv(func(k string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), envDestination) {
		t.Errorf("err = %v, want one naming %s", err, envDestination)
	}
}
