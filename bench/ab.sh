#!/usr/bin/env bash
# Training speed of two googlenet builds, interleaved A B B A so that a host whose speed
# drifts (these shared VMs: ~540-970 img/s for one binary within minutes) favours
# neither; prints every run and each build's median. For changes of a few percent,
# prefer a same-process measurement (build/onednn_conv_floor --per-layer, or
# `googlenet bench --profile` read with bench/profile_table.py) and use this to check
# that the whole step follows.
#
#   bench/ab.sh [--rounds 2] OLD_BINARY NEW_BINARY [-- extra bench arguments]
#
# e.g. cp build/googlenet /tmp/googlenet_old; (change, rebuild);
#      bench/ab.sh /tmp/googlenet_old build/googlenet -- --channels-last
set -euo pipefail

rounds=2 binaries=() extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) binaries+=("$1"); shift ;;
  esac
done
[[ ${#binaries[@]} -eq 2 ]] || { echo "usage: $0 [--rounds N] OLD_BINARY NEW_BINARY [-- bench args]" >&2; exit 2; }
for binary in "${binaries[@]}"; do
  [[ -x "$binary" ]] || { echo "$binary: not an executable googlenet" >&2; exit 2; }
done

train_rate() {  # img/s of one `googlenet bench` run's training phase (median of its repeats)
  "$1" bench --no-data --threads 2 --repeats 9 --iterations 10 --warmup 3 --eval-batch-size 10 \
    "${extra[@]}" --json - 2>/dev/null |
    python3 -c 'import json, sys; print(round(json.load(sys.stdin)["train"]["images_per_second"]["median"]))'
}

a=${binaries[0]} b=${binaries[1]} results=()
for ((round = 1; round <= rounds; ++round)); do
  for binary in "$a" "$b" "$b" "$a"; do
    rate=$(train_rate "$binary")
    echo "$binary $rate img/s"
    results+=("$binary $rate")
  done
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rates = {}
for line in sys.stdin:
    binary, rate = line.split()
    rates.setdefault(binary, []).append(float(rate))
for binary, values in rates.items():
    print(f"{binary}: median {statistics.median(values):.0f} img/s of {len(values)} runs, {sorted(values)}")
'
