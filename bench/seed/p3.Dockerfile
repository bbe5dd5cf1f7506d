# The seed's Pattern 3, verbatim but for FROM pointing at bench/run.sh's loopback
# registry (@REGISTRY@) and no "# syntax=" line (no frontend image to pull).
FROM @REGISTRY@/library/node:20-alpine AS base
WORKDIR /app
COPY package*.json ./

FROM base AS dependencies
RUN npm ci

FROM dependencies AS development
COPY . .
CMD ["npm", "run", "dev"]

# Test stage - run during CI
FROM dependencies AS test
COPY . .
RUN npm run lint
RUN npm run test
RUN npm run type-check

# Build stage - only runs if tests pass
FROM dependencies AS builder
COPY . .
RUN npm run build && npm prune --production

FROM @REGISTRY@/library/node:20-alpine AS production
WORKDIR /app
RUN addgroup -g 1001 -S nodejs && \
    adduser -S nextjs -u 1001 -G nodejs

COPY --from=builder --chown=nextjs:nodejs /app/dist ./dist
COPY --from=builder --chown=nextjs:nodejs /app/node_modules ./node_modules

USER 1001
CMD ["node", "dist/index.js"]
