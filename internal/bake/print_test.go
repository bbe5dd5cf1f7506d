package bake

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// printCases are `bake --print` and `--list` invocations whose output buildx v0.38.2
// recorded in testdata/print (KILN_BUILDX=path/to/buildx re-checks them
// against that buildx; -update rewrites them from it).
var printCases = []struct {
	name string
	args []string // -f FILE, --set, --var and target names, as on the command line
	env  []string
}{
	{"hcl-group", []string{"-f", "full.hcl", "all"}, []string{"TOKEN=1"}},
	{"hcl-env-var", []string{"-f", "full.hcl", "app"}, []string{"TAG=from-env"}},
	{"hcl-var-wins", []string{"-f", "full.hcl", "app", "--var", "TAG=from-var"}, []string{"TAG=from-env"}},
	{"compose", []string{"-f", "compose.yaml"}, []string{"FROM_ENV=e", "WEB_TAG=7"}},
	{"json-matrix", []string{"-f", "docker-bake.json", "release", "--var", "PUSH=true"}, nil},
	{"merged-files-sets", []string{"-f", "docker-bake.json", "-f", "full.hcl", "app*",
		"--set", "*.tags+=x:1", "--set", "app-a*.args.K=v", "--set", "db-*.output=type=local,dest=out"}, nil},
	{"sets-clear", []string{"-f", "full.hcl", "db", "--set", "db*.tags=", "--set", "*.platform=linux/arm64",
		"--set", "db-15-1.no-cache=true", "--set", "db-16-2.push=true"}, nil},
	{"list-targets", []string{"-f", "full.hcl", "--list", "targets"}, nil},
	{"list-variables", []string{"-f", "full.hcl", "--list", "variables"}, []string{"TAG=from-env"}},
	{"list-targets-json", []string{"-f", "full.hcl", "-f", "docker-bake.json", "--list", "type=targets,format=json"}, nil},
	{"list-variables-json", []string{"-f", "docker-bake.json", "--list", "type=variables,format=json"}, nil},
	{"list-compose", []string{"-f", "compose.yaml", "--list", "targets"}, nil},
}

func TestPrintMatchesBuildx(t *testing.T) {
	buildx := os.Getenv("KILN_BUILDX")
	for _, tc := range printCases {
		t.Run(tc.name, func(t *testing.T) {
			ext := ".json"
			if slices.Contains(tc.args, "--list") && !strings.Contains(strings.Join(tc.args, " "), "format=json") {
				ext = ".txt"
			}
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			golden := filepath.Join("testdata", "print", tc.name+ext)
			if buildx != "" {
				args := tc.args
				if !slices.Contains(args, "--list") {
					args = append([]string{"--print"}, args...)
				}
				cmd := exec.Command(buildx, append([]string{"bake"}, args...)...)
				cmd.Dir = "testdata"
				cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("buildx: %v\n%s", err, stderr.String())
				}
				if strings.Contains(strings.Join(tc.args, " "), "type=targets,format=json") {
					out = orderTies(t, out)
				}
				if os.Getenv("KILN_UPDATE_GOLDEN") != "" {
					if err := os.WriteFile(golden, out, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, _ := os.ReadFile(golden)
				if !bytes.Equal(out, want) {
					t.Errorf("buildx prints otherwise than %s:\n%s", golden, out)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := kilnPrint(t, tc.args); got != string(want) {
				t.Errorf("kiln bake --print differs from buildx's (%s):\n%s", golden, got)
			}
		})
	}
}

// orderTies puts a JSON --list's entries of one name (a target and a group
// both called "app") target first. buildx sorts them with an unstable sort
// over map order, so its order for such a tie changes from run to run.
func orderTies(t *testing.T, out []byte) []byte {
	t.Helper()
	type entry struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		Group       bool   `json:"group,omitempty"`
	}
	var items []entry
	if err := json.Unmarshal(out, &items); err != nil {
		t.Fatalf("buildx --list output: %v", err)
	}
	slices.SortStableFunc(items, func(a, b entry) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		switch {
		case a.Group == b.Group:
			return 0
		case b.Group:
			return -1
		}
		return 1
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(items); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// kilnPrint is kiln bake --print of args, run in testdata.
func kilnPrint(t *testing.T, args []string) string {
	t.Helper()
	var files []File
	var names, sets []string
	var list string
	vars := map[string]string{}
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-f":
			i++
			data, err := os.ReadFile(filepath.Join("testdata", args[i]))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, File{Name: args[i], Data: data})
		case "--set":
			i++
			sets = append(sets, args[i])
		case "--list":
			i++
			list = args[i]
		case "--var":
			i++
			k, v, _ := strings.Cut(args[i], "=")
			vars[k] = v
		default:
			names = append(names, args[i])
		}
	}
	t.Chdir("testdata") // compose reads .env of the working directory
	c, variables, err := Parse(files, nil, vars)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if list != "" {
		req, err := ParseListRequest(list)
		if err != nil {
			t.Fatal(err)
		}
		if req.Type == "variables" {
			err = ListVariables(&buf, req.Format, variables)
		} else {
			err = c.ListTargets(&buf, req.Format)
		}
		if err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	r, err := c.Resolve(names, sets)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Print(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
