// Package composeload loads compose files with compose-go's loader, which
// validates them with jsonschema. Only kiln-compose links it: jsonschema's
// package init compiles every JSON-Schema meta-schema, about 4 ms on each
// start of a binary that links it, and kiln starts on every build.
package composeload

import (
	"context"
	"errors"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/types"
)

// Load reads files as one compose project interpolated with env, as buildx
// bake does: only what builds is kept and validated (services' image,
// build, environment and env_file, and the secrets); the rest of a compose
// file (volumes, ports…) is not. skipConsistency skips the check that
// what services name exists (used when only classifying a file).
func Load(files []types.ConfigFile, env map[string]string, skipConsistency bool) (*types.Project, error) {
	details := types.ConfigDetails{ConfigFiles: files, Environment: env}
	base := func(o *loader.Options) {
		name := "bake"
		if v := env["COMPOSE_PROJECT_NAME"]; v != "" {
			name = v
		}
		o.SetProjectName(name, false)
		o.SkipNormalization = true
		o.SkipValidation = true
		o.SkipConsistencyCheck = skipConsistency
	}
	raw, err := loader.LoadModelWithContext(context.Background(), details, base)
	if err != nil {
		return nil, err
	}
	filtered := map[string]any{}
	if services, ok := raw["services"].(map[string]any); ok {
		fs := map[string]any{}
		for name, svc := range services {
			m, _ := svc.(map[string]any)
			keep := map[string]any{}
			for _, k := range []string{"image", "build", "environment", "env_file"} {
				if v, ok := m[k]; ok {
					keep[k] = v
				}
			}
			fs[name] = keep
		}
		filtered["services"] = fs
	}
	if v, ok := raw["secrets"]; ok {
		filtered["secrets"] = v
	}
	if len(filtered) == 0 {
		return nil, errors.New("empty compose file")
	}
	if err := schema.Validate(filtered); err != nil {
		return nil, err
	}
	all := func(o *loader.Options) { o.SkipNormalization = true; o.Profiles = []string{"*"} }
	return loader.ModelToProject(filtered, loader.ToOptions(&details, []func(*loader.Options){base, all}), details)
}
