# syntax=docker/dockerfile:1
#
# smokeprobe: the daemon, with the repository's probes and alerting file baked
# in. The image is immutable: change a probe in the repository, build a new
# image, replace the old container. Teams ship their own probes with
#
#   FROM ghcr.io/example/smokeprobe:<version>
#   COPY probes/ /app/probes/
#   COPY alerting/ /app/alerting/
#
# or mount them read-only instead (`-v ./probes:/app/probes:ro`).
#
# Build:  docker build --build-arg VERSION=$(git describe --tags) --build-arg REVISION=$(git rev-parse HEAD) -t smokeprobe .
# Run:    docker run --rm -p 9464:9464 --env-file probe.env smokeprobe
#
# No --init is needed: the daemon is PID 1, handles SIGTERM/SIGINT itself
# (finishes or abandons in-flight runs, flushes alert state, exits 0) and
# spawns no child processes that would need reaping.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- the bundle: sources and production dependencies in dist/ ----------------
# scripts/build.js (esbuild) writes one file per part the CLI loads on demand
# and the licences of every dependency bundled; the runtime stage needs
# neither node_modules nor the TypeScript sources.
# --ignore-scripts: no dependency runs code at install time (esbuild's binary
# comes as its platform's optional package, not from a postinstall).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY scripts/build.js scripts/build.js
COPY src/ ./src/
# The daemon's heap settings (src/daemon/heap.ts) read bin/startup.js.
COPY bin/ ./bin/
RUN node scripts/build.js

# --- the demo CRUD API (deploy/compose.yaml builds this target) ---------------
FROM ${NODE_IMAGE} AS demo-api
WORKDIR /app
COPY demo/server.ts demo/server.ts
ENV DEMO_API_HOST=0.0.0.0 DEMO_API_PORT=8080
USER node
EXPOSE 8080
ENTRYPOINT ["node", "/app/demo/server.ts"]

# --- the daemon (default target) -----------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=
LABEL org.opencontainers.image.title="smokeprobe" \
      org.opencontainers.image.description="Blackbox end-to-end synthetic monitoring: CRUD smoke probes, alerting after consecutive failures, Prometheus metrics" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/example/smokeprobe"

WORKDIR /app
# No NODE_OPTIONS: bin/probe.js applies the daemon's heap setting itself
# (bin/startup.js, BENCHMARKS.md "Footprint"), and a heap flag given here
# would replace it. Its compile cache lives in /tmp, a tmpfs under
# --read-only; without one the bin simply starts without a cache.
ENV NODE_ENV=production \
    SMOKEPROBE_STATE_DIR=/var/lib/smokeprobe

# Everything is owned by root and read-only to the daemon: only the state
# volume is writable.
COPY --from=build /app/dist ./dist/
COPY package.json ./
COPY bin/ ./bin/
COPY schema/ ./schema/
COPY probes/ ./probes/
COPY alerting/ ./alerting/
# The daemon, its HEALTHCHECK and the entrypoint need node only: npm, npx and
# corepack leave the runtime (less to exploit; the build stage ran npm ci).
# Their bytes stay in the base's layers, shared with every image on that base.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && ln -s /app/bin/probe.js /usr/local/bin/probe \
 && mkdir -p /var/lib/smokeprobe \
 && chown node:node /var/lib/smokeprobe

USER node
VOLUME /var/lib/smokeprobe
EXPOSE 9464
# The image has no curl; Node's fetch does the check. Adjust the port if you
# change --listen.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["probe"]
CMD ["run"]
