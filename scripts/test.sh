#!/usr/bin/env bash
# Runs the whole test suite (lint, types, tests) in .venv, creating it if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests drive the playground page with headless Chromium through chromedriver; the report tests
# render PDFs with poppler's pdftoppm/pdftotext, in Korean with fonts-nanum; the storage tests start a throwaway
# PostgreSQL server (Debian packages).
scripts/system-packages.sh report test
# The dataset tests read ../shared/data unless SKINBOT_DATA says otherwise.
export SKINBOT_DATA="${SKINBOT_DATA:-$(cd .. && pwd)/shared/data}"
scripts/bootstrap.sh train,dev,scale
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
