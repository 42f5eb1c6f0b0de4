#!/usr/bin/env bash
# The whole test suite, from a fresh machine: creates .venv, installs porch with its test
# tools there (and Debian's chromium for the browser tests if missing), then runs
# ruff, mypy --strict and pytest (unit, app, end-to-end over sockets, headless Chromium).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Debian's Chromium drives the browser tests (never a downloaded browser build); curl is used
# by the end-to-end tests as a real client; wrk by the benchmark harness's smoke test and the
# fleet's rolling restart; the WebDAV clients by the WebDAV end-to-end tests; HAProxy, Varnish
# and rsync by the fleet tests (tests/e2e/test_fleet_*);
# unzip, bsdtar and 7z read porch's archives.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# WebDAV clients for tests/e2e/test_dav_*.py (issue 13): litmus, rclone, cadaver, davfs2.
command -v litmus >/dev/null 2>&1 || missing+=(litmus)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
command -v cadaver >/dev/null 2>&1 || missing+=(cadaver)
{ command -v mount.davfs || [ -x /usr/sbin/mount.davfs ]; } >/dev/null 2>&1 || missing+=(davfs2)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v varnishd >/dev/null 2>&1 || [ -x /usr/sbin/varnishd ] || missing+=(varnish)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
# Archives (docs/folders.md) are checked with the tools people open them with.
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
command -v bsdtar >/dev/null 2>&1 || missing+=(libarchive-tools)
command -v 7z >/dev/null 2>&1 || missing+=(p7zip-full)
# Resumable uploads (issue 14): tus-js-client runs in Node, and nginx is the body-capped proxy.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# tus-js-client for Node (pinned in tests/node/package-lock.json), a client nobody here wrote.
if [ ! -d tests/node/node_modules/tus-js-client ]; then
  (cd tests/node && npm ci --silent --no-audit --no-fund)
fi

PY=.venv/bin/python
echo "== ruff check";     $PY -m ruff check .
echo "== ruff format";    $PY -m ruff format --check .
echo "== mypy --strict";  $PY -m mypy
echo "== pytest"
export PORCH_REQUIRE_TOOLS=1  # every tool above is installed: a skip for a missing one is a failure
$PY -m pytest "$@"
