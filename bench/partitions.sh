#!/usr/bin/env bash
# Partitioned seed runs beside DuckDB (issue 14): the seed workload at ROWS (default 20,000,000)
# rows under a 384 MiB budget, every 10, with --partitions P (default 16), against the 2M-row
# quota run (unpartitioned, the linear-scaling reference) and DuckDB 2.x running the same
# workload with memory_limit=384MB (bench/seed_duckdb.py: each step a table, Parquet written and
# read back at each checkpoint). Runs alternate, N rounds (default 3); wall and peak RSS of the
# whole process from /usr/bin/time; medians, and the ratios the issue asks for.
#
#   bench/partitions.sh [ROUNDS] [ROWS] [PARTITIONS] [JOBS]
#   needs: /usr/bin/time, python3 with duckdb (pip install duckdb)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
rows=${2:-20000000}
parts=${3:-16}
jobs=${4:-2}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package: time)" >&2; exit 1; }
python3 -c "import duckdb" 2>/dev/null || { echo "needs duckdb for python3: pip install duckdb" >&2; exit 1; }
cargo build --release -q -p stepstone --example seed
bin=target/release/examples/seed
dir=$(mktemp -d ${SEED_DIR:+-p "$SEED_DIR"})
trap 'rm -rf "$dir"' EXIT
out="$dir/results.tsv"
measure() { # name, command...
  local name=$1; shift
  local t="$dir/time.txt" last
  last=$(/usr/bin/time -f "%e %M" -o "$t" "$@" 2>/dev/null | tail -n 1)
  read -r wall kb < "$t"
  printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "$kb" "$last" >> "$out"
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$rounds"); do
  echo "round $i/$rounds (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  rm -rf "$dir/d"; measure duckdb python3 bench/seed_duckdb.py "$rows" "$dir/d" 384MB 10 "$jobs"
  rm -rf "$dir/p"; measure partitioned "$bin" --rows "$rows" --partitions "$parts" --budget 384MiB \
    --every 10 --jobs "$jobs" --checkpoint-dir "$dir/p" --no-progress
  rm -rf "$dir/q"; measure quota2m "$bin" --rows 2000000 --budget 384MiB --every 10 --jobs "$jobs" \
    --checkpoint-dir "$dir/q" --no-progress
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$out" "$rows" "$parts" "$jobs" "$load_before" "$load_after" "$(nproc)" <<'PY'
import json, statistics, sys
path, rows, parts, jobs, before, after, cores = sys.argv[1:8]
data = {}
for line in open(path):
    name, wall, kb, last = line.rstrip("\n").split("\t", 3)
    try:
        checksum = json.loads(last).get("checksum")
    except Exception:
        checksum = None
    data.setdefault(name, []).append((float(wall), int(kb) / 1024, checksum))
med = lambda n, i: statistics.median(r[i] for r in data[n])
print(f"seed {rows} rows, --partitions {parts}, --jobs {jobs}, budget 384 MiB, every 10; "
      f"{len(data['partitioned'])} rounds, medians; {cores} cores, load {before} before, {after} after")
print(f"{'run':<14} {'wall s':>8} {'peak RSS MiB':>13}  checksum")
for name in ("duckdb", "partitioned", "quota2m"):
    print(f"{name:<14} {med(name, 0):>8.2f} {med(name, 1):>13.0f}  {data[name][-1][2]}")
p, q, d = med("partitioned", 0), med("quota2m", 0), med("duckdb", 0)
rss = med("partitioned", 1)
print(f"partitioned / 2M quota run wall: {p / q:.2f}x (target <= 11x, linear scaling = 10x)")
print(f"partitioned / DuckDB wall: {p / d:.2f}x; peak RSS {rss:.0f} MiB vs DuckDB {med('duckdb', 1):.0f} MiB")
print(f"partitioned peak RSS {rss:.0f} MiB (target <= 506 MiB): {'met' if rss <= 506 else 'MISSED'}")
ck = [r[2] for r in data["partitioned"]] + [r[2] for r in data["duckdb"]]
if all(c is not None for c in ck):
    spread = max(ck) / min(ck) - 1
    print(f"checksums agree within {spread:.1e} (relative)")
PY
