package bake

import (
	"strings"
	"testing"
)

func TestBadInputNamesFileAndLine(t *testing.T) {
	cases := []struct {
		name, file, src string
		targets         []string
		want            string
	}{
		{"unknown target", "docker-bake.hcl", "target \"app\" {\n}\n", []string{"nope"}, "failed to find target nope"},
		{"unknown inherit", "docker-bake.hcl", "target \"a\" {}\n\ntarget \"app\" {\n  inherits = [\"missing\"]\n}\n", []string{"app"},
			`docker-bake.hcl:3: target "app" inherits "missing", which is not defined`},
		{"inherits cycle", "docker-bake.hcl", "target \"a\" {\n  inherits = [\"b\"]\n}\ntarget \"b\" {\n  inherits = [\"a\"]\n}\n", []string{"a"},
			"docker-bake.hcl:1: inherits cycle: a → b → a"},
		{"bad hcl", "docker-bake.hcl", "target \"a\" {\n  tags = [\"x\"\n}\n", []string{"a"}, "docker-bake.hcl:3: Missing item separator"},
		{"matrix duplicates", "docker-bake.hcl", "target \"db\" {\n  name = \"db-${substr(v, 0, 2)}\"\n  matrix = { v = [\"15.1\", \"15.2\"] }\n}\n", []string{"db"},
			`docker-bake.hcl:1: Invalid name: duplicate name "db-15"`},
		{"group names nothing", "docker-bake.hcl", "group \"all\" {\n  targets = [\"ghost\"]\n}\n", []string{"all"},
			`docker-bake.hcl:1: group "all" names "ghost", which is neither a target nor a group`},
		{"undefined variable", "docker-bake.json", `{"target": {"a": {"tags": ["${NOPE}"]}}}`, []string{"a"}, "docker-bake.json:1:"},
		{"misspelt attribute", "docker-bake.hcl", "target \"a\" {\n  tags = [\"x\"]\n  platfroms = [\"linux/arm64\"]\n}\n", []string{"a"},
			`docker-bake.hcl:3: target "a": unknown attribute "platfroms"`},
		{"policy", "docker-bake.json", `{"target": {"a": {"policy": ["filename=p.rego"]}}}`, []string{"a"},
			`docker-bake.json:1: target "a": build policies (policy) are not supported yet`},
		{"resources", "docker-bake.hcl", "target \"a\" {\n  resources = { memory = \"1g\" }\n}\n", []string{"a"},
			`docker-bake.hcl:2: target "a": per-build resource limits (resources) are not supported yet`},
		{"target: context loop", "docker-bake.hcl", "target \"a\" {\n  contexts = { x = \"target:b\" }\n}\ntarget \"b\" {\n  contexts = { y = \"target:a\" }\n}\n", []string{"a"},
			"infinite loop from"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Parse([]File{{Name: tc.file, Data: []byte(tc.src)}}, nil, nil)
			if err == nil {
				_, err = c.Resolve(tc.targets, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
