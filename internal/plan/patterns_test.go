package plan

import (
	"testing"

	"github.com/containerd/platforms"
)

const pattern1Go = `# Stage 1: Build
FROM golang:1.22-alpine AS builder
WORKDIR /app
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -ldflags="-w -s" -o /server

# Stage 2: Production (scratch = empty image)
FROM scratch
COPY --from=builder /server /server
EXPOSE 8080
ENTRYPOINT ["/server"]
`

const pattern2 = `FROM node:20-alpine AS base
WORKDIR /app
COPY package*.json ./

FROM base AS development
RUN npm install
COPY . .
CMD ["npm", "run", "dev"]

FROM base AS builder
RUN npm ci
COPY . .
RUN npm run build && npm prune --production

FROM node:20-alpine AS production
WORKDIR /app
COPY --from=builder --chown=nextjs:nodejs /app/dist ./dist
COPY --from=builder --chown=nextjs:nodejs /app/node_modules ./node_modules
USER 1001
CMD ["node", "dist/index.js"]
`

const pattern3 = `FROM node:20-alpine AS base
WORKDIR /app
COPY package*.json ./

FROM base AS dependencies
RUN npm ci

FROM dependencies AS development
COPY . .
CMD ["npm", "run", "dev"]

FROM dependencies AS test
COPY . .
RUN npm run lint
RUN npm run test

FROM dependencies AS builder
COPY . .
RUN npm run build && npm prune --production

FROM node:20-alpine AS production
WORKDIR /app
COPY --from=builder --chown=nextjs:nodejs /app/dist ./dist
USER 1001
CMD ["node", "dist/index.js"]
`

const pattern5 = `FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /app
COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -o /server

FROM scratch
COPY --from=builder /server /server
ENTRYPOINT ["/server"]
`

const pattern7 = `FROM curlimages/curl:latest AS curl
FROM busybox:uclibc AS busybox

FROM node:20-alpine AS production
WORKDIR /app
COPY --from=curl /usr/bin/curl /usr/bin/curl
COPY --from=busybox /bin/sh /bin/sh
COPY --from=busybox /bin/wget /bin/wget
COPY --from=builder /app/dist ./dist
COPY --from=gcr.io/distroless/static:nonroot /etc/passwd /etc/passwd
CMD ["node", "dist/index.js"]
`

func TestPatternOrder(t *testing.T) {
	tests := []struct {
		name, src, target string
		order, pruned     string
	}{
		{"pattern1 go", pattern1Go, "", "builder,stage-1", ""},
		{"pattern2 development", pattern2, "development", "base,development", "builder,production"},
		{"pattern2 production", pattern2, "production", "base,builder,production", "development"},
		{"pattern2 case-insensitive target", pattern2, "Production", "base,builder,production", "development"},
		{"pattern3 test", pattern3, "test", "base,dependencies,test", "development,builder,production"},
		{"pattern3 production", pattern3, "production", "base,dependencies,builder,production", "development,test"},
		{"pattern3 default target", pattern3, "", "base,dependencies,builder,production", "development,test"},
		{"pattern5", pattern5, "", "builder,stage-1", ""},
		{"pattern7", pattern7, "", "curl,busybox,production", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPlan(t, tt.src, opts(tt.target, nil))
			if got := names(p.Order); got != tt.order {
				t.Errorf("Order = %s, want %s", got, tt.order)
			}
			if got := names(p.Pruned); got != tt.pruned {
				t.Errorf("Pruned = %s, want %s", got, tt.pruned)
			}
			if p.Order[len(p.Order)-1] != p.Target {
				t.Errorf("target %s is not last in Order", p.Target.DisplayName())
			}
		})
	}
}

func TestPattern1Refs(t *testing.T) {
	p := mustPlan(t, pattern1Go, opts("", nil))
	builder, final := p.Stages[0], p.Stages[1]
	if builder.Base.Image != "golang:1.22-alpine" || builder.Name != "builder" {
		t.Errorf("builder: %+v", builder.Base)
	}
	if builder.Location.Line != 2 || final.Location.Line != 10 {
		t.Errorf("FROM lines %d, %d; want 2, 10", builder.Location.Line, final.Location.Line)
	}
	if !final.Base.Scratch || final.Name != "" || p.Target != final {
		t.Errorf("final: %+v", final)
	}
	if final.Refs["builder"].Stage != builder || len(final.Deps) != 1 || final.Deps[0] != builder {
		t.Errorf("final refs %v deps %v", final.Refs, names(final.Deps))
	}
	if len(final.Commands) != 3 {
		t.Errorf("final has %d commands", len(final.Commands))
	}
}

func TestPattern2StageBase(t *testing.T) {
	p := mustPlan(t, pattern2, opts("development", nil))
	dev := stage(t, p, "development")
	if dev.Base.Stage != stage(t, p, "base") || names(dev.Deps) != "base" {
		t.Errorf("development base %v deps %s", dev.Base, names(dev.Deps))
	}
}

func TestPattern5Platforms(t *testing.T) {
	p := mustPlan(t, pattern5, opts("", nil))
	builder, final := p.Stages[0], p.Stages[1]
	if builder.Platform == nil || platforms.Format(*builder.Platform) != "linux/amd64" {
		t.Fatalf("builder platform %v, want linux/amd64", builder.Platform)
	}
	if final.Platform != nil || platforms.Format(final.EffectivePlatform(arm64)) != "linux/arm64" {
		t.Errorf("final platform %v, want nil (target)", final.Platform)
	}
	// TARGET* stay the build's target platform in a --platform=$BUILDPLATFORM stage.
	want := map[string]string{
		"TARGETPLATFORM": "linux/arm64", "TARGETOS": "linux", "TARGETARCH": "arm64", "TARGETVARIANT": "",
		"BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": "",
		"TARGETSTAGE": "default",
	}
	for k, v := range want {
		if got, ok := builder.Args[k]; !ok || got != v {
			t.Errorf("Args[%s] = %q (%v), want %q", k, got, ok, v)
		}
	}
	for _, key := range []string{"TARGETOS", "TARGETARCH"} {
		v, ok, err := p.ArgValue(argKV(key), nil)
		if err != nil || !ok || v != want[key] {
			t.Errorf("ArgValue(%s) = %q %v %v", key, v, ok, err)
		}
	}
}

func TestPattern7ExternalImages(t *testing.T) {
	p := mustPlan(t, pattern7, opts("", nil))
	prod := p.Target
	if got := p.Stages[0].Base.Image; got != "curlimages/curl:latest" {
		t.Errorf("curl base %q", got)
	}
	if prod.Refs["curl"].Stage != p.Stages[0] || prod.Refs["busybox"].Stage != p.Stages[1] {
		t.Errorf("stage refs: %v", prod.Refs)
	}
	// No stage is called builder: BuildKit takes it as an image name.
	if prod.Refs["builder"].Image != "builder" {
		t.Errorf("builder ref: %v", prod.Refs["builder"])
	}
	if got := prod.Images; len(got) != 2 || got[0] != "builder" || got[1] != "gcr.io/distroless/static:nonroot" {
		t.Errorf("Images = %q", got)
	}
	if names(prod.Deps) != "curl,busybox" {
		t.Errorf("Deps = %s", names(prod.Deps))
	}
}
