#!/usr/bin/env bash
# The process runner against one process (issue 22): the seed workload at ROWS (default
# 20,000,000) rows, --partitions P (default 16), budget 384 MiB, every 10, run three ways in
# turn, N rounds (default 3): `--jobs 1` (one task at a time in this process), `--jobs 2` on
# threads, and `--jobs 2 --runner processes` (segments in two child processes, 192 MiB each).
# Wall time and the peak resident memory of the whole process tree (bench/tree_rss.py samples
# /proc every 20 ms: the children's memory counts) per run; medians, the ratios to --jobs 1
# measured in the same rounds, and the checksums.
#
#   bench/processes.sh [ROUNDS] [ROWS] [PARTITIONS]
#   SEED_DIR=/some/disk bench/processes.sh     # checkpoint dirs there (default: mktemp)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
rows=${2:-20000000}
parts=${3:-16}
cargo build --release -q -p stepstone --example seed
bin=target/release/examples/seed
dir=$(mktemp -d ${SEED_DIR:+-p "$SEED_DIR"})
trap 'rm -rf "$dir"' EXIT
out="$dir/results.tsv"
measure() { # name, extra flags...
  local name=$1; shift
  rm -rf "$dir/ck"
  local line
  line=$(python3 bench/tree_rss.py "$bin" --rows "$rows" --partitions "$parts" --budget 384MiB \
    --every 10 --checkpoint-dir "$dir/ck" --no-progress "$@")
  printf '%s\t%s\n' "$name" "$line" >> "$out"
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$rounds"); do
  echo "round $i/$rounds (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  measure jobs1 --jobs 1
  measure threads2 --jobs 2
  measure processes2 --jobs 2 --runner processes
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$out" "$rows" "$parts" "$load_before" "$load_after" "$(nproc)" <<'PY'
import json, statistics, sys
path, rows, parts, before, after, cores = sys.argv[1:7]
data = {}
for line in open(path):
    name, wall, kib, last = line.rstrip("\n").split("\t", 3)
    try:
        checksum = json.loads(last).get("checksum")
    except Exception:
        checksum = None
    data.setdefault(name, []).append((float(wall), int(kib) / 1024, checksum))
med = lambda n, i: statistics.median(r[i] for r in data[n])
print(f"seed {rows} rows, --partitions {parts}, budget 384 MiB, every 10; {len(data['jobs1'])} rounds, "
      f"medians; {cores} cores, load {before} before, {after} after")
print(f"{'run':<12} {'wall s':>8} {'tree RSS MiB':>13}  checksum")
for name in ("jobs1", "threads2", "processes2"):
    print(f"{name:<12} {med(name, 0):>8.2f} {med(name, 1):>13.0f}  {data[name][-1][2]}")
j1 = med("jobs1", 0)
for name in ("threads2", "processes2"):
    print(f"{name} / jobs1 wall: {med(name, 0) / j1:.2f}x")
p = med("processes2", 0) / j1
rss = med("processes2", 1)
print(f"processes2: wall {p:.2f}x of --jobs 1 (target <= 0.65x): {'met' if p <= 0.65 else 'MISSED'}; "
      f"tree peak RSS {rss:.0f} MiB (target <= 506 MiB): {'met' if rss <= 506 else 'MISSED'}")
sums = [r[2] for rs in data.values() for r in rs if r[2] is not None]
if sums:
    print(f"checksums agree within {max(sums) / min(sums) - 1:.1e} (relative)")
PY
