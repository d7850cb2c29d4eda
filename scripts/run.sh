#!/usr/bin/env bash
# Runs the product: the Telegram bot when TELEGRAM_BOT_TOKEN is set, otherwise the local playground.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-packages.sh report  # the Korean PDF report needs a Hangul TrueType font
scripts/bootstrap.sh "${SKINBOT_EXTRAS:-}"
exec .venv/bin/skinbot run "$@"
