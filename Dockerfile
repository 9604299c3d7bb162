# syntax=docker/dockerfile:1
# Shorten app image: Bun runs the TypeScript sources directly (no build step).
#
# Production dependencies come from package-lock.json through `npm ci --omit=dev` in a Node
# stage: the lockfile is npm's, and `bun install --production --frozen-lockfile` needs a bun.lock
# (without one Bun would resolve versions afresh, which is not a locked install). Every runtime
# dependency is plain JavaScript (the only install script in the lock belongs to the `bun`
# devDependency, which is omitted), so --ignore-scripts is safe and node_modules copies across
# images unchanged.

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Pinned to the Bun the repository tests with (devDependency "bun": "1.4.5").
FROM oven/bun:1.4.5-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
# Owned by root and read-only to the app user: the process cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY migrations ./migrations
COPY public ./public
# The operator's tools run in the app image too: `docker-compose exec app1 bun scripts/reshard.ts add`.
COPY scripts ./scripts
# The image's unprivileged user (uid 1000).
USER bun
EXPOSE 8080
# 200 only while this instance takes traffic: 503 while starting, draining (SIGTERM) or with no writable primary.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT ?? '8080') + '/health/ready').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# Graceful: readiness false, drain SHUTDOWN_DRAIN_MS, finish in-flight requests, close (src/lifecycle/shutdown.ts).
STOPSIGNAL SIGTERM
CMD ["bun", "src/main.ts"]
