# syntax=docker/dockerfile:1
#
# One image for every Heed process:
#   docker run IMAGE coordinator ...   docker run IMAGE worker ...
#   docker run --entrypoint node IMAGE packages/cli/bin/heedctl.js ...   (the operator CLI)
#
# The build runs the same commands as CI (scripts/setup.sh): `npm ci`, then
# `npx tsc --build`. The runtime stage installs production dependencies only
# (`npm ci --omit=dev`, all workspaces) and runs as an unprivileged user.
# Build:  docker build -t heed:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
#
# All stages use the same exact Node 24 LTS tag (test/deploy checks it).

# --- manifests: package.json files only, so dependency layers stay cached ----
FROM node:24.22.3-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN mkdir -p /out \
 && cp package.json package-lock.json /out/ \
 && find . -name package.json -not -path "*/node_modules/*" -not -path "./package.json" \
      -exec cp --parents {} /out/ \;

# --- build: install everything, compile every workspace ----------------------
FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /out/ ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc --build \
 && mkdir -p /out \
 && find packages services -path "*/node_modules" -prune -o -type d -name dist -print \
      | xargs -I{} cp -r --parents {} /out/ \
 && find /out -name .tsbuildinfo -delete \
 && cp -r --parents packages/cli/bin proto /out/

# --- runtime -----------------------------------------------------------------
FROM node:24.22.3-bookworm-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="heed" \
      org.opencontainers.image.description="Heed: a distributed, polite, auditable web-crawl coordinator (coordinator and worker)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/node:24.22.3-bookworm-slim"

ENV NODE_ENV=production
WORKDIR /app
COPY --from=manifests /out/ ./
# Production dependencies of every workspace (the @heed/* links included);
# then npm, npx, corepack and yarn go: nothing at run time needs them.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && mkdir -p /var/lib/heed \
 && chown 1000:1000 /var/lib/heed
# Compiled code, the CLI entry points (heed, heedctl), and the protos (gRPC server reflection reads them).
COPY --from=build /out/ ./

# The base image's "node" user, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
# The coordinator's LMDB lives here (mount a volume); probes listen on 9464.
ENV HEED_DATA_DIR=/var/lib/heed \
    HEED_HTTP_LISTEN=0.0.0.0:9464
# 7400: coordinator gRPC (Frontier, grpc.health.v1, reflection); 9464: /livez, /readyz, /metrics.
EXPOSE 7400 9464

# For Docker and Compose (Kubernetes uses the manifests' probes). No curl here:
# node's fetch asks /livez on the probe port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=(process.env.HEED_HTTP_LISTEN||'').split(':').pop();if(!p)process.exit(0);fetch('http://127.0.0.1:'+p+'/livez',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Exec form: node is PID 1 and gets SIGTERM itself (workers drain on it).
ENTRYPOINT ["node", "/app/packages/cli/bin/heed.js"]
CMD ["--help"]
