#!/usr/bin/python3
"""PyTorch peer of `googlenet bench`: the same measurements of the reference code.

The reference module (scripts/reference.py, via train_peer.PeerNet for --aux/--bn) with
Xavier init, timed on a fixed synthetic batch: training steps (cross-entropy, aux
losses x 0.3, SGD lr 0.1 momentum 0.9 weight decay 5e-4), evaluation (eval mode, no
grad), batch-1 latency; and the reference's data pipeline (torchvision RandomCrop +
flip + ToTensor + Normalize, DataLoader(batch_size=128, shuffle=True, num_workers=0))
over the real training set. Same warm-up/repeat/median logic, FLOP convention, peak
detection and JSON keys as `googlenet bench`; bench/compare.sh runs both.
Run with Debian's python3-torch: /usr/bin/python3 bench/peer.py --help
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import torch
import torchvision.transforms as T
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from train_peer import (AUX_WEIGHT, MEAN, STD, TRAIN_FILES, CifarArrays,  # noqa: E402
                        PeerNet, read_cifar, tune_malloc, xavier_init)

LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 5e-4  # as googlenet bench's step
FLOP_CONVENTION = (
    "multiply-adds x2 of convs and linears, padding counted (googlenet summary); "
    "training = 3 x forward (backward = input + weight gradients, 2 x forward); "
    "pooling, activations and the SGD update not counted")


def parse_cpuinfo(text, max_mhz=0.0):
    """Port of googlenet's parse_cpuinfo (src/util/cpu.cpp): same rules, same keys."""
    blocks = [b for b in text.split("\n\n") if "processor" in b]
    fields = [dict((k.strip(), v.strip()) for k, _, v in (line.partition(":")
                   for line in b.splitlines()) if _) for b in blocks]
    first = fields[0] if fields else {}
    pairs = {(f.get("physical id"), f["core id"]) for f in fields if "core id" in f}
    flags = set(first.get("flags", "").split())
    vendor, family = first.get("vendor_id", ""), int(first.get("cpu family", "0") or 0)
    mhz = float(first.get("cpu MHz", "0") or 0)
    if max_mhz > 0:
        ghz, source = max_mhz / 1000, "cpufreq cpuinfo_max_freq (highest boost clock)"
    elif mhz > 0:
        ghz = mhz / 1000
        source = "/proc/cpuinfo cpu MHz (current clock; in a VM the host's nominal one)"
    else:
        ghz, source = 0.0, "unknown (pass --peak-gflops)"
    if "avx512f" in flags and vendor == "AuthenticAMD" and family == 25:
        isa, per_cycle = "avx512", 32
        why = "AMD Zen 4: 512-bit FMAs run as two 256-bit halves, 2 units x 8 lanes x 2"
    elif "avx512f" in flags:
        isa, per_cycle, why = "avx512", 64, "2 AVX-512 FMA units x 16 fp32 lanes x 2 (mul + add)"
    elif {"avx2", "fma"} <= flags:
        isa, per_cycle, why = "avx2", 32, "2 AVX2 FMA units x 8 fp32 lanes x 2 (mul + add)"
    elif "avx" in flags:
        isa, per_cycle, why = "avx", 16, "1 AVX add + 1 AVX mul unit x 8 fp32 lanes"
    elif "sse2" in flags:
        isa, per_cycle, why = "sse", 8, "1 SSE add + 1 SSE mul unit x 4 fp32 lanes"
    else:
        isa, per_cycle, why = "unknown", 0, "no x86 vector flags found (pass --peak-gflops)"
    return {"model_name": first.get("model name", ""), "cores": len(pairs) or len(fields),
            "isa": isa, "amx": "amx_tile" in flags, "avx512_bf16": "avx512_bf16" in flags,
            "ghz": ghz, "ghz_source": source, "flops_per_cycle": per_cycle,
            "flops_per_cycle_assumption": why}


def detect_cpu(peak_override):
    try:
        max_khz = float(open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read())
    except (OSError, ValueError):
        max_khz = 0.0
    cpu = parse_cpuinfo(open("/proc/cpuinfo").read(), max_khz / 1000)
    cpu["cores"] = min(cpu["cores"], len(os.sched_getaffinity(0)))
    detected = cpu["cores"] * cpu["ghz"] * cpu["flops_per_cycle"]
    cpu["peak_gflops"] = peak_override or detected
    cpu["peak_source"] = "--peak-gflops" if peak_override else "cores x GHz x FLOPs/cycle"
    return cpu


