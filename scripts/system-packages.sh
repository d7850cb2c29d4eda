#!/usr/bin/env bash
# Installs the Debian packages the bot needs outside Python, when missing (as root, with apt-get), e.g.
#   scripts/system-packages.sh report       # fonts-nanum: a TrueType font with Hangul for the Korean PDF report
#   scripts/system-packages.sh report test  # also poppler-utils (the report tests), chromium (browser tests) and
#                                           # the PostgreSQL 15 server (the storage tests start a throwaway one)
#                                           # and nginx (the cluster tests: nginx in front of webhook replicas)
# Without root or apt-get it says what to install and carries on: the parts that need them then fail clearly.
set -euo pipefail
packages=()
for need in "$@"; do
  case "$need" in
    report) [ -f /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || packages+=(fonts-nanum) ;;
    test)
      command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 || packages+=(poppler-utils)
      command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
        || packages+=(chromium chromium-driver)
      [ -x /usr/lib/postgresql/15/bin/initdb ] || packages+=(postgresql-15)
      command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx) ;;
    *) echo "system-packages.sh: unknown need '$need' (report, test)" >&2; exit 2 ;;
  esac
done
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "skinbot: installing ${packages[*]}…" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null) \
    || echo "skinbot: could not install ${packages[*]}" >&2
else
  echo "skinbot: please install the Debian packages ${packages[*]} (apt-get install ${packages[*]})" >&2
fi
