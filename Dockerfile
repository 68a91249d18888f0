# syntax=docker/dockerfile:1
# One image for every MCPHub service: HUB_TARGETS picks what a container runs (all, gateway,
# supervisor, router, auth). docs/operations.md describes it and its size target.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV CI=true
RUN npm install -g pnpm@10.34.9
# Manifests first, so the dependency layer is reused while only sources change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY apps/auth/package.json apps/auth/
COPY apps/dashboard/package.json apps/dashboard/
COPY apps/gateway/package.json apps/gateway/
COPY apps/hub/package.json apps/hub/
COPY apps/router/package.json apps/router/
COPY apps/supervisor/package.json apps/supervisor/
COPY packages/bus/package.json packages/bus/
COPY packages/config/package.json packages/config/
COPY packages/contracts/package.json packages/contracts/
COPY packages/db/package.json packages/db/
COPY packages/observability/package.json packages/observability/
COPY packages/service-clients/package.json packages/service-clients/
COPY tools/conformance/package.json tools/conformance/
RUN pnpm install --frozen-lockfile --filter "mcphub" --filter "@mcphub/hub..." --filter "@mcphub/dashboard"
COPY . .
# The hub serves the dashboard's build from apps/dashboard/dist, beside its own bundle.
RUN pnpm --filter @mcphub/hub build \
 && pnpm --filter @mcphub/dashboard build \
 && infra/scripts/runtime-tree.sh /out

FROM ${NODE_IMAGE} AS runtime
# python3 for "command": "python" servers, uv/uvx for Python ones, tini as PID 1 (reaps the
# stdio servers' exited children and passes signals on); npx comes with Node.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=ghcr.io/astral-sh/uv:0.12 /uv /uvx /usr/local/bin/
WORKDIR /app
COPY --from=build --chown=root:root /out/ /app/
# The node image's unprivileged user; data, logs and npm/uv caches are the only writable places.
# /srv/dashboard: where compose's one-shot "dashboard" service copies the build for nginx.
RUN mkdir -p /app/data /config /var/log/mcphub /home/node/.cache /srv/dashboard \
 && chown -R node:node /app/data /config /var/log/mcphub /home/node /srv/dashboard
USER node
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data \
    MCPHUB_SETTING_PATH=/config/mcp_settings.json \
    PATH=/app/node_modules/.bin:/usr/local/bin:/usr/bin:/bin \
    UV_CACHE_DIR=/home/node/.cache/uv \
    npm_config_cache=/home/node/.cache/npm \
    npm_config_update_notifier=false
EXPOSE 3000
VOLUME ["/app/data"]
# Liveness of whichever service runs (each answers /api/health under its BASE_PATH).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+(process.env.BASE_PATH||'')+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--max-semi-space-size=2", "apps/hub/dist/server.js"]