class PeakMemory:
    """Peak RSS per phase (VmHWM, reset through /proc/self/clear_refs), and the process's."""

    def __init__(self):
        self.process = 0

    @staticmethod
    def peak():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))

    def start(self):
        self.process = max(self.process, self.peak())
        try:
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")
        except OSError:
            pass  # the kernel refuses: phases report the process's peak so far

    def stop(self):
        peak = self.peak()
        self.process = max(self.process, peak)
        return peak / 2**20


def spread(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "samples": samples}


def time_repeats(args, step):
    for _ in range(args.warmup):
        step()
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.iterations):
            step()
        seconds.append(time.perf_counter() - start)
    return seconds


def count_flops(model):
    """Forward FLOPs per image of the main path and of the aux heads, as googlenet summary."""
    totals = {"main": 0, "aux": 0}

    def hook(name):
        def count(module, _, output):
            if isinstance(module, nn.Conv2d):
                kernel = module.kernel_size[0] * module.kernel_size[1]
                flops = 2 * module.out_channels * output.shape[2] * output.shape[3] * \
                    (module.in_channels // module.groups) * kernel
            else:
                flops = 2 * module.in_features * module.out_features
            totals["aux" if name.startswith("aux") else "main"] += flops
        return count

    handles = [m.register_forward_hook(hook(name)) for name, m in model.named_modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.train()  # the aux heads run only in training
    with torch.no_grad():
        model(torch.zeros(2, 3, 32, 32))
    for handle in handles:
        handle.remove()
    return totals["main"], totals["aux"]


def speed(key, values, gflops, peak, rss_mb):
    return {key: spread(values), "gflops": gflops,
            "peak_fraction": gflops / peak if peak > 0 else 0.0, "peak_rss_mb": rss_mb}


def bench_data(args, folder, memory_format, memory):
    start = time.perf_counter()
    images, labels = read_cifar([folder / f for f in TRAIN_FILES])
    load_seconds = time.perf_counter() - start
    transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize(MEAN, STD)])
    loader = torch.utils.data.DataLoader(CifarArrays(images, labels, transform),
                                         batch_size=args.batch_size, shuffle=True, num_workers=0)
    batches = min(args.data_batches, len(loader))
    print(f"bench: data pipeline, {batches} batches x {args.repeats} repeats ({folder})",
          file=sys.stderr)

    def take(count):  # as the training loop: each batch in the model's memory format
        done, batches = 0, iter(loader)
        for _ in range(count):
            batch, _ = next(batches)
            done += batch.contiguous(memory_format=memory_format).shape[0]
        return done

    memory.start()
    take(min(args.warmup, batches))
    rates, done = [], 0
    for _ in range(args.repeats):
        start = time.perf_counter()
        done = take(batches)  # a fresh shuffle, as every training epoch
        rates.append(done / (time.perf_counter() - start))
    return {"images_per_second": spread(rates), "images_per_repeat": done,
            "load_seconds": load_seconds, "peak_rss_mb": memory.stop(), "source": str(folder)}


def data_folder(data):
    for folder in (data / "cifar-10-batches-bin", data):
        if (folder / "data_batch_1.bin").is_file():
            return folder
    sys.exit(f"error: {data}: no cifar-10-batches-bin/data_batch_1.bin there; pass --data with "
             "the folder holding CIFAR-10's binary layout, or --no-data")


