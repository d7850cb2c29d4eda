#!/usr/bin/env bash
# Runs the whole test suite (lint, types, tests) in .venv, creating it if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh train,dev
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -q "$@"
