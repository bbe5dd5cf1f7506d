package lint

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/dockerfile"
)

func findings(t *testing.T, src string) []string {
	t.Helper()
	df, err := dockerfile.Parse("Dockerfile", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range Check(df) {
		out = append(out, fmt.Sprintf("%d:%s", f.Line, f.Rule))
	}
	sort.Strings(out)
	return out
}

func TestRules(t *testing.T) {
	got := findings(t, `FROM golang:1.22 as builder
ARG GITHUB_TOKEN
ARG PUBLIC_KEY
WORKDIR app
COPY . .
RUN go mod download
RUN npm ci --only=production
FROM builder AS unused
FROM golang:1.22
COPY --from=builder /x /x
CMD go run .
CMD ["x"]
EXPOSE 80/TCP
`)
	want := []string{
		"11:JSONArgsRecommended", "12:MultipleInstructionsDisallowed", "13:ExposeProtoCasing",
		"1:FromAsCasing", "2:SecretsUsedInArgOrEnv", "4:WorkdirRelativePath",
		"6:CopyAllBeforeInstall", "7:CopyAllBeforeInstall", "7:NpmOnlyProductionDeprecated",
		"8:UnusedStage", "9:FinalStageRunsAsRoot", "9:FinalStageToolchainImage",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("findings:\n got %v\nwant %v", got, want)
	}
}

// The seed's own patterns, written well, have nothing to report.
func TestSeedPatternIsClean(t *testing.T) {
	got := findings(t, `FROM node:20-alpine AS builder
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:20-alpine AS production
WORKDIR /app
COPY --from=builder --chown=1001:1001 /app/dist ./dist
USER 1001
EXPOSE 3000
CMD ["node", "dist/index.js"]
`)
	if len(got) != 0 {
		t.Fatalf("unexpected findings: %v", got)
	}
}

func TestLooksSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "api_key": true, "DATABASE_PASSWORD": true, "AUTH": true,
		"PUBLIC_KEY": false, "TOKEN_FILE": false, "NODE_VERSION": false, "KEYBOARD": false,
	} {
		if LooksSecret(name) != want {
			t.Errorf("LooksSecret(%q) = %v, want %v", name, !want, want)
		}
	}
}
