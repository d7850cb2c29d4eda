#!/usr/bin/env bash
# Creates .venv (once) and installs skinbot into it with the given extras, e.g. `scripts/bootstrap.sh train,dev`.
# Re-installs only when pyproject.toml or the extras change, so repeated runs start fast.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "skinbot: creating .venv (first run only)…" >&2
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
fi
stamp=".venv/.skinbot-installed"
want="$(sha256sum pyproject.toml | cut -c1-16)-${extras}"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "skinbot: installing dependencies${extras:+ [$extras]} into .venv…" >&2
  spec="."
  [ -n "$extras" ] && spec=".[${extras}]"
  .venv/bin/python -m pip install --quiet -e "$spec" >&2
  echo "$want" > "$stamp"
fi
