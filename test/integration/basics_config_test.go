package integration

import (
	"reflect"
	"strings"
	"testing"
)

func TestBasicsConfig(t *testing.T) {
	t.Parallel()
	runBasics(t, []basicCase{
		{
			name: "env arg build-arg",
			dockerfile: `FROM busybox:test
ARG A=default
ARG B
ARG FROMENV
ARG UNSET
ENV E1=$A E2=${B:-none} E3="with space"
RUN echo "$A|$B|$FROMENV|$UNSET|$E1|$E2|$E3" > /out
`,
			args: []string{"--build-arg", "B=bee", "--build-arg", "FROMENV", "--build-arg", "UNSET"},
			env:  []string{"FROMENV=from-env", "UNSET="},
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/out", "default|bee|from-env||default|bee|with space")
				for _, kv := range []string{"E1=default", "E2=bee", "E3=with space"} {
					if !b.envHas(kv) {
						t.Errorf("config Env lacks %q: %q", kv, b.img.Config.Config.Env)
					}
				}
				for _, e := range b.img.Config.Config.Env {
					if strings.HasPrefix(e, "A=") || strings.HasPrefix(e, "B=") || strings.HasPrefix(e, "FROMENV=") {
						t.Errorf("ARG %q leaked into the image's Env", e)
					}
				}
			},
		},
		{
			name:       "label and --label",
			dockerfile: "FROM busybox:test\nLABEL a=1 \"b c\"=\"two words\"\nLABEL a=override\n",
			args:       []string{"--label", "x=y", "--label", "a=from-flag"},
			check: func(t *testing.T, b *built) {
				want := map[string]string{"a": "from-flag", "b c": "two words", "x": "y"}
				if got := b.img.Config.Config.Labels; !reflect.DeepEqual(got, want) {
					t.Errorf("Labels = %v, want %v (--label overrides LABEL)", got, want)
				}
			},
		},
		{
			name:       "stopsignal and volume",
			dockerfile: "FROM busybox:test\nSTOPSIGNAL SIGINT\nVOLUME [\"/data\", \"/v2\"]\nVOLUME /v3 /v4\n",
			check: func(t *testing.T, b *built) {
				c := b.img.Config.Config
				if c.StopSignal != "SIGINT" {
					t.Errorf("StopSignal = %q, want SIGINT", c.StopSignal)
				}
				got := map[string]bool{}
				for v := range c.Volumes {
					got[v] = true
				}
				want := map[string]bool{"/data": true, "/v2": true, "/v3": true, "/v4": true}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Volumes = %v, want %v", got, want)
				}
			},
		},
		{
			name:       "entrypoint and cmd exec form",
			dockerfile: "FROM busybox:test\nENTRYPOINT [\"/bin/echo\", \"a\"]\nCMD [\"b\", \"c d\"]\n",
			check: func(t *testing.T, b *built) {
				c := b.img.Config.Config
				if !reflect.DeepEqual(c.Entrypoint, []string{"/bin/echo", "a"}) || !reflect.DeepEqual(c.Cmd, []string{"b", "c d"}) {
					t.Errorf("Entrypoint %q Cmd %q, want [/bin/echo a] [b \"c d\"]", c.Entrypoint, c.Cmd)
				}
			},
		},
		{
			name:       "entrypoint and cmd shell form",
			dockerfile: "FROM busybox:test\nCMD echo cmd $HOME\nENTRYPOINT echo entry\n",
			check: func(t *testing.T, b *built) {
				c := b.img.Config.Config
				if !reflect.DeepEqual(c.Entrypoint, []string{"/bin/sh", "-c", "echo entry"}) {
					t.Errorf("Entrypoint = %q, want [/bin/sh -c \"echo entry\"]", c.Entrypoint)
				}
				// As BuildKit: ENTRYPOINT resets a CMD inherited from the
				// base, but keeps one this stage set before it.
				if !reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-c", "echo cmd $HOME"}) {
					t.Errorf("Cmd = %q, want the stage's own CMD kept", c.Cmd)
				}
			},
		},
		{
			name:       "entrypoint resets an inherited cmd",
			dockerfile: "FROM busybox:test AS base\nCMD [\"inherited\"]\nFROM base\nENTRYPOINT [\"/bin/echo\"]\n",
			check: func(t *testing.T, b *built) {
				if c := b.img.Config.Config; len(c.Cmd) != 0 {
					t.Errorf("Cmd = %q, want none: ENTRYPOINT resets a CMD inherited from the base", c.Cmd)
				}
			},
		},
		{
			name: "shell",
			dockerfile: `FROM busybox:test
SHELL ["/bin/sh", "-c", "echo kiln-shell > /shell-used; eval \"$1\"", "kilnsh"]
RUN echo "$0" > /zero
CMD echo hi
`,
			check: func(t *testing.T, b *built) {
				b.fileIs(t, "/shell-used", "kiln-shell")
				b.fileIs(t, "/zero", "kilnsh")
				wantShell := []string{"/bin/sh", "-c", `echo kiln-shell > /shell-used; eval "$1"`, "kilnsh"}
				if got := b.img.Config.Config.Cmd; !reflect.DeepEqual(got, append(wantShell, "echo hi")) {
					t.Errorf("shell-form CMD = %q, want the SHELL prefix then \"echo hi\"", got)
				}
				cfg, _ := b.img.RawConfig["config"].(map[string]any)
				if got, _ := cfg["Shell"].([]any); len(got) != len(wantShell) {
					t.Errorf("config Shell = %v, want %q", cfg["Shell"], wantShell)
				}
			},
		},
	})
}
