#!/usr/bin/python3
"""PyTorch peer of the C++ trainer: the reference recipe on the real CIFAR-10 binary
files, for fidelity comparisons (same data, schedule and reporting).

Recipe (the reference's): RandomCrop(32, 4) + horizontal flip + ToTensor +
Normalize, batch 128 (test 100), CrossEntropyLoss, SGD(lr=0.1, weight_decay=5e-4)
with no momentum argument + OneCycleLR(max_lr=0.1, epochs=--schedule-epochs,
steps_per_epoch=len(loader)) stepped per batch (it cycles momentum 0.95-0.85-0.95).

Prints one line per epoch:
  epoch E train_loss X test_loss Y test_acc Z lr L seconds S
(test_acc a fraction, lr of the epoch's last batch, seconds of training only) and
with --csv writes the same columns as the C++ metrics.csv.
Run with Debian's python3-torch: /usr/bin/python3 bench/train_peer.py --help
"""
import argparse
import csv
import pathlib
import random
import sys
import time

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torch import nn
from torch.nn import functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from reference import GoogLeNet  # noqa: E402

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
RECORD = 1 + 3 * 32 * 32  # label byte + R, G, B planes of 32x32
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
AUX_WEIGHT = 0.3  # paper: auxiliary losses weighted by 0.3


def read_cifar(paths):
    """uint8 images N x 32 x 32 x 3 (as torchvision's CIFAR10) and int64 labels."""
    chunks = []
    for path in paths:
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % RECORD:
            sys.exit(f"error: {path}: {raw.size} bytes, not a multiple of {RECORD} "
                     "(file truncated? re-extract the archive or pass --data DIR)")
        chunks.append(raw.reshape(-1, RECORD))
    raw = np.concatenate(chunks)
    images = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, raw[:, 0].astype(np.int64)


class CifarArrays(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


class AuxHead(nn.Module):
    """Paper's auxiliary classifier, pooled to 2x2 (the 4a/4d maps are 2x2 here)."""

    def __init__(self, in_channels, num_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(128 * 2 * 2, 1024)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = F.relu(self.conv(F.adaptive_avg_pool2d(x, (2, 2)))).flatten(1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


def add_batch_norm(module):
    """BatchNorm2d after every conv of `module` (before its ReLU)."""
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d):
            setattr(module, name, nn.Sequential(child, nn.BatchNorm2d(child.out_channels)))
        else:
            add_batch_norm(child)


class PeerNet(nn.Module):
    """The reference GoogLeNet, optionally with BN and the paper's aux heads."""

    def __init__(self, aux, bn):
        super().__init__()
        self.net = GoogLeNet()
        if bn:
            add_batch_norm(self.net)
        self.aux1 = AuxHead(512) if aux else None  # after 4a
        self.aux2 = AuxHead(528) if aux else None  # after 4d

    def forward(self, x):
        n, use_aux = self.net, self.aux1 is not None and self.training
        x = n.stage3(n.stage2(n.stage1(x)))
        x = n.stage4[0](x)
        aux1 = self.aux1(x) if use_aux else None
        x = n.stage4[3](n.stage4[2](n.stage4[1](x)))
        aux2 = self.aux2(x) if use_aux else None
        x = n.stage4[5](n.stage4[4](x))
        return n.fc(n.stage5(x)), aux1, aux2


def tune_malloc():
    """googlenet's tune_malloc() (src/util/malloc.cpp) for this process, through ctypes: glibc
    keeps freed memory (mmap threshold 32 MiB, trim threshold 1 GiB) instead of
    page-faulting every step's activations in afresh. What a PyTorch user can do too."""
    import ctypes
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    if libc.mallopt(m_mmap_threshold, 32 << 20) != 1 or \
            libc.mallopt(m_trim_threshold, 1 << 30) != 1:
        raise SystemExit("mallopt refused the thresholds")
    return "glibc, freed memory kept: mmap threshold 32 MiB, trim threshold 1 GiB (--tune-malloc)"


def xavier_init(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)


def evaluate(model, loader, memory_format):
    model.eval()
    loss_sum, correct, total = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in loader:
            logits, _, _ = model(images.contiguous(memory_format=memory_format))
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(1) == labels).sum().item()
            total += len(labels)
    return loss_sum / total, correct / total


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", type=pathlib.Path,
                   default=ROOT.parent / "shared" / "data" / "cifar-10-batches-bin",
                   help="folder with data_batch_1..5.bin and test_batch.bin")
    p.add_argument("--epochs", type=int, default=60, help="epochs to train")
    p.add_argument("--schedule-epochs", type=int, default=None,
                   help="epochs the one-cycle schedule spans (reference: 150); default --epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-subset", type=int, default=0, help="first N training images (0: all)")
    p.add_argument("--test-subset", type=int, default=0, help="first N test images (0: all)")
    p.add_argument("--init", choices=["reference", "xavier"], default="reference",
                   help="reference: PyTorch module defaults; xavier: Xavier-uniform, zero bias")
    p.add_argument("--aux", action="store_true",
                   help="paper aux heads after 4a and 4d; loss = main + 0.3 (aux1 + aux2); "
                        "train_loss reports the main head only")
    p.add_argument("--bn", action="store_true", help="BatchNorm2d after every conv")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch default)")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--csv", type=pathlib.Path, help="write metrics.csv-style rows here")
    p.add_argument("--tune-malloc", action="store_true",
                   help="keep freed memory in glibc's malloc, as googlenet does by default")
    args = p.parse_args()
    args.schedule_epochs = args.schedule_epochs or args.epochs
    if args.epochs <= 0 or args.schedule_epochs < args.epochs:
        p.error(f"--epochs {args.epochs} must be positive and <= --schedule-epochs "
                f"{args.schedule_epochs} (OneCycleLR cannot step past its schedule)")
    return args


