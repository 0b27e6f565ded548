#!/usr/bin/env bash
# The build cost of a generated pipeline, as a new user meets it (issue 27): a fresh clone of
# this checkout in a temp folder, an empty target directory and an empty shared target
# directory (XDG_CACHE_HOME points into the temp folder, so the user's cache is not touched),
# crates already downloaded. Times, with the load average next to each figure:
#   1. the README's first command: cargo run -p stepstone-cli -- new demo --no-input --dest target/demo --run
#   2. a second project: the same with demo2 (reuses the shared target directory)
#   3. with RELEASE=1, a third project with --release (the optimized build, also shared)
# and counts the packages a generated project without S3 builds (cargo tree, normal and build
# dependencies, the project itself included) and the crates its first build compiled.
#
#   bench/first-command.sh                # offline (CARGO_NET_OFFLINE=true): crates must be downloaded
#   ONLINE=1 RELEASE=1 bench/first-command.sh
#
# Acceptance (2 cores, nothing else running): 1 ≤ 240 s, 2 ≤ 60 s, ≤ 150 packages. On a
# machine shared with other builds the figures are upper bounds: read them with the load.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$src" "$work/stepstone"
cd "$work/stepstone"
unset CARGO_TARGET_DIR STEPSTONE_NO_SHARED_TARGET
export XDG_CACHE_HOME="$work/cache" CARGO_INCREMENTAL=0 CARGO_TERM_COLOR=never
if [ -z "${ONLINE:-}" ]; then export CARGO_NET_OFFLINE=true; fi
load() { cut -d' ' -f1-3 /proc/loadavg; }
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done; }
timed() { # LABEL CMD... : run, keep its output (each line time-stamped) in $work/LABEL.log,
  # print wall and CPU time (user + sys of cargo and everything it ran) and the load
  local label=$1 before start end cpu
  shift
  before=$(load)
  start=$(date +%s.%N)
  if ! /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" 2>&1 | stamp >"$work/$label.log"; then
    tail -40 "$work/$label.log"; echo "$label failed" >&2; exit 1
  fi
  end=$(date +%s.%N)
  cpu=$(awk '{print $1 + $2}' "$work/cpu")
  printf '%-40s %7.1f s wall, %6.1f s CPU   load before %s, after %s\n' "$label" \
    "$(echo "$end - $start" | bc)" "$cpu" "$before" "$(load)"
  # `new --run` prints "Running: cargo run …" when the CLI is built and the project's build starts
  local running
  running=$(awk '/ Running: cargo run/ {print $1; exit}' "$work/$label.log")
  if [ -n "$running" ]; then
    printf '%-40s %7.1f s to build the CLI, %.1f s to build and run the project\n' "" \
      "$(echo "$running - $start" | bc)" "$(echo "$end - $running" | bc)"
  fi
}
echo "stepstone $(git rev-parse --short HEAD), $(nproc) cores, $(cargo --version)"
timed "1. first command (new demo --run)" \
  cargo run -p stepstone-cli -- new demo --no-input --dest target/demo --run
compiled=$(sed -n '/ Running: cargo run/,$p' "$work/1. first command (new demo --run).log" | grep -c ' Compiling ' || true)
timed "2. second project (new demo2 --run)" \
  cargo run -p stepstone-cli -- new demo2 --no-input --dest target/demo2 --run
if [ -n "${RELEASE:-}" ]; then
  timed "3. release (new demo3 --release --run)" \
    cargo run -p stepstone-cli -- new demo3 --no-input --dest target/demo3 --release --run
fi
packages=$(cd target/demo && cargo tree -e normal,build --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
echo "generated project without S3: $packages packages (cargo tree, normal + build); its first build compiled $compiled crates"
grep -h ' memory:' "$work/1. first command (new demo --run).log" | head -1 | cut -d' ' -f2-
echo "shared target directory: $(du -sh "$XDG_CACHE_HOME/stepstone/target" | cut -f1); workspace target: $(du -sh target | cut -f1)"
