# The identity broker as TIB's image runs: working directory /opt/tyk-identity-broker, tib.conf and
# profiles.json there, `--conf=/opt/tyk-identity-broker/tib.conf`, port 3010, TYK_IB_* variables. Mount the
# directory, never profiles.json alone (a save replaces the file, which a single-file mount refuses), owned by
# the image's user, node (uid 1000); the root filesystem can be read-only. docs/container.md has the commands,
# which test/slow/container.test.ts runs.

# Build: all dependencies, then the same `npm run build` as the README (and the demo portal's build).
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.demo.json ./
COPY src ./src
COPY demo ./demo
RUN npm run build && npm run build:demo

# Run: production dependencies only, as the unprivileged `node` user.
FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/identity-broker
COPY package.json package-lock.json ./
# npm's cache goes to a directory removed in the same layer, so none of it is in the image.
RUN npm ci --omit=dev --no-audit --no-fund --cache /tmp/npm-cache && rm -rf /tmp/npm-cache
COPY --from=build /build/dist ./dist
COPY --from=build /build/dist-demo ./dist-demo
COPY deploy/healthcheck.mjs ./healthcheck.mjs
# The commit GET /version and tib_build_info report (src/metrics.ts): docker build --build-arg GIT_COMMIT="$(git rev-parse HEAD)".
ARG GIT_COMMIT=
RUN [ -z "$GIT_COMMIT" ] || printf '{"commit":"%s"}\n' "$GIT_COMMIT" > build-info.json
# TIB's directory: the broker's working directory, where tib.conf and profiles.json are mounted and where
# profile saves and backups go (owned by the broker's user so they can be written).
RUN mkdir -p /opt/tyk-identity-broker && chown node:node /opt/tyk-identity-broker
WORKDIR /opt/tyk-identity-broker
USER node
EXPOSE 3010
# /health on the broker's own port (TYK_IB_PORT, else tib.conf's Port, else 3010), with node: no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["node", "/opt/identity-broker/healthcheck.mjs"]
# --max-semi-space-size=8: V8's young generation sized for logins (src/heap.ts NODE_FLAGS, docs/performance.md).
ENTRYPOINT ["node", "--max-semi-space-size=8", "/opt/identity-broker/dist/main.js"]
CMD ["--conf=/opt/tyk-identity-broker/tib.conf"]
