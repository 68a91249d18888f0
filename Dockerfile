# One image for every MCPHub service; HUB_TARGETS / the command pick what a container runs.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN npm install -g pnpm@10.34.9
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Upstream servers run from the image's node_modules (npx/uvx-style commands need the tools).
COPY --from=build /app /app
EXPOSE 3000
CMD ["node", "--max-semi-space-size=2", "apps/hub/dist/server.js"]
