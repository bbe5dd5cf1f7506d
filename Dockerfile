# kiln's own image: the static kiln and kiln-compose (bake's compose
# reader) binaries, runc, and what rootless needs
# (newuidmap/newgidmap, /etc/subuid and /etc/subgid for the build user), on
# kiln-base (scripts/mkkilnbase.sh makes it from Debian 12's packages).
# Built by kiln itself; docs/recipes.md says how, with and without a network.
ARG GO_IMAGE=golang:1.26
ARG KILN_BASE=kiln-base

FROM ${GO_IMAGE} AS build
# Offline, GOPROXY names a module proxy on the host's network (RUN shares it).
ARG GOPROXY=https://proxy.golang.org,direct
ARG VERSION=
WORKDIR /src
COPY go.mod go.sum ./
COPY cmd cmd
COPY internal internal
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
    go build -trimpath -ldflags "-s -X github.com/kiln-build/kiln/internal/cli.Version=${VERSION}" \
      -o /out/ ./cmd/kiln ./cmd/kiln-compose

FROM ${KILN_BASE}
COPY --from=build /out/kiln /out/kiln-compose /usr/local/bin/
# The store: mount a volume here (overlay cannot put upper dirs on the
# container's own overlay root filesystem).
VOLUME /var/lib/kiln
ENTRYPOINT ["/usr/local/bin/kiln"]
