# The seed's Pattern 4 (Go, module and build cache), verbatim but for FROM pointing at bench/run.sh's loopback
# registry (@REGISTRY@) and no "# syntax=" line (no frontend image to pull).
FROM @REGISTRY@/library/golang:1.22-alpine AS builder
WORKDIR /app

COPY go.mod go.sum ./

# Cache Go modules between builds
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -o /server
