#!/usr/bin/env bash
# Stepstone on Spark against Spark's own DataFrames (issue 23), on the same standalone cluster
# with the same executors: the seed workload at ROWS (default 20,000,000) rows, PARTITIONS
# (default 16) partitions, checkpoint every 10, 384 MiB per task — `stepstone spark submit`
# of the seed example vs `spark-submit bench/seed_spark.py` (DataFrames, Parquet written and
# read back at each checkpoint) — and Stepstone's local runs beside them: `--jobs 2` (threads,
# the default runner) and `--jobs 2 --runner processes` (the faster one here). Runs alternate, N rounds (default 3); wall seconds of the whole command, medians,
# ratios, checksums.
#
#   bench/spark.sh MASTER [ROUNDS] [ROWS] [PARTITIONS]      # MASTER: spark://127.0.0.1:7077
#   EXAMPLE=seed_arrow bench/spark.sh MASTER                # Stepstone with Arrow batches
#   needs: pip install pyspark==4.3.0, Java 17, a running cluster (.ci/run shows how to start one)
set -euo pipefail
cd "$(dirname "$0")/.."
master=${1:?usage: bench/spark.sh MASTER [ROUNDS] [ROWS] [PARTITIONS]}
rounds=${2:-3}
rows=${3:-20000000}
parts=${4:-16}
example=${EXAMPLE:-seed}
cargo build --release -q -p stepstone --example "$example"
cargo build --release -q -p stepstone-cli
bin=$PWD/target/release/examples/$example
cli=$PWD/target/release/stepstone
dir=$(mktemp -d ${SEED_DIR:+-p "$SEED_DIR"})
trap 'rm -rf "$dir"' EXIT
out="$dir/results.tsv"
conf=(--conf spark.executor.memory=512m --conf spark.executor.cores=1 --conf spark.cores.max=2
      --conf spark.executor.memoryOverhead=640m --conf spark.ui.showConsoleProgress=false)
measure() { # name, command...
  local name=$1; shift
  local started ended line
  started=$(date +%s.%N)
  line=$("$@" 2>/dev/null | grep '^{' | tail -n 1)
  ended=$(date +%s.%N)
  printf '%s\t%s\t%s\n' "$name" "$(echo "$ended - $started" | bc -l)" "$line" >> "$out"
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$rounds"); do
  echo "round $i/$rounds (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  rm -rf "$dir/st"; measure stepstone_spark "$cli" spark submit --master "$master" "${conf[@]}" \
    "$bin" -- --rows "$rows" --partitions "$parts" --budget 384MiB --every 10 \
    --checkpoint-dir "$dir/st" --no-progress
  rm -rf "$dir/df"; measure spark_dataframes spark-submit --master "$master" "${conf[@]}" \
    bench/seed_spark.py "$rows" "$parts" "$dir/df"
  rm -rf "$dir/lt"; measure stepstone_local_threads "$bin" --rows "$rows" --partitions "$parts" \
    --budget 384MiB --every 10 --jobs 2 --checkpoint-dir "$dir/lt" --no-progress
  rm -rf "$dir/lo"; measure stepstone_local "$bin" --rows "$rows" --partitions "$parts" \
    --budget 384MiB --every 10 --jobs 2 --runner processes --checkpoint-dir "$dir/lo" --no-progress
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$out" "$rows" "$parts" "$load_before" "$load_after" "$(nproc)" "$example" <<'PY'
import json, statistics, sys
path, rows, parts, before, after, cores = sys.argv[1:7]
data = {}
for line in open(path):
    name, wall, last = line.rstrip("\n").split("\t", 2)
    try:
        checksum = json.loads(last).get("checksum")
    except Exception:
        checksum = None
    data.setdefault(name, []).append((float(wall), checksum))
med = lambda n: statistics.median(r[0] for r in data[n])
print(f"{sys.argv[7]}: seed {rows} rows, {parts} partitions, every 10, 384 MiB per task; {len(data['stepstone_spark'])} rounds, "
      f"medians; {cores} cores, load {before} before, {after} after")
for name in ("stepstone_spark", "spark_dataframes", "stepstone_local_threads", "stepstone_local"):
    print(f"{name:<24} {med(name):>8.2f} s  checksum {data[name][-1][1]}")
s, d = med("stepstone_spark"), med("spark_dataframes")
t, l = med("stepstone_local_threads"), med("stepstone_local")
print(f"Stepstone on Spark / Spark DataFrames: {s / d:.2f}x (target <= 0.5x)")
print(f"Stepstone on Spark / Stepstone local --jobs 2 (threads): {s / t:.2f}x (target <= 1.6x)")
print(f"Stepstone on Spark / Stepstone local --jobs 2 --runner processes: {s / l:.2f}x")
PY
