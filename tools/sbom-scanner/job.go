package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/tools/sbom-scanner/scan"
)

// The scanner protocol's environment (BuildKit's frontend/attestations/sbom).
const (
	envSource      = "BUILDKIT_SCAN_SOURCE"
	envDestination = "BUILDKIT_SCAN_DESTINATION"
	envExtras      = "BUILDKIT_SCAN_SOURCE_EXTRAS"
	envCatalogers  = "BUILDKIT_SCAN_SELECT_CATALOGERS"
)

// A job is one run: the core target, the extra targets (scanned stages,
// the build context), and where the statements go.
type job struct {
	core        string
	extras      []string
	destination string
	catalogers  []string
}

func jobFromEnv(lookup func(string) (string, bool)) (job, error) {
	var j job
	var err error
	if j.destination, err = dirFromEnv(lookup, envDestination, true); err != nil {
		return job{}, err
	}
	if j.core, err = dirFromEnv(lookup, envSource, true); err != nil {
		return job{}, err
	}
	extras, err := dirFromEnv(lookup, envExtras, false)
	if err != nil {
		return job{}, err
	}
	if extras != "" {
		entries, err := os.ReadDir(extras)
		if err != nil {
			return job{}, fmt.Errorf("reading %s: %w", envExtras, err)
		}
		for _, e := range entries {
			j.extras = append(j.extras, filepath.Join(extras, e.Name()))
		}
		sort.Strings(j.extras)
	}
	if v, ok := lookup(envCatalogers); ok && v != "" {
		j.catalogers = strings.Split(v, ",")
	}
	return j, nil
}

func dirFromEnv(lookup func(string) (string, bool), name string, required bool) (string, error) {
	p, ok := lookup(name)
	if !ok || p == "" {
		if required {
			return "", fmt.Errorf("%s is not set", name)
		}
		return "", nil
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s=%s: %w", name, p, err)
	}
	return p, nil
}

// statement is the in-toto v1 statement BuildKit unbundles from a scanner's
// output: no subjects (the exporter names the image), an SPDX predicate.
type statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []struct{}      `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

func (j job) run(ctx context.Context) error {
	for _, dir := range append([]string{j.core}, j.extras...) {
		doc, err := scan.Dir(ctx, dir, scan.Options{Catalogers: j.catalogers})
		if err != nil {
			return err
		}
		data, err := json.Marshal(statement{
			Type:          "https://in-toto.io/Statement/v1",
			PredicateType: "https://spdx.dev/Document",
			Predicate:     doc,
		})
		if err != nil {
			return fmt.Errorf("encoding the statement of %s: %w", dir, err)
		}
		out := filepath.Join(j.destination, filepath.Base(dir)+".spdx.json")
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", out, err)
		}
	}
	return nil
}
