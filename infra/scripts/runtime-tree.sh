#!/bin/sh
# Assembles the image's runtime tree in OUT from a built checkout (the hub bundle must exist:
# `pnpm --filter @mcphub/hub build`). The bundle carries every JavaScript dependency except
# those it leaves external (PGlite's wasm and extensions), so the tree holds only
#   apps/hub/dist/            the bundle, its source map and the database migrations
#   node_modules/             production dependencies, installed from the lockfile in npm's
#                             flat layout (real directories, no links into a pnpm store), with
#                             .bin holding the stdio servers the hub ships (mcp-server-everything…)
#   apps/dashboard/dist/      the dashboard's build, when it was built (the hub serves it)
#   mcp_settings.example.json copied to the settings path on first start
#   infra/scripts/            backup.sh and restore.sh (a host install runs them from here)
# The role of `pnpm deploy`, for a bundle: the same lockfile, without the workspace packages'
# own copies of what the bundle already contains. Used by the Dockerfile and its test.
#
#   infra/scripts/runtime-tree.sh OUT [--offline]
# MCPHUB_BUNDLE_DIR: the built bundle, if not apps/hub/dist.
set -eu
out="${1:?usage: runtime-tree.sh OUT [--offline]}"
offline=""
case "${2:-}" in
  "") ;;
  --offline) offline=1 ;;
  *) echo "runtime-tree: unknown option $2 (only --offline)" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/../.." && pwd)"
bundle="${MCPHUB_BUNDLE_DIR:-$root/apps/hub/dist}"
if [ ! -f "$bundle/server.js" ]; then
  echo "runtime-tree: $bundle/server.js is missing; run pnpm --filter @mcphub/hub build first" >&2
  exit 1
fi
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "runtime-tree: $out exists and is not empty" >&2
  exit 1
fi
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
# Only the manifests: pnpm installs the lockfile's production graph for them.
cd "$root"
cp package.json pnpm-lock.yaml pnpm-workspace.yaml "$stage/"
for manifest in apps/*/package.json packages/*/package.json tools/*/package.json; do
  [ -f "$manifest" ] || continue
  mkdir -p "$stage/$(dirname "$manifest")"
  cp "$manifest" "$stage/$manifest"
done
cd "$stage"
pnpm install --frozen-lockfile --prod --ignore-scripts --config.node-linker=hoisted ${offline:+--offline} >&2
mkdir -p "$out/apps/hub"
# -a keeps .bin's relative links.
cp -a "$stage/node_modules" "$out/node_modules"
cp -a "$bundle" "$out/apps/hub/dist"
if [ -f "$root/apps/dashboard/dist/index.html" ]; then
  mkdir -p "$out/apps/dashboard"
  cp -a "$root/apps/dashboard/dist" "$out/apps/dashboard/dist"
else
  echo "runtime-tree: no dashboard build (apps/dashboard/dist); the tree serves the API only" >&2
fi
cp "$root/mcp_settings.example.json" "$out/"
mkdir -p "$out/infra/scripts"
cp -p "$root/infra/scripts/backup.sh" "$root/infra/scripts/restore.sh" "$out/infra/scripts/"
echo "runtime-tree: $(du -sh "$out" | cut -f1) in $out" >&2
