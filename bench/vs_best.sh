#!/usr/bin/env bash
# googlenet's default training step against PyTorch's fastest ones on this machine, in
# rounds of A B C C B A (googlenet, PyTorch bf16 autocast channels-last, PyTorch fp32
# channels-last; both peers with googlenet's malloc setting) so that a host whose speed
# drifts favours none. Prints every run, each side's median, and googlenet's ratio to
# the faster PyTorch variant's median: "PyTorch's best" in docs/performance.md.
#
#   bench/vs_best.sh [--rounds 3] [--binary build/googlenet] [--precision fp32|bf16]
#                    [-- extra arguments for both]
#
# --precision: googlenet's (bf16: its mixed precision); the peers stay as above.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 binary=build/googlenet precision=fp32 extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--rounds N] [--binary PATH] [--precision fp32|bf16] [-- bench arguments]" >&2; exit 2 ;;
  esac
done
[[ -x "$binary" ]] || { echo "$binary: not an executable googlenet (run scripts/build.sh)" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds must be a positive integer" >&2; exit 2; }
[[ "$precision" == fp32 || "$precision" == bf16 ]] || { echo "--precision must be fp32 or bf16" >&2; exit 2; }

common=(--no-data --threads 2 --repeats 7 --iterations 10 --warmup 3 --eval-batch-size 10)
rate() {  # the training phase's median img/s from a --json report on stdin
  python3 -c 'import json, sys; print(round(json.load(sys.stdin)["train"]["images_per_second"]["median"], 1))'
}
googlenet() {
  "$binary" bench "${common[@]}" --precision "$precision" "${extra[@]}" --json - 2>/dev/null | rate
}
peer() {
  /usr/bin/python3 bench/peer.py "${common[@]}" --channels-last --tune-malloc "$@" "${extra[@]}" \
    --json - 2>/dev/null | rate
}

declare -A runs
record() { runs[$1]+="$2 "; echo "$1 $2 img/s"; }
for ((round = 1; round <= rounds; ++round)); do
  record googlenet "$(googlenet)"
  record pytorch-bf16 "$(peer --precision bf16)"
  record pytorch-fp32 "$(peer)"
  record pytorch-fp32 "$(peer)"
  record pytorch-bf16 "$(peer --precision bf16)"
  record googlenet "$(googlenet)"
done

python3 - "$precision" "${runs[googlenet]}" "${runs[pytorch-bf16]}" "${runs[pytorch-fp32]}" <<'EOF'
import statistics, sys
names = [f"googlenet ({sys.argv[1]}, default engine)", "PyTorch bf16 autocast channels-last",
         "PyTorch fp32 channels-last"]
medians = [statistics.median(float(x) for x in runs.split()) for runs in sys.argv[2:]]
for name, median, runs in zip(names, medians, sys.argv[2:]):
    print(f"{name}: median {median:.1f} img/s of [{runs.strip()}]")
best = max(medians[1:])
print(f"googlenet / PyTorch's best ({names[medians.index(best)]}): {medians[0] / best:.2f}x")
EOF
