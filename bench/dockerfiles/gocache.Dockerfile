# Row 4: the seed's Pattern 1 (Go) with a build-cache mount (the seed's
# Pattern 4), so a rebuild after a go.mod change re-runs the steps but reuses
# the compiled packages. @REGISTRY@ is replaced by run.sh.
FROM @REGISTRY@/library/golang:1.22-alpine AS builder
ENV GOCACHE=/root/.cache/go-build GOMODCACHE=/root/go/pkg/mod
WORKDIR /app
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -ldflags="-w -s" -o /server

FROM scratch
COPY --from=builder /server /server
ENTRYPOINT ["/server"]
