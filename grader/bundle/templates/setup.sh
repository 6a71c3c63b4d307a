#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (default image: Ubuntu 22.04,
# Python 3.10). It installs CPU torch from the PyTorch wheel index, then the grader wheel (which holds no
# reference solution), and checks the bundled data against its checksum.
set -euo pipefail
SOURCE="$(cd "$(dirname "$0")" && pwd)"
apt-get update -qq
apt-get install -y -qq python3-pip > /dev/null
python3 -m pip install --quiet --no-cache-dir --index-url https://download.pytorch.org/whl/cpu \
    "torch>=2.2" "torchvision>=0.17"
python3 -m pip install --quiet --no-cache-dir "$SOURCE"/wheels/*.whl
if [ -f "$SOURCE/data/cifar2.npz" ]; then
    (cd "$SOURCE/data" && sha256sum --check --quiet cifar2.npz.sha256)
else
    # No data in the bundle: fetch CIFAR-10 now, at image-build time (students never wait for it).
    python3 -c "import torchvision; torchvision.datasets.CIFAR10('$SOURCE/data', download=True)"
fi
python3 -m grader --help > /dev/null
