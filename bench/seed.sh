#!/usr/bin/env bash
# Side-by-side benchmark of the seed workload (shared/workloads/seed.md): Stepstone against the
# plain-Rust baseline, built in release, alternating runs, N times each (default 5). Prints the
# median wall time and peak RSS (from /usr/bin/time, i.e. measured outside the process) of each
# configuration and the ratios against the baseline measured in the same session.
#
#   bench/seed.sh [RUNS] [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
rows=${2:-2000000}
example=${SEED_EXAMPLE:-seed_builder}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package: time)" >&2; exit 1; }
cargo build --release -q -p stepstone --example "$example" --example seed_baseline
bin=target/release/examples
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out="$dir/results.tsv"

measure() { # name, command...
  local name=$1; shift
  local t="$dir/time.txt"
  local last
  last=$(/usr/bin/time -f "%e %M" -o "$t" "$@" 2>/dev/null | tail -n 1)
  read -r wall kb < "$t"
  printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "$kb" "$last" >> "$out"
}

for i in $(seq "$runs"); do
  echo "round $i/$runs" >&2
  measure baseline "$bin/seed_baseline" --rows "$rows"
  measure quota "$bin/$example" --rows "$rows" --budget 384MiB --every 10 --checkpoint-dir "$dir/q" --fresh
  measure baseline "$bin/seed_baseline" --rows "$rows"
  measure nopressure "$bin/$example" --rows "$rows" --budget 64GiB --every 0 --checkpoint-dir "$dir/n" --fresh
done

python3 - "$out" "$runs" "$rows" <<'PY'
import json, statistics, sys
path, runs, rows = sys.argv[1], sys.argv[2], sys.argv[3]
data = {}
for line in open(path):
    name, wall, kb, last = line.rstrip("\n").split("\t", 3)
    data.setdefault(name, []).append((float(wall), int(kb) / 1024, last))
def med(name, i):
    return statistics.median(r[i] for r in data[name])
base_wall = med("baseline", 0)
print(f"seed workload, rows={rows}, {runs} alternating runs each, medians (2-core machine)")
print(f"{'run':<12} {'wall s':>8} {'peak RSS MiB':>13} {'wall vs baseline':>17}  checksum")
for name in ["baseline", "quota", "nopressure"]:
    wall, rss = med(name, 0), med(name, 1)
    try:
        checksum = json.loads(data[name][-1][2])["checksum"]
    except Exception:
        checksum = "?"
    print(f"{name:<12} {wall:>8.2f} {rss:>13.0f} {wall / base_wall:>16.2f}x  {checksum}")
PY
