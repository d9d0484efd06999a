"""torchvision's reference training-data pipeline, timed for one epoch.

The same in-memory uint8 CIFAR-10 training images as bench_data, wrapped exactly as
torchvision.datasets.CIFAR10 does (HWC numpy -> PIL image -> transforms), with the
reference's transforms and DataLoader(batch_size=128, shuffle=True, num_workers=0).
With --cpp PATH it also runs the C++ bench (build/bench_data) and prints the ratio.

    /usr/bin/python3 bench/data_peer.py --data ../shared/data --cpp build/bench_data
"""
import argparse
import os
import re
import subprocess
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)


def load_train(data_dir):
    folder = os.path.join(data_dir, "cifar-10-batches-bin")
    records = [np.fromfile(os.path.join(folder, f"data_batch_{i}.bin"), dtype=np.uint8)
               for i in range(1, 6)]
    records = np.concatenate(records).reshape(-1, 3073)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # as CIFAR10.data
    return np.ascontiguousarray(images), records[:, 0].astype(np.int64).tolist()


class InMemoryCifar10(Dataset):
    """torchvision.datasets.CIFAR10.__getitem__, without the files."""

    def __init__(self, images, labels, transform):
        self.data, self.targets, self.transform = images, labels, transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = Image.fromarray(self.data[index]), self.targets[index]
        return self.transform(img), target


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("GOOGLENET_DATA", "../shared/data"))
    parser.add_argument("--images", type=int, default=50000,
                        help="time this many images (a prefix of the shuffled epoch)")
    parser.add_argument("--cpp", help="path of bench_data, to run it and print the ratio")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    images, labels = load_train(args.data)
    transform = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])
    loader = DataLoader(InMemoryCifar10(images, labels, transform), batch_size=128,
                        shuffle=True, num_workers=0)
    done, start = 0, time.perf_counter()
    for batch, _ in loader:
        done += batch.shape[0]
        if done >= args.images:
            break
    peer = done / (time.perf_counter() - start)
    print(f"torchvision num_workers=0 images={done} img/s={peer:.0f}")

    if args.cpp:
        out = subprocess.run([args.cpp, args.data, "1"], check=True, capture_output=True,
                             text=True).stdout
        print(out, end="")
        ours = float(re.search(r"threads=1 .*img/s=(\d+)", out).group(1))
        print(f"ratio (C++ 1 thread / torchvision) = {ours / peer:.1f}x")


if __name__ == "__main__":
    main()
