#!/usr/bin/env bash
# Screenshot a run's or a study's report.html with headless Chromium, to look at it as a
# person would: tools/screenshot-report.sh DIR OUT.png [HEIGHT]
# DIR is the --out folder of `mmm run` / `mmm study` (report.html is rebuilt first when the
# `mmm` binary is on PATH or in target/; otherwise the existing report.html is used).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 DIR OUT.png [HEIGHT]" >&2
    exit 2
fi
dir=$1
out=$2
height=${3:-9000}
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    echo "$chromium not found: install it with apt-get install -y chromium (or set CHROMIUM)" >&2
    exit 1
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
mmm=""
for m in "$(command -v mmm || true)" "$root/target/release/mmm" "$root/target/debug/mmm"; do
    # the first binary that knows `mmm report` (a stale build may not)
    if [ -n "$m" ] && [ -x "$m" ] && "$m" report --help >/dev/null 2>&1; then mmm=$m; break; fi
done
if [ -n "$mmm" ]; then
    "$mmm" report "$dir" -q
fi
if [ ! -f "$dir/report.html" ]; then
    echo "$dir/report.html not found (run mmm report $dir)" >&2
    exit 1
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
report="$(cd "$dir" && pwd)/report.html"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" \
    --window-size=1280,"$height" --screenshot="$out" "file://$report" 2>/dev/null
echo "wrote $out"
