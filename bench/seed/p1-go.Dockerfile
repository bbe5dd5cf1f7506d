# The seed's Pattern 1 (Go), verbatim but for FROM pointing at bench/run.sh's loopback
# registry (@REGISTRY@) and no "# syntax=" line (no frontend image to pull).
# Stage 1: Build
FROM @REGISTRY@/library/golang:1.22-alpine AS builder
WORKDIR /app

# Download dependencies (cached layer)
COPY go.mod go.sum ./
RUN go mod download

# Build static binary
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -ldflags="-w -s" -o /server

# Stage 2: Production (scratch = empty image)
FROM scratch
COPY --from=builder /server /server
EXPOSE 8080
ENTRYPOINT ["/server"]
