#!/usr/bin/python3
"""PyTorch peer of `googlenet test`: the tutorial's evaluation of a trained model.

Loads a state_dict (`googlenet export --checkpoint RUN/best.pt --out weights.pt`) into
the reference module and scores CIFAR-10's test set the tutorial's way (DataLoader,
batch 100, ToTensor + Normalize, no grad), optionally channels-last, bf16 autocast or
with glibc's malloc keeping freed memory (as googlenet does). Prints accuracy, loss
and the seconds of the whole process (start-up, reading, evaluation), the quantity a
user waits for, next to `time googlenet test --checkpoint RUN/best.pt`.
Run with Debian's python3-torch: /usr/bin/python3 bench/test_peer.py --help
"""
import argparse
import pathlib
import sys
import time

START = time.perf_counter()

import torch  # noqa: E402
import torchvision.transforms as T  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from train_peer import (MEAN, STD, ROOT, CifarArrays, PeerNet, evaluate,  # noqa: E402
                        read_cifar, tune_malloc)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--weights", type=pathlib.Path, required=True,
                   help="state_dict written by torch.save or `googlenet export`")
    p.add_argument("--data", type=pathlib.Path,
                   default=ROOT.parent / "shared" / "data" / "cifar-10-batches-bin",
                   help="folder with test_batch.bin")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    p.add_argument("--bf16", action="store_true", help="torch.autocast('cpu', bfloat16)")
    p.add_argument("--tune-malloc", action="store_true",
                   help="keep freed memory in glibc's malloc, as googlenet does by default")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch default)")
    args = p.parse_args()
    allocator = tune_malloc() if args.tune_malloc else "glibc defaults"
    if args.threads:
        torch.set_num_threads(args.threads)
    model = PeerNet(aux=False, bn=False)
    state = torch.load(args.weights, map_location="cpu")
    model.net.load_state_dict(state)  # strict: the reference module's names
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    images, labels = read_cifar([args.data / "test_batch.bin"])
    loader = torch.utils.data.DataLoader(
        CifarArrays(images, labels, T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])),
        batch_size=100, shuffle=False)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
        loss, accuracy = evaluate(model, loader, memory_format)
    print(f"PyTorch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{'bf16' if args.bf16 else 'fp32'}, "
          f"{'channels-last' if args.channels_last else 'NCHW'}, malloc: {allocator}")
    print(f"test accuracy {100 * accuracy:.2f}%, test loss {loss:.4f}, "
          f"{time.perf_counter() - START:.2f} s (whole process)")


if __name__ == "__main__":
    main()