def main():
    args = parse_args()
    if args.tune_malloc:
        print(tune_malloc(), file=sys.stderr)
    if args.threads:
        torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    normalize = [T.ToTensor(), T.Normalize(MEAN, STD)]
    train_transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] + normalize)
    train_x, train_y = read_cifar([args.data / f for f in TRAIN_FILES])
    test_x, test_y = read_cifar([args.data / "test_batch.bin"])
    if args.train_subset:
        train_x, train_y = train_x[:args.train_subset], train_y[:args.train_subset]
    if args.test_subset:
        test_x, test_y = test_x[:args.test_subset], test_y[:args.test_subset]
    train_loader = torch.utils.data.DataLoader(
        CifarArrays(train_x, train_y, train_transform), batch_size=128, shuffle=True,
        num_workers=args.workers)
    test_loader = torch.utils.data.DataLoader(
        CifarArrays(test_x, test_y, T.Compose(normalize)), batch_size=100, shuffle=False,
        num_workers=args.workers)

    model = PeerNet(aux=args.aux, bn=args.bn)
    if args.init == "xavier":
        xavier_init(model)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, epochs=args.schedule_epochs, steps_per_epoch=len(train_loader))

    writer, csv_file = None, None
    if args.csv:
        csv_file = open(args.csv, "w", newline="")
        writer = csv.writer(csv_file, lineterminator="\n")
        writer.writerow(["epoch", "train_loss", "test_loss", "test_accuracy", "lr",
                         "epoch_seconds", "images_per_second"])
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, loss_sum, seen, lr = time.perf_counter(), 0.0, 0, 0.0
        for images, labels in train_loader:
            images = images.contiguous(memory_format=memory_format)
            lr = optimizer.param_groups[0]["lr"]
            optimizer.zero_grad()
            logits, aux1, aux2 = model(images)
            loss = criterion(logits, labels)
            total = loss + AUX_WEIGHT * (criterion(aux1, labels) + criterion(aux2, labels)) \
                if aux1 is not None else loss
            total.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(labels)
            seen += len(labels)
        seconds = time.perf_counter() - start
        test_loss, test_acc = evaluate(model, test_loader, memory_format)
        train_loss = loss_sum / seen
        print(f"epoch {epoch} train_loss {train_loss:.4f} test_loss {test_loss:.4f} "
              f"test_acc {test_acc:.4f} lr {lr:.6g} seconds {seconds:.1f}", flush=True)
        if writer:
            writer.writerow([epoch, f"{train_loss:.9g}", f"{test_loss:.9g}", f"{test_acc:.9g}",
                             f"{lr:.9g}", f"{seconds:.6g}", f"{seen / seconds:.6g}"])
            csv_file.flush()
    if csv_file:
        csv_file.close()


if __name__ == "__main__":
    main()
