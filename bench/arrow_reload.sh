#!/usr/bin/env bash
# Reload figures: the seed's step 5/10/15/20 checkpoints read back by the aggregate, Arrow IPC
# (seed_arrow: mmap + zero-copy decode) against postcard (seed: read + decode of Vec<Row>) of
# the same rows, and against `cat` of the same files. Each example runs once with --every 5
# (checkpoints at steps 5, 10, 15, 20); then the aggregate's object is deleted and the run
# repeated: it loads the four checkpoints and aggregates (nothing else runs). Warm page cache
# for all three. Median of ROUNDS.
#
#   bench/arrow_reload.sh [ROWS] [ROUNDS]      # default 8000000 rows (~1 GiB of Arrow files), 5
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-8000000}
rounds=${2:-5}
cargo build --release -q -p stepstone --example seed_arrow --example seed
cargo build --release -q -p stepstone-cli --bin stepstone
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for ex in seed_arrow seed; do
  dir="$work/$ex"
  "$target/release/examples/$ex" --rows "$rows" --budget 16GiB --every 5 --checkpoint-dir "$dir" \
    --fresh --no-progress >/dev/null 2>&1
  agg=$("$target/release/stepstone" checkpoints ls --dir "$dir" --json |
    python3 -c "import json,sys; print([r['path'] for r in json.load(sys.stdin) if r['step']=='aggregate'][0])")
  files=$("$target/release/stepstone" checkpoints ls --dir "$dir" --json |
    python3 -c "import json,sys; print(' '.join(r['path'] for r in json.load(sys.stdin) if r['step']!='aggregate'))")
  bytes=$(cd "$dir" && du -cb $files | tail -n1 | cut -f1)
  : >"$work/$ex.t"; : >"$work/$ex.cat"
  for _ in $(seq 1 "$rounds"); do
    rm -f "$dir/$agg"
    out=$("$target/release/examples/$ex" --rows "$rows" --budget 16GiB --every 5 --checkpoint-dir "$dir" --no-progress 2>/dev/null | tail -n1)
    echo "$out" | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['seconds'])" >>"$work/$ex.t"
    s=$(date +%s.%N); (cd "$dir" && cat $files >/dev/null); e=$(date +%s.%N)
    echo "$e - $s" | bc >>"$work/$ex.cat"
  done
  printf "%-10s 4 checkpoints, %5.0f MiB: aggregate run %.3f s, cat of the files %.3f s\n" "$ex" \
    "$(echo "$bytes / 1048576" | bc -l)" "$(median <"$work/$ex.t")" "$(median <"$work/$ex.cat")"
  echo "$(median <"$work/$ex.t")" >"$work/$ex.med"
done
awk -v a="$(cat "$work/seed_arrow.med")" -v p="$(cat "$work/seed.med")" \
  'BEGIN { printf "arrow / postcard reload: %.3fx\n", a / p }'
