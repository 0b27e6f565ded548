#!/usr/bin/env bash
# The seed workload's instruction counts under valgrind's callgrind: Stepstone against the
# plain-Rust baseline. Instructions are not time (no cache misses, no page faults, no disk
# waits), but they are the same on every run of the same binary and input, whatever the rest of
# the machine does — a shared VM moves wall times by ±20 %, so this is the repeatable view of
# the runtime's own work. The quota budget is scaled with the rows (384 MiB at 2,000,000 rows).
#
#   bench/seed-instructions.sh [ROWS]          # default 200000 (each run takes ~30 s)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-200000}
command -v valgrind > /dev/null || { echo "needs valgrind (Debian package: valgrind)" >&2; exit 1; }
cargo build --release -q -p stepstone --example seed_baseline --example seed_builder
bin=target/release/examples
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
budget=$(( 402653184 * rows / 2000000 ))

count() { # name, command...: total instructions executed
  local name=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$dir/$name.out" "$@" > /dev/null 2>&1
  callgrind_annotate "$dir/$name.out" 2> /dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

base=$(count baseline "$bin/seed_baseline" --rows "$rows")
quota=$(count quota "$bin/seed_builder" --rows "$rows" --budget "$budget" --every 10 \
  --checkpoint-dir "$dir/q" --fresh)
nopressure=$(count nopressure "$bin/seed_builder" --rows "$rows" --budget 64GiB --every 0 \
  --checkpoint-dir "$dir/n" --fresh)

echo "seed workload, rows=$rows, instructions (callgrind); quota budget $budget bytes"
printf '%-24s %16s %12s\n' run instructions "vs baseline"
for pair in "baseline $base" "seed_builder:quota $quota" "seed_builder:nopressure $nopressure"; do
  read -r name n <<< "$pair"
  printf '%-24s %16s %11.3fx\n' "$name" "$n" "$(echo "$n / $base" | bc -l)"
done
