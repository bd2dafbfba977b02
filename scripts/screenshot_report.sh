#!/usr/bin/env bash
# A PNG of a report page (python -m dotlightning report), taken by headless Chromium, to look at or commit.
#   bash scripts/screenshot_report.sh report.html docs/img/report.png [WIDTH,HEIGHT]
# Chromium is the Debian package (apt-get install -y chromium). The flags keep it off the network (the page is
# self-contained anyway), skip first-run and sync work, and give it a throwaway profile; --no-sandbox because this
# runs as root in containers. The screenshot is the top WIDTH x HEIGHT pixels of the page.
set -euo pipefail
page=${1:?usage: screenshot_report.sh PAGE.html OUT.png [WIDTH,HEIGHT]}
out=${2:?usage: screenshot_report.sh PAGE.html OUT.png [WIDTH,HEIGHT]}
size=${3:-1400,2400}
browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n $browser ]] || { echo "screenshot_report.sh: no chromium on PATH. Fix: apt-get install -y chromium" >&2; exit 2; }
[[ -f $page ]] || { echo "screenshot_report.sh: $page: no such file. Fix: write it with python -m dotlightning report" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
mkdir -p "$(dirname "$out")"
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
  --screenshot="$(realpath -m "$out")" --window-size="$size" "file://$(realpath "$page")" 2>/dev/null
[[ -s $out ]] || { echo "screenshot_report.sh: chromium wrote no $out" >&2; exit 1; }
echo "screenshot_report.sh: $out ($(stat -c %s "$out") bytes)"
