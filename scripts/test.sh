#!/usr/bin/env bash
# Runs the whole test suite (lint, types, tests) in .venv, creating it if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests drive the playground page with headless Chromium through chromedriver (Debian packages).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "skinbot: installing chromium and chromium-driver for the browser tests…" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
      || echo "skinbot: could not install chromium; the browser tests will fail" >&2
  else
    echo "skinbot: the browser tests need chromium and chromedriver (Debian: apt-get install chromium chromium-driver)" >&2
  fi
fi
# The dataset tests read ../shared/data unless SKINBOT_DATA says otherwise.
export SKINBOT_DATA="${SKINBOT_DATA:-$(cd .. && pwd)/shared/data}"
scripts/bootstrap.sh train,dev
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
