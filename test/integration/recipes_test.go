package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kiln-build/kiln/test/harness"
)

// recipe is one of docs/recipes: the files that declare how a CI system or
// Kubernetes runs kiln's image, and the mode kiln must pick there.
type recipe struct {
	name  string
	files []string // under docs/recipes
	read  func(t *testing.T, files []string) harness.Security
	// mode is what `kiln info` must print; unsupported: the mode is
	// refused (its message is checked instead of a build).
	mode        string
	unsupported bool
}

var recipes = []recipe{
	{"kubernetes-job", []string{"kubernetes-job.yaml"}, readKubernetes, "rootless-noproc", false},
	{"kubernetes-job-container", []string{"kubernetes-job-container.yaml"}, readKubernetes, "container", false},
	{"tekton-task", []string{"tekton-task.yaml"}, readKubernetes, "rootless-noproc", false},
	{"github-actions", []string{"github-actions.yml"}, readRunFlags, "rootless-noproc", false},
	{"gitlab-ci", []string{"gitlab/config.toml", "gitlab/daemon.json", "gitlab/.gitlab-ci.yml"}, readGitLab, "rootless-noproc", false},
}

func recipePath(t *testing.T, name string) string {
	return filepath.Join(harness.RepoRoot(t), "docs", "recipes", name)
}

// readKubernetes reads the security settings of every pod and container
// in the YAML documents: hostUsers, capabilities.add, seccompProfile,
// allowPrivilegeEscalation, runAsUser. A setting the sandbox cannot give
// (privileged, procMount, capabilities.drop) fails the test rather than
// being ignored.
func readKubernetes(t *testing.T, files []string) harness.Security {
	sec := harness.Security{Seccomp: "Unconfined"} // Kubernetes' default without seccompProfile
	data, err := os.ReadFile(recipePath(t, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("%s: %v", files[0], err)
		}
		walkYAML(doc, func(key string, v any) {
			switch key {
			case "hostUsers":
				sec.UserNS = v == false
			case "securityContext":
				m, _ := v.(map[string]any)
				for k, sv := range m {
					switch k {
					case "capabilities":
						c, _ := sv.(map[string]any)
						for ck, cv := range c {
							if ck != "add" {
								t.Fatalf("%s: capabilities.%s is not modelled by the sandbox", files[0], ck)
							}
							for _, name := range cv.([]any) {
								sec.AddCaps = append(sec.AddCaps, "CAP_"+fmt.Sprint(name))
							}
						}
					case "seccompProfile":
						sec.Seccomp = fmt.Sprint(sv.(map[string]any)["type"])
					case "allowPrivilegeEscalation":
						sec.NoNewPrivs = sv == false
					case "runAsUser":
						sec.UID = uint32(sv.(int))
					case "appArmorProfile":
						// No AppArmor on the test machine: Unconfined is what it has.
						if p := fmt.Sprint(sv.(map[string]any)["type"]); p != "Unconfined" {
							t.Fatalf("%s: appArmorProfile %s cannot be tested here", files[0], p)
						}
					default:
						t.Fatalf("%s: securityContext.%s is not modelled by the sandbox", files[0], k)
					}
				}
			}
		})
	}
	return sec
}

func walkYAML(v any, f func(key string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			f(k, e)
			walkYAML(e, f)
		}
	case []any:
		for _, e := range x {
			walkYAML(e, f)
		}
	}
}

// runFlag matches the security flags of a podman or docker run line.
var runFlag = regexp.MustCompile(`--(userns|cap-add|security-opt|privileged|cap-drop)[= ]?([^\s\\]*)`)

// readRunFlags reads the podman run flags of a workflow's run steps.
func readRunFlags(t *testing.T, files []string) harness.Security {
	data, err := os.ReadFile(recipePath(t, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", files[0], err)
	}
	sec := harness.Security{Seccomp: "RuntimeDefault"}
	walkYAML(doc, func(key string, v any) {
		if script, ok := v.(string); ok && key == "run" {
			for _, m := range runFlag.FindAllStringSubmatch(script, -1) {
				applyDockerFlag(t, files[0], &sec, m[1], m[2])
			}
		}
	})
	return sec
}

func applyDockerFlag(t *testing.T, file string, sec *harness.Security, flag, value string) {
	switch {
	case flag == "userns" && value == "auto":
		sec.UserNS = true
	case flag == "cap-add":
		sec.AddCaps = append(sec.AddCaps, "CAP_"+strings.TrimPrefix(value, "CAP_"))
	case flag == "security-opt" && value == "seccomp=unconfined":
		sec.Seccomp = "Unconfined"
	case flag == "security-opt" && value == "apparmor=unconfined":
		// No AppArmor on the test machine.
	default:
		t.Fatalf("%s: --%s %s is not modelled by the sandbox", file, flag, value)
	}
}

// readGitLab reads the runner's [runners.docker] cap_add and security_opt
// and dockerd's userns-remap.
func readGitLab(t *testing.T, files []string) harness.Security {
	var cfg struct {
		Runners []struct {
			Docker struct {
				CapAdd      []string `toml:"cap_add"`
				SecurityOpt []string `toml:"security_opt"`
				Privileged  bool     `toml:"privileged"`
			} `toml:"docker"`
		} `toml:"runners"`
	}
	data, err := os.ReadFile(recipePath(t, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := toml.Unmarshal(data, &cfg); err != nil || len(cfg.Runners) != 1 {
		t.Fatalf("%s: %v (%d runners)", files[0], err, len(cfg.Runners))
	}
	d := cfg.Runners[0].Docker
	if d.Privileged {
		t.Fatalf("%s: privileged is not modelled by the sandbox", files[0])
	}
	sec := harness.Security{Seccomp: "RuntimeDefault"}
	for _, c := range d.CapAdd {
		applyDockerFlag(t, files[0], &sec, "cap-add", c)
	}
	for _, o := range d.SecurityOpt {
		applyDockerFlag(t, files[0], &sec, "security-opt", o)
	}
	var daemon map[string]any
	data, err = os.ReadFile(recipePath(t, files[1]))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &daemon); err != nil {
		t.Fatalf("%s: %v", files[1], err)
	}
	sec.UserNS = daemon["userns-remap"] != nil && daemon["userns-remap"] != ""
	return sec
}

// TestRecipesDeclareWhatTheDocsSay pins what each recipe's files declare,
// so a recipe edited into other settings fails here before its sandbox
// runs them.
func TestRecipesDeclareWhatTheDocsSay(t *testing.T) {
	want := map[string]string{
		"kubernetes-job":           "userns=true caps+=[CAP_SYS_ADMIN CAP_NET_ADMIN] seccomp=RuntimeDefault no_new_privs=false uid=0",
		"kubernetes-job-container": "userns=false caps+=[] seccomp=RuntimeDefault no_new_privs=false uid=0",
		"tekton-task":              "userns=true caps+=[CAP_SYS_ADMIN CAP_NET_ADMIN] seccomp=RuntimeDefault no_new_privs=false uid=0",
		"github-actions":           "userns=true caps+=[CAP_SYS_ADMIN CAP_NET_ADMIN] seccomp=Unconfined no_new_privs=false uid=0",
		"gitlab-ci":                "userns=true caps+=[CAP_SYS_ADMIN CAP_NET_ADMIN] seccomp=Unconfined no_new_privs=false uid=0",
	}
	for _, r := range recipes {
		if got := r.read(t, r.files).String(); got != want[r.name] {
			t.Errorf("%s declares %s, want %s", r.name, got, want[r.name])
		}
	}
}
