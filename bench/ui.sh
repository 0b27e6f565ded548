#!/usr/bin/env bash
# `stepstone ui` figures for the README: (1) the server time of a page load of a run with 1,000
# steps × 16 partitions (the run page, its assets and /api/runs/ID, from a freshly started
# server, so the report is read, laid out and encoded: nothing cached), from the Server-Timing
# header of each answer, and curl's wall time; (2) the server's resident memory (VmRSS) idle
# after start, and idle after serving that page.
#
#   bench/ui.sh [ROUNDS]        # default 5 rounds, each with a fresh server
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
cargo build --release -q -p stepstone-cli --bin stepstone --example ui_runs
target=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cp "$target/stepstone" "$work/stepstone"
/usr/bin/time -f "bench run: %e s, %M KiB peak RSS" "$target/examples/ui_runs" bench "$work/dir"
id=$(ls "$work/dir/runs" | tail -1)
echo "run $id: $(du -h "$work/dir/runs/$id/report.json" | cut -f1) report.json, $(du -h "$work/dir/runs/$id/tasks.json" | cut -f1) tasks.json"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
timing() { # URL -> "server_ms wall_ms bytes"
  curl -s -D "$work/h" -o "$work/body" -w '%{time_total} %{size_download}\n' "$1" >"$work/w"
  local server
  server=$(tr -d '\r' <"$work/h" | awk -F'dur=' 'tolower($0) ~ /^server-timing/ {print $2}')
  awk -v s="$server" '{printf "%.2f %.2f %d\n", s, $1 * 1000, $2}' "$work/w"
}
for round in $(seq 1 "$rounds"); do
  "$work/stepstone" ui --dir "$work/dir" --bind 127.0.0.1:0 >"$work/url" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 100); do [ -s "$work/url" ] && break; sleep 0.05; done
  url=$(head -1 "$work/url")
  sleep 1
  idle=$(rss "$pid")
  total_server=0
  total_wall=0
  for path in "runs/$id" assets/ui.css assets/common.js assets/charts.js assets/run.js "api/runs/$id"; do
    read -r s w b < <(timing "${url}${path}")
    total_server=$(awk -v a="$total_server" -v b="$s" 'BEGIN {print a + b}')
    total_wall=$(awk -v a="$total_wall" -v b="$w" 'BEGIN {print a + b}')
    if [ "$path" = "api/runs/$id" ]; then api="$s ms server, $w ms wall, $b bytes"; fi
  done
  read -r warm _ _ < <(timing "${url}api/runs/$id")
  sleep 1
  after=$(rss "$pid")
  echo "round $round: page load ${total_server} ms server (${total_wall} ms wall); /api/runs/ID cold ${api}; warm ${warm} ms; RSS idle ${idle} KiB, after the page ${after} KiB"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
