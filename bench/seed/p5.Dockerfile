# The seed's Pattern 5, verbatim but for FROM pointing at bench/run.sh's loopback
# registry (@REGISTRY@) and no "# syntax=" line (no frontend image to pull).
FROM --platform=$BUILDPLATFORM @REGISTRY@/library/golang:1.22-alpine AS builder

# Build arguments for cross-compilation
ARG TARGETOS
ARG TARGETARCH

WORKDIR /app
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -o /server

FROM scratch
COPY --from=builder /server /server
ENTRYPOINT ["/server"]
