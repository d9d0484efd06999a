#!/usr/bin/env bash
# Data-parallel scaling on this machine: the same global batch (128) trained by 1
# process and by N processes (`googlenet train --nproc N`, c10d/Gloo over loopback),
# one epoch of a real subset each; prints training img/s, the scaling efficiency
# (N-process img/s over 1-process img/s) and the time rank 0 waited for the gradient
# all-reduce per step.
#
#   bench/scaling.sh [--nproc "2"] [--subset 7680] [--data ../shared/data] [-- extra]
# Extra arguments after -- go to every run (e.g. --no-aux).
set -euo pipefail
cd "$(dirname "$0")/.."

nprocs="2" subset=7680 data=../shared/data extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nproc) nprocs="$2"; shift 2 ;;
    --subset) subset="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
bin=${GOOGLENET_BIN:-build/googlenet}
[[ -x "$bin" ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {  # nproc -> "img/s wait_ms"
  local n=$1 out="$work/n$1" threads=$((cores / $1))
  ((threads >= 1)) || threads=1
  "$bin" train --data "$data" --out "$out" --epochs 1 --train-subset "$subset" \
    --test-subset 1000 --batch-size $((128 / n)) --nproc "$n" --threads "$threads" "${extra[@]}" \
    > "$out.log" 2> "$out.err" || { cat "$out.err" >&2; exit 1; }
  local rate wait
  rate=$(tail -n 1 "$out/metrics.csv" | cut -d, -f7)
  wait=$(grep -o 'all-reduce wait [0-9.]* ms/step' "$out.log" | awk '{print $3}' || true)
  echo "$rate ${wait:--}"
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $cores cores;" \
  "global batch 128, $subset images, $(date -u +%F), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| processes | threads each | per-rank batch | train img/s | efficiency | all-reduce wait ms/step |"
echo "|---:|---:|---:|---:|---:|---:|"
read -r base base_wait < <(run 1)
printf "| 1 | %d | 128 | %.0f | 1.00 | %s |\n" "$cores" "$base" "$base_wait"
for n in $nprocs; do
  read -r rate wait < <(run "$n")
  threads=$((cores / n)); ((threads >= 1)) || threads=1
  printf "| %d | %d | %d | %.0f | %.2f | %s |\n" "$n" "$threads" $((128 / n)) "$rate" \
    "$(echo "$rate / $base" | bc -l)" "$wait"
done
