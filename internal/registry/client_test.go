package registry

import (
	"context"
	"testing"

	"github.com/kiln-build/kiln/internal/config"
)

func TestSources(t *testing.T) {
	cfg := &config.Config{Registries: map[string]config.Registry{
		"docker.io":           {Mirrors: []string{"mirror.example:5000", "https://cache.example/hub/"}},
		"mirror.example:5000": {HTTP: true},
		"registry.example":    {HTTP: true, Mirrors: []string{"http://plain.example"}},
	}}
	c := New(cfg)
	tests := []struct {
		ref     string
		want    []string
		schemes []string
	}{
		{"node:20-alpine",
			[]string{"mirror.example:5000/library/node:20-alpine", "cache.example/hub/library/node:20-alpine", "index.docker.io/library/node:20-alpine"},
			[]string{"http", "https", "https"}},
		{"docker.io/library/node@sha256:0123456789012345678901234567890123456789012345678901234567890123",
			[]string{
				"mirror.example:5000/library/node@sha256:0123456789012345678901234567890123456789012345678901234567890123",
				"cache.example/hub/library/node@sha256:0123456789012345678901234567890123456789012345678901234567890123",
				"index.docker.io/library/node@sha256:0123456789012345678901234567890123456789012345678901234567890123"},
			[]string{"http", "https", "https"}},
		{"registry.example/team/app:1",
			[]string{"plain.example/team/app:1", "registry.example/team/app:1"},
			[]string{"http", "http"}},
		{"quay.io/x/y", []string{"quay.io/x/y:latest"}, []string{"https"}},
	}
	for _, tt := range tests {
		r, err := c.parse(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		srcs, err := c.sources(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if len(srcs) != len(tt.want) {
			t.Fatalf("%s: got %d sources, want %d", tt.ref, len(srcs), len(tt.want))
		}
		for i, src := range srcs {
			if got := src.ref.Name(); got != tt.want[i] {
				t.Errorf("%s source %d: %s, want %s", tt.ref, i, got, tt.want[i])
			}
			if got := src.ref.Context().Scheme(); got != tt.schemes[i] {
				t.Errorf("%s source %d: scheme %s, want %s", tt.ref, i, got, tt.schemes[i])
			}
		}
	}
}

func TestParseInvalid(t *testing.T) {
	if _, err := New(nil).parse("Not A Name"); err == nil {
		t.Error("want an error")
	}
}
