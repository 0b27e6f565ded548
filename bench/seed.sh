#!/usr/bin/env bash
# Side-by-side benchmark of the seed workload (shared/workloads/seed.md): Stepstone against the
# plain-Rust baseline, built in release, alternating runs, N times each (default 5). Prints the
# median wall time and peak RSS (from /usr/bin/time, i.e. measured outside the process) of each
# configuration, the ratios against the baseline measured in the same session, and the issue-6
# targets (quota peak RSS ≤ 486 MiB, quota wall ≤ 1.3×, no-pressure wall ≤ 1.05×). Each Stepstone
# run follows a baseline run, and its ratio is taken against that one ("paired"): on a shared VM
# the speed of the whole machine drifts by ±20 % within minutes, and a pair sees the same drift.
# Every run starts from an empty checkpoint directory (a directory with the checkpoints of an
# earlier round would let `--fresh` skip rewriting them). `baseline_mt` is
# the baseline with one idle thread (`--idle-thread`): what glibc malloc costs any multi-threaded
# program, Stepstone included.
#
#   bench/seed.sh [RUNS] [ROWS]
#   SEED_EXAMPLE="seed_builder seed" bench/seed.sh      # several Stepstone versions, interleaved
#   SEED_EXAMPLE="seed_builder before=/tmp/old/seed_builder" bench/seed.sh
#                                                       # NAME=PATH: a prebuilt binary (an older
#                                                       # build), measured beside the others
#   SEED_DIR=/some/disk bench/seed.sh                   # checkpoint dirs there (default: mktemp)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
rows=${2:-2000000}
read -r -a examples <<< "${SEED_EXAMPLE:-seed_builder}"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package: time)" >&2; exit 1; }
build=(cargo build --release -q -p stepstone --example seed_baseline)
declare -A binary
for e in "${examples[@]}"; do
  if [[ $e == *=* ]]; then
    binary[$e]=${e#*=}
  else
    build+=(--example "$e")
    binary[$e]=target/release/examples/$e
  fi
done
"${build[@]}"
bin=target/release/examples
dir=$(mktemp -d ${SEED_DIR:+-p "$SEED_DIR"})
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

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$runs"); do
  echo "round $i/$runs (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  measure baseline_mt "$bin/seed_baseline" --rows "$rows" --idle-thread
  for e in "${examples[@]}"; do
    measure baseline "$bin/seed_baseline" --rows "$rows"
    rm -rf "$dir/q"
    measure "${e%%=*}:quota" "${binary[$e]}" --rows "$rows" --budget 384MiB --every 10 --checkpoint-dir "$dir/q" --fresh
    measure baseline "$bin/seed_baseline" --rows "$rows"
    rm -rf "$dir/n"
    measure "${e%%=*}:nopressure" "${binary[$e]}" --rows "$rows" --budget 64GiB --every 0 --checkpoint-dir "$dir/n" --fresh
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

names=()
for e in "${examples[@]}"; do names+=("${e%%=*}"); done
python3 - "$out" "$runs" "$rows" "$load_before" "$load_after" "$(nproc)" "${names[@]}" <<'PY'
import json, statistics, sys
path, runs, rows, load_before, load_after, cores = sys.argv[1:7]
examples = sys.argv[7:]
data = {}
paired = {}  # Stepstone run name -> its wall time / the wall time of the baseline run just before
previous_base = None
for line in open(path):
    name, wall, kb, last = line.rstrip("\n").split("\t", 3)
    data.setdefault(name, []).append((float(wall), int(kb) / 1024, last))
    if name == "baseline":
        previous_base = float(wall)
    elif ":" in name and previous_base:
        paired.setdefault(name, []).append(float(wall) / previous_base)
def med(name, i):
    return statistics.median(r[i] for r in data[name])
def field(name, key):
    try:
        return json.loads(data[name][-1][2])[key]
    except Exception:
        return None
base_wall = med("baseline", 0)
print(f"seed workload, rows={rows}, {runs} alternating runs each, medians; {cores} cores, "
      f"load average {load_before} before, {load_after} after")
print(f"{'run':<24} {'wall s':>7} {'min s':>6} {'max s':>6} {'peak RSS MiB':>13} {'vs baseline':>12} {'paired':>7} {'vs baseline_mt':>15}  {'spilled MiB':>11}  checksum")
base_mt = med("baseline_mt", 0)
spread = []
names = ["baseline", "baseline_mt"] + [f"{e}:{k}" for e in examples for k in ("quota", "nopressure")]
for name in names:
    walls = [r[0] for r in data[name]]
    wall, rss = med(name, 0), med(name, 1)
    checksum = field(name, "checksum")
    spilled = field(name, "spilled_bytes")
    spilled = f"{spilled / 2**20:.0f}" if isinstance(spilled, (int, float)) else "-"
    pair = f"{statistics.median(paired[name]):.2f}x" if name in paired else "-"
    if name in paired and len(paired[name]) >= 4:
        q = statistics.quantiles(paired[name], n=4)
        spread.append(f"{name}: paired ratios {min(paired[name]):.2f}–{max(paired[name]):.2f}, "
                      f"interquartile {q[0]:.2f}–{q[2]:.2f}")
    print(f"{name:<24} {wall:>7.2f} {min(walls):>6.2f} {max(walls):>6.2f} {rss:>13.0f} "
          f"{wall / base_wall:>11.2f}x {pair:>7} {wall / base_mt:>14.2f}x  {spilled:>11}  {checksum if checksum is not None else '?'}")
for line in spread:
    print(line)
print("vs baseline: ratio of the medians; paired: median of each run's ratio to the baseline run")
print("just before it (the target verdicts use it); baseline_mt: the same plain Rust with one idle")
print("thread (glibc malloc then locks its arenas)")
print()
print("targets (issue 6), against the single-threaded baseline (paired ratios):")
ok = True
for e in examples:
    checks = [
        (f"{e} quota peak RSS ≤ 486 MiB", med(f"{e}:quota", 1), 486, "MiB"),
        (f"{e} quota wall ≤ 1.3× baseline", statistics.median(paired[f"{e}:quota"]), 1.3, "x"),
        (f"{e} no-pressure wall ≤ 1.05× baseline", statistics.median(paired[f"{e}:nopressure"]), 1.05, "x"),
    ]
    for label, value, limit, unit in checks:
        verdict = "met" if value <= limit else "MISSED"
        ok &= value <= limit
        print(f"  {label:<44} {value:8.2f} {unit:<3} {verdict}")
    for k in ("quota", "nopressure"):
        c = field(f"{e}:{k}", "checksum")
        if c is None or abs(c - 4005801914386.94) / 4005801914386.94 > 1e-9:
            if rows == "2000000":
                print(f"  {e}:{k} checksum {c} differs from the expected 4005801914386.94")
PY