def run(args):
    allocator = tune_malloc() if args.tune_malloc else "glibc defaults"
    folder = None if args.no_data else data_folder(args.data)
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = detect_cpu(args.peak_gflops)
    peak = cpu["peak_gflops"]
    torch.manual_seed(args.seed)
    model = PeerNet(aux=args.aux, bn=args.bn)
    xavier_init(model)  # the default recipe's weights
    forward_flops, aux_flops = count_flops(model)
    train_flops = 3 * (forward_flops + aux_flops)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)

    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM,
                                weight_decay=WEIGHT_DECAY)
    images = torch.randn(args.batch_size, 3, 32, 32).contiguous(memory_format=memory_format)
    labels = torch.randint(10, (args.batch_size,))
    last_loss = [0.0]

    def autocast():  # googlenet's AutocastScope: convs and linears in bf16, fp32 weights
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def forward(x):
        with autocast():
            return model(x)

    def train_step():  # train_peer.py's step with momentum, as googlenet's training loop
        logits, aux1, aux2 = forward(images)
        loss = criterion(logits, labels)
        total = loss + AUX_WEIGHT * (criterion(aux1, labels) + criterion(aux2, labels)) \
            if aux1 is not None else loss
        last_loss[0] = loss.item()
        optimizer.zero_grad()
        total.backward()
        optimizer.step()

    print(f"bench: training step, batch {args.batch_size}", file=sys.stderr)
    memory = PeakMemory()
    memory.start()
    model.train()
    train = [args.iterations * args.batch_size / s for s in time_repeats(args, train_step)]
    train_rss = memory.stop()

    model.eval()
    with torch.no_grad():
        if args.torchscript != "none":  # PyTorch's own inference optimisations
            plain = model.net  # the main path: what eval runs (aux heads are training-only)
            example = torch.randn(args.eval_batch_size, 3, 32, 32).contiguous(
                memory_format=memory_format)
            traced = torch.jit.freeze(torch.jit.trace(plain, example).eval())
            if args.torchscript == "optimize":
                traced = torch.jit.optimize_for_inference(traced)
            model = lambda x: (traced(x), None, None)  # noqa: E731
        print(f"bench: evaluation, batch {args.eval_batch_size}", file=sys.stderr)
        memory.start()
        images = torch.randn(args.eval_batch_size, 3, 32, 32).contiguous(
            memory_format=memory_format)
        evals = [args.iterations * args.eval_batch_size / s
                 for s in time_repeats(args, lambda: forward(images))]
        eval_rss = memory.stop()
        print("bench: latency, batch 1", file=sys.stderr)
        memory.start()
        images = torch.randn(1, 3, 32, 32).contiguous(memory_format=memory_format)
        latency = [1000 * s / args.iterations for s in time_repeats(args, lambda: forward(images))]
        latency_rss = memory.stop()
        data = None if folder is None else bench_data(args, folder, memory_format, memory)

    train_median, eval_median = statistics.median(train), statistics.median(evals)
    return {
        "implementation": f"PyTorch {torch.__version__} (scripts/reference.py)",
        "cpu": cpu,
        "threads": torch.get_num_threads(),
        "allocator": allocator,
        "options": {"aux": args.aux, "bn": args.bn, "channels_last": args.channels_last,
                    "precision": args.precision,
                    "engine": {"none": "torch.nn modules", "freeze": "torch.jit.freeze",
                               "optimize": "torch.jit.optimize_for_inference"}[args.torchscript],
                    "batch_size": args.batch_size, "eval_batch_size": args.eval_batch_size,
                    "warmup": args.warmup, "repeats": args.repeats,
                    "iterations": args.iterations, "data_batches": args.data_batches,
                    "loader": "DataLoader, num_workers=0", "seed": args.seed,
                    "init": "xavier_uniform"},
        "flops": {"forward_per_image": forward_flops, "train_per_image": train_flops,
                  "convention": FLOP_CONVENTION},
        "train": dict(speed("images_per_second", train, train_median * train_flops / 1e9, peak,
                            train_rss), last_loss=last_loss[0]),
        "eval": speed("images_per_second", evals, eval_median * forward_flops / 1e9, peak,
                      eval_rss),
        "latency": speed("milliseconds", latency,
                         forward_flops / (statistics.median(latency) * 1e6), peak, latency_rss),
        "data": data,
        "peak_rss_mb": memory.process / 2**20,
    }


