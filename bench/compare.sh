#!/usr/bin/env bash
# Speed against PyTorch: `googlenet bench` and bench/peer.py (the reference code on
# Debian's python3-torch) back to back on this machine, same thread count, NCHW and
# then channels-last; prints a Markdown table of every quantity with the ratio
# C++ / PyTorch, naming the CPU and the thread count.
#
#   bench/compare.sh [--threads 2] [--data ../shared/data] [--json-dir DIR]
#                    [--peer-tune-malloc] [--cpp-system-malloc] [-- extra]
# Extra arguments after -- go to both benches (e.g. --repeats 9, --aux, --bn).
# googlenet keeps freed memory in glibc's malloc (tune_malloc, src/util/malloc.cpp);
# --peer-tune-malloc gives PyTorch the same setting, --cpp-system-malloc takes it from
# googlenet (GOOGLENET_MALLOC=system): the table's header names each side's malloc.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=2 data=../shared/data json_dir="" extra=() peer_flags=() cpp_malloc=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --json-dir) json_dir="$2"; shift 2 ;;
    --peer-tune-malloc) peer_flags+=(--tune-malloc); shift ;;
    --cpp-system-malloc) cpp_malloc=system; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ -x build/googlenet ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }
python=/usr/bin/python3
"$python" -c 'import torch, torchvision' 2>/dev/null ||
  { echo "needs Debian's python3-torch + python3-torchvision: scripts/install-deps.sh --with-python" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for layout in nchw channels_last; do
  flags=(--threads "$threads" --data "$data")
  [[ $layout == channels_last ]] && flags+=(--channels-last)
  cpp_layout=()  # googlenet bench is channels-last by default (as train), peer.py NCHW
  [[ $layout == nchw ]] && cpp_layout=(--nchw)
  echo "== googlenet bench ($layout)" >&2
  GOOGLENET_MALLOC=$cpp_malloc build/googlenet bench "${flags[@]}" "${cpp_layout[@]}" "${extra[@]}" --json "$work/cpp-$layout.json" >&2
  # Both sides' "% peak" against the same number: the peak googlenet measured (or was given).
  peak=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["cpu"]["peak_gflops"])' "$work/cpp-$layout.json")
  echo "== bench/peer.py ($layout)" >&2
  "$python" bench/peer.py "${flags[@]}" "${peer_flags[@]}" --peak-gflops "$peak" "${extra[@]}" --json "$work/py-$layout.json" >&2
done
[[ -n "$json_dir" ]] && mkdir -p "$json_dir" && cp "$work"/*.json "$json_dir"/

"$python" - "$work" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u +%F)" <<'PY'
import json, pathlib, sys
work, load_before, load_after, day = pathlib.Path(sys.argv[1]), *sys.argv[2:]
runs = {(impl, layout): json.loads((work / f"{impl}-{layout}.json").read_text())
        for impl in ("cpp", "py") for layout in ("nchw", "channels_last")}
first = runs["cpp", "nchw"]
cpu, o = first["cpu"], first["options"]
print(f"CPU: {cpu['model_name']}, {cpu['cores']} cores, {cpu['isa']}, {cpu['ghz']:.2f} GHz "
      f"from {cpu['ghz_source']}; peak {cpu['peak_gflops']:.0f} GFLOP/s ({cpu['peak_source']}; "
      f"both sides), nominal {cpu.get('nominal_peak_gflops', 0):.0f} GFLOP/s "
      f"({cpu['flops_per_cycle']} FLOP/cycle/core: {cpu['flops_per_cycle_assumption']})")
print(f"threads: {first['threads']}; {first['implementation']} vs "
      f"{runs['py', 'nchw']['implementation']}; {day}; median [min-max] of {o['repeats']} "
      f"repeats; load average before {load_before}, after {load_after}")
print(f"malloc: C++ {first.get('allocator', 'not recorded')}; "
      f"PyTorch {runs['py', 'nchw'].get('allocator', 'not recorded')}\n")
print("| quantity | layout | googlenet (C++) | PyTorch | C++ / PyTorch | better |")
print("|---|---|---:|---:|---:|---|")

def cell(value, digits, low=None, high=None):
    text = f"{value:.{digits}f}"
    return text + (f" [{low:.{digits}f}-{high:.{digits}f}]" if low is not None else "")

rows = [  # label, path into the JSON, digits, higher is better
    (f"training img/s (batch {o['batch_size']})", ("train", "images_per_second"), 1, True),
    (f"evaluation img/s (batch {o['eval_batch_size']})", ("eval", "images_per_second"), 1, True),
    ("latency ms (batch 1)", ("latency", "milliseconds"), 2, False),
    (f"data pipeline img/s (batch {o['batch_size']})", ("data", "images_per_second"), 0, True),
    ("training GFLOP/s", ("train", "gflops"), 1, True),
    ("training % of peak", ("train", "peak_fraction"), 1, True),
    ("evaluation GFLOP/s", ("eval", "gflops"), 1, True),
    ("peak RSS MiB, training", ("train", "peak_rss_mb"), 0, False),
    ("peak RSS MiB, evaluation", ("eval", "peak_rss_mb"), 0, False),
    ("peak RSS MiB, whole run", ("peak_rss_mb",), 0, False),
]
for label, path, digits, higher in rows:
    for layout in ("nchw", "channels_last"):
        values = []
        for impl in ("cpp", "py"):
            node = runs[impl, layout]
            for key in path:
                node = node[key] if node is not None else None
            values.append(node)
        if any(v is None for v in values):
            continue
        scale = 100 if path[-1] == "peak_fraction" else 1
        cells = [cell(scale * v["median"], digits, scale * v["min"], scale * v["max"])
                 if isinstance(v, dict) else cell(scale * v, digits) for v in values]
        medians = [v["median"] if isinstance(v, dict) else v for v in values]
        ratio = medians[0] / medians[1] if medians[1] else float("nan")
        print(f"| {label} | {layout.replace('_', '-')} | {cells[0]} | {cells[1]} | "
              f"{ratio:.2f} | {'higher' if higher else 'lower'} |")
flops = {impl: runs[impl, "nchw"]["flops"]["forward_per_image"] for impl in ("cpp", "py")}
if flops["cpp"] != flops["py"]:
    print(f"\nwarning: forward FLOPs differ: C++ {flops['cpp']}, PyTorch {flops['py']}")
print(f"\nFLOPs: {first['flops']['forward_per_image'] / 1e6:.1f} M per image forward; "
      f"{first['flops']['convention']}.")
PY
