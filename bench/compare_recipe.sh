#!/usr/bin/env bash
# Fidelity check of the training recipe: the C++ trainer and PyTorch running the same
# recipe (bench/train_peer.py, Debian's python3-torch) back to back on the real data,
# several seeds each; prints each run's final test accuracy and the mean/spread.
#
#   bench/compare_recipe.sh [--seeds "0 1 2"] [--epochs 3] [--threads 2] [--data ../shared/data] [-- extra]
# Extra arguments after -- go to both (e.g. --train-subset 10000, --aux, --bn).
set -euo pipefail
cd "$(dirname "$0")/.."

seeds="0 1 2" epochs=3 threads=2 data=../shared/data extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
bin=${GOOGLENET_BIN:-build/googlenet}
[[ -x "$bin" ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }
python=/usr/bin/python3
"$python" -c 'import torch, torchvision' 2>/dev/null ||
  { echo "needs Debian's python3-torch + python3-torchvision: scripts/install-deps.sh --with-python" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results.tsv"
for seed in $seeds; do
  "$bin" train --data "$data" --out "$work/cpp-$seed" --epochs "$epochs" --seed "$seed" \
    --threads "$threads" --log-every 100000 "${extra[@]}" >"$work/cpp-$seed.log" 2>&1
  cpp=$(tail -n 1 "$work/cpp-$seed/metrics.csv" | cut -d, -f4)
  "$python" bench/train_peer.py --data "$data/cifar-10-batches-bin" --epochs "$epochs" \
    --seed "$seed" --init xavier --threads "$threads" --channels-last --csv "$work/py-$seed.csv" \
    "${extra[@]}" >"$work/py-$seed.log" 2>&1
  py=$(tail -n 1 "$work/py-$seed.csv" | cut -d, -f4)
  printf '%s\t%s\t%s\n' "$seed" "$cpp" "$py" | tee -a "$results"
done
"$python" - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for col, name in ((1, "C++ (googlenet)"), (2, "PyTorch (reference code)")):
    accs = [100 * float(r[col]) for r in rows]
    spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
    print(f"{name:26s} test acc mean {statistics.mean(accs):6.2f}%  sd {spread:5.2f}  runs {', '.join(f'{a:.2f}' for a in accs)}")
PY
