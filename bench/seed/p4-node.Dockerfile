# The seed's Pattern 4 (Node, npm cache), verbatim but for FROM pointing at bench/run.sh's loopback
# registry (@REGISTRY@) and no "# syntax=" line (no frontend image to pull).
FROM @REGISTRY@/library/node:20-alpine AS builder
WORKDIR /app

COPY package*.json ./

# Cache npm packages between builds
RUN --mount=type=cache,target=/root/.npm \
    npm ci

COPY . .
RUN npm run build
