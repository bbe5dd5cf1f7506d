# The seed's Pattern 7, verbatim but for FROM pointing at bench/run.sh's loopback
# registry (@REGISTRY@) and no "# syntax=" line (no frontend image to pull).
# Added by bench/: the builder stage Pattern 7 copies from (Pattern 1's).
FROM @REGISTRY@/library/node:20-alpine AS builder
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

# Get static binaries from external images
FROM @REGISTRY@/curlimages/curl:latest AS curl
FROM @REGISTRY@/library/busybox:uclibc AS busybox

FROM @REGISTRY@/library/node:20-alpine AS production
WORKDIR /app

# Copy curl for health checks
COPY --from=curl /usr/bin/curl /usr/bin/curl

# Copy shell utilities if needed
COPY --from=busybox /bin/sh /bin/sh
COPY --from=busybox /bin/wget /bin/wget

COPY --from=builder /app/dist ./dist
CMD ["node", "dist/index.js"]