def format_result(r):
    cpu, o = r["cpu"], r["options"]
    lines = [f"{r['implementation']}: GoogLeNet{' + aux heads' if o['aux'] else ''}"
             f"{' + BN' if o['bn'] else ''}, Xavier init, fp32, "
             f"{'channels-last' if o['channels_last'] else 'NCHW'}, threads {r['threads']}",
             f"CPU: {cpu['model_name']}, {cpu['cores']} cores, {cpu['isa']}, "
             f"{cpu['ghz']:.2f} GHz from {cpu['ghz_source']}",
             f"fp32 peak: {cpu['peak_gflops']:.1f} GFLOP/s ({cpu['peak_source']}; "
             f"{cpu['flops_per_cycle']} FLOP/cycle/core: {cpu['flops_per_cycle_assumption']})",
             f"malloc: {r['allocator']}",
             f"each: {o['warmup']} warm-up + {o['repeats']} timed repeats of {o['iterations']} "
             f"iterations (data: {o['data_batches']} batches); median [min, max]", "",
             f"{'measurement':26s}{'median':>16s}{'[min, max]':>24s}{'GFLOP/s':>10s}"
             f"{'% peak':>9s}{'peak RSS':>13s}"]
    rows = [(f"training, batch {o['batch_size']}", r["train"], "images_per_second", "img/s", 1),
            (f"evaluation, batch {o['eval_batch_size']}", r["eval"], "images_per_second",
             "img/s", 1),
            ("latency, batch 1", r["latency"], "milliseconds", "ms", 2)]
    if r["data"] is not None:
        rows.append((f"data pipeline, batch {o['batch_size']}", r["data"], "images_per_second",
                     "img/s", 0))
    for name, m, key, unit, digits in rows:
        s = m[key]
        flops = f"{m['gflops']:10.1f}{100 * m['peak_fraction']:8.1f}%" if "gflops" in m \
            else f"{'-':>10s}{'-':>9s}"
        lines.append(f"{name:26s}{s['median']:>{16 - len(unit) - 1}.{digits}f} {unit}"
                     f"{'[%.*f, %.*f]' % (digits, s['min'], digits, s['max']):>24s}{flops}"
                     f"{m['peak_rss_mb']:9.0f} MiB")
    if r["data"] is None:
        lines.append(f"{'data pipeline':26s}skipped (--no-data)")
    lines.append(f"\nprocess peak RSS {r['peak_rss_mb']:.0f} MiB; FLOPs: "
                 f"{r['flops']['convention']}")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--aux", action="store_true", help="include the paper's aux heads")
    p.add_argument("--bn", action="store_true", help="BatchNorm2d after every conv")
    p.add_argument("--channels-last", action="store_true",
                   help="NHWC weights, inputs and loader batches")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="bf16: torch.autocast('cpu', bfloat16), as googlenet bench --precision")
    p.add_argument("--torchscript", choices=("none", "freeze", "optimize"), default="none",
                   help="evaluation and latency on torch.jit.freeze(trace) or, with optimize, "
                   "torch.jit.optimize_for_inference of it (PyTorch's inference options)")
    p.add_argument("--batch-size", type=int, default=128, help="training batch")
    p.add_argument("--eval-batch-size", type=int, default=100, help="evaluation batch")
    p.add_argument("--warmup", type=int, default=3, help="untimed iterations before each timing")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats (median, min, max)")
    p.add_argument("--iterations", type=int, default=10, help="iterations per timed repeat")
    p.add_argument("--data-batches", type=int, default=100,
                   help="data-pipeline batches per timed repeat")
    p.add_argument("--data", type=pathlib.Path, default=pathlib.Path("data"),
                   help="folder holding cifar-10-batches-bin/ (or that folder itself)")
    p.add_argument("--no-data", action="store_true", help="skip the data pipeline")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, input, shuffling")
    p.add_argument("--tune-malloc", action="store_true",
                   help="keep freed memory in glibc's malloc, as googlenet does by default")
    p.add_argument("--peak-gflops", type=float, default=0.0,
                   help="fp32 peak of this machine (0: cores x GHz x FLOPs/cycle, detected)")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="write every number as JSON to FILE; '-' or no FILE: stdout (the table "
                        "then goes to stderr)")
    args = p.parse_args()
    for name in ("batch_size", "eval_batch_size", "repeats", "iterations", "data_batches"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} is {getattr(args, name)}; it must be at least 1")
    if args.warmup < 0 or args.threads < 0 or args.peak_gflops < 0:
        p.error("--warmup, --threads and --peak-gflops must be 0 or more")

    result = run(args)
    to_stdout = args.json == "-"
    print(format_result(result), end="", file=sys.stderr if to_stdout else sys.stdout)
    if to_stdout:
        print(json.dumps(result, indent=2))
    elif args.json:
        with open(args.json, "w") as out:
            out.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
