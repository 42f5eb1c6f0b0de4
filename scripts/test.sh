#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then runs
# ruff, mypy --strict and pytest (unit, app, end-to-end over sockets, headless Chromium).
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Debian's Chromium drives the browser tests (never a downloaded browser build): the
# playwright package (from the test extra above) launches /usr/bin/chromium by path;
# `playwright install` is never run.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

echo "== ruff check";  python3 -m ruff check .
echo "== ruff format"; python3 -m ruff format --check .
echo "== mypy --strict"; python3 -m mypy
echo "== pytest"
python3 -m pytest "$@"
