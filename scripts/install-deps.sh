#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, test and benchmark.
# Needs root (or sudo) and the Debian archive; nothing else is downloaded.
set -euo pipefail

packages=(
  build-essential cmake ninja-build
  libtorch-dev            # LibTorch 1.13.1 (CPU, oneDNN, c10d with Gloo)
  libdnnl-dev             # oneDNN 2.6 headers (the library LibTorch links): --engine onednn
  libgloo-dev             # Gloo's headers, needed by c10d's ProcessGroupGloo.hpp
  libopenblas0-openmp     # BLAS for LibTorch's matmuls: Debian's default is the netlib
                          # reference BLAS, which made the aux heads' linears 45% of a
                          # training step (docs/performance.md); OpenMP build, as LibTorch's own
  libcli11-dev            # command line
  nlohmann-json3-dev      # configs, reports
  libarchive-dev          # reading the .tar.gz archives in place
  libcurl4-openssl-dev    # `googlenet download`
  nettle-dev pkg-config   # MD5 of downloads
  libstb-dev              # image files for `googlenet predict`
  libgtest-dev libbenchmark-dev
)
# The PyTorch peer for fixtures and benchmarks (optional; CI does not need it).
if [[ "${1:-}" == "--with-python" ]]; then
  packages+=(python3-torch python3-torchvision python3-numpy python3-pil)
fi

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "installed: ${packages[*]}"
