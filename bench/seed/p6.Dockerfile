# The seed's Pattern 6, verbatim but for FROM pointing at bench/run.sh's loopback
# registry (@REGISTRY@) and no "# syntax=" line (no frontend image to pull).
FROM @REGISTRY@/library/node:20-alpine AS deps
WORKDIR /app
COPY package*.json ./
RUN npm ci --only=production

FROM @REGISTRY@/library/node:20-alpine AS dev-deps
WORKDIR /app
COPY package*.json ./
RUN npm ci

FROM dev-deps AS builder
COPY . .
RUN npm run build

FROM @REGISTRY@/library/node:20-alpine AS production
WORKDIR /app
RUN addgroup -g 1001 -S nodejs && \
    adduser -S nextjs -u 1001 -G nodejs

# Use production deps from deps stage
COPY --from=deps --chown=nextjs:nodejs /app/node_modules ./node_modules
COPY --from=builder --chown=nextjs:nodejs /app/dist ./dist

USER 1001
CMD ["node", "dist/index.js"]
