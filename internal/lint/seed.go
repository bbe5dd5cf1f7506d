package lint

import (
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

var (
	installCmd = regexp.MustCompile(`\b(npm (ci|install)|yarn( install)?|pnpm install|go mod download|pip3? install|bundle install|composer install|cargo fetch)\b`)
	onlyProd   = regexp.MustCompile(`npm (ci|install)[^&|;]*--only=prod(uction)?`)
	writesRm   = regexp.MustCompile(`rm\s+(-\w+\s+)*(\S*\.npmrc|\S*\.netrc|\S*id_rsa\S*|\S*credentials\S*)`)
)

func isCopyAll(c *instructions.CopyCommand) bool {
	if c.From != "" {
		return false
	}
	for _, s := range c.SourcePaths {
		if s == "." || s == "./" {
			return true
		}
	}
	return false
}

// run checks the seed's advice on one RUN.
func (c *checker) run(cmd *instructions.RunCommand, copiedAll bool) {
	line := strings.Join(cmd.CmdLine, " ")
	if copiedAll && installCmd.MatchString(line) {
		c.add("CopyAllBeforeInstall", cmd.Location(), "copy only the dependency manifests (package*.json, go.mod go.sum, requirements.txt) before installing, then the rest",
			"dependencies are installed after COPY . . , so every source edit re-installs them")
	}
	if onlyProd.MatchString(line) {
		c.add("NpmOnlyProductionDeprecated", cmd.Location(), "", "npm's --only=production is deprecated; use --omit=dev")
	}
	if writesRm.MatchString(line) && !strings.Contains(line, "--mount=type=secret") && len(instructions.GetMounts(cmd)) == 0 {
		c.add("SecretFileInLayer", cmd.Location(), "a file written with a secret and removed later may still be readable from an earlier layer; mount it with RUN --mount=type=secret",
			"a credentials file is removed here; make sure it never lands in a layer")
	}
}

// finalStage checks the image users will ship.
func (c *checker) finalStage(st *instructions.Stage, user string) {
	if st.BaseName != "scratch" && (user == "" || user == "root" || user == "0" || strings.HasPrefix(user, "0:") || strings.HasPrefix(user, "root:")) {
		c.add("FinalStageRunsAsRoot", st.Location, "add a USER with a non-root id in the final stage", "the final stage runs as root")
	}
	if len(c.df.Stages) > 1 {
		if m := toolchain.FindStringSubmatch(st.BaseName); m != nil && !strings.Contains(m[2], "alpine") && !strings.Contains(m[2], "slim") {
			c.add("FinalStageToolchainImage", st.Location, "copy the build output into a small runtime image (scratch, distroless, -alpine or -slim)",
				"the final stage is based on the %s toolchain image", m[1])
		}
	}
}

// unusedStages reports stages the last stage does not need.
func (c *checker) unusedStages() {
	stages := c.df.Stages
	if len(stages) < 2 {
		return
	}
	byName := map[string]int{}
	for i, s := range stages {
		if s.Name != "" {
			byName[strings.ToLower(s.Name)] = i
		}
	}
	used := map[int]bool{len(stages) - 1: true}
	for i := len(stages) - 1; i >= 0; i-- {
		if !used[i] {
			continue
		}
		for _, ref := range stageRefs(stages[i]) {
			if j, ok := byName[strings.ToLower(ref)]; ok {
				used[j] = true
			} else if n, ok := atoi(ref); ok && n < len(stages) {
				used[n] = true
			}
		}
	}
	for i, s := range stages {
		if !used[i] && s.Name != "" {
			c.add("UnusedStage", s.Location, "a stage the default target does not need is never built unless named with --target",
				"stage %q is not used by the final stage", s.Name)
		}
	}
}

func stageRefs(s instructions.Stage) []string {
	refs := []string{s.BaseName}
	for _, cmd := range s.Commands {
		switch cmd := cmd.(type) {
		case *instructions.CopyCommand:
			if cmd.From != "" {
				refs = append(refs, cmd.From)
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(cmd) {
				if m.From != "" {
					refs = append(refs, m.From)
				}
			}
		}
	}
	return refs
}

func atoi(s string) (int, bool) {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, s != ""
}
