#!/usr/bin/env bash
# Arrow figures for the README: seed_arrow (2M rows, --budget 384MiB --every 10) paired with the
# Polars script bench/seed_polars.py (eager frames, with_columns per step, Parquet write + read
# at each checkpoint), each Stepstone run right after the Polars run; medians of wall seconds
# and peak RSS (/usr/bin/time -f "%e %M", the whole process), and the ratios of the medians.
# Needs `pip install polars pyarrow`.
#
#   bench/arrow.sh [PAIRS] [ROWS] [PARTITIONS]   # default 5 pairs, 2000000 rows, 1 partition
#   BUDGET=256MiB bench/arrow.sh 3 20000000 32   # the partitioned case: 20M rows, 32 partitions
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5}
rows=${2:-2000000}
parts=${3:-1}
budget=${BUDGET:-384MiB}
python3 -c "import polars" 2>/dev/null || { echo "needs polars: pip install polars pyarrow" >&2; exit 1; }
cargo build --release -q -p stepstone --example seed_arrow
bin=${CARGO_TARGET_DIR:-target}/release/examples/seed_arrow
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$work/polars" ; : >"$work/stepstone"
for i in $(seq 1 "$pairs"); do
  /usr/bin/time -f "%e %M" -o "$work/t" python3 bench/seed_polars.py --rows "$rows" --every 10 \
    --dir "$work/polars-$i" >"$work/p.out"
  cat "$work/t" >>"$work/polars"
  p_sum=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])['checksum'])" "$work/p.out")
  /usr/bin/time -f "%e %M" -o "$work/t" "$bin" --rows "$rows" --partitions "$parts" --budget "$budget" --every 10 \
    --checkpoint-dir "$work/stepstone-$i" --fresh --no-progress >"$work/s.out" 2>/dev/null
  cat "$work/t" >>"$work/stepstone"
  s_sum=$(tail -n 1 "$work/s.out" | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['checksum'])")
  echo "pair $i: polars $(cat "$work/polars" | tail -n1) (checksum $p_sum)  stepstone $(tail -n1 "$work/stepstone") (checksum $s_sum)"
  rm -rf "$work/polars-$i" "$work/stepstone-$i"
done
pw=$(cut -d' ' -f1 "$work/polars" | median); pm=$(cut -d' ' -f2 "$work/polars" | median)
sw=$(cut -d' ' -f1 "$work/stepstone" | median); sm=$(cut -d' ' -f2 "$work/stepstone" | median)
echo "== medians over $pairs pairs, $rows rows"
awk -v pw="$pw" -v pm="$pm" -v sw="$sw" -v sm="$sm" -v b="$budget" 'BEGIN {
  printf "polars      wall %.2f s  peak RSS %.0f MiB\n", pw, pm / 1024
  printf "seed_arrow  wall %.2f s  peak RSS %.0f MiB (budget %s)\n", sw, sm / 1024, b
  printf "ratio stepstone/polars: wall %.2fx  peak RSS %.2fx\n", sw / pw, sm / pm
}'
