# The seed's Pattern 2, verbatim but for FROM pointing at bench/run.sh's loopback
# registry (@REGISTRY@) and no "# syntax=" line (no frontend image to pull).
# Base stage with common setup
FROM @REGISTRY@/library/node:20-alpine AS base
WORKDIR /app
COPY package*.json ./

# Development target
FROM base AS development
RUN npm install
COPY . .
EXPOSE 3000 9229
CMD ["npm", "run", "dev"]

# Builder stage (for production)
FROM base AS builder
RUN npm ci
COPY . .
RUN npm run build && npm prune --production

# Production target
FROM @REGISTRY@/library/node:20-alpine AS production
WORKDIR /app
RUN addgroup -g 1001 -S nodejs && \
    adduser -S nextjs -u 1001 -G nodejs

COPY --from=builder --chown=nextjs:nodejs /app/dist ./dist
COPY --from=builder --chown=nextjs:nodejs /app/node_modules ./node_modules

USER 1001
EXPOSE 3000
CMD ["node", "dist/index.js"]
