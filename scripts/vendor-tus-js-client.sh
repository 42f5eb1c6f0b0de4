#!/usr/bin/env bash
# Refresh the page's vendored tus-js-client (the resumable-upload client, MIT licence) from the
# npm registry: its browser bundle becomes src/porch/app/static/tus.min.js, headed by a comment
# naming the version, and its licence src/porch/app/static/tus-js-client.LICENSE. The page
# never loads it from a CDN. Usage: scripts/vendor-tus-js-client.sh [VERSION]
# (default: the version pinned in tests/node/package.json, which the Node tests use too).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-$(node -p 'require("./tests/node/package.json").dependencies["tus-js-client"]')}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "tus-js-client@${version}" >/dev/null && tar xzf ./*.tgz)
static=src/porch/app/static
{
  printf '/*! tus-js-client %s | MIT licence: /-/static/tus-js-client.LICENSE | %s */\n' \
    "$version" "vendored by scripts/vendor-tus-js-client.sh from the npm registry"
  grep -v '^//# sourceMappingURL=' "$work/package/dist/tus.min.js"
} >"$static/tus.min.js"
cp "$work/package/LICENSE" "$static/tus-js-client.LICENSE"
echo "tus-js-client ${version} -> $static/tus.min.js"
