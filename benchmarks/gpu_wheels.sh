#!/usr/bin/env bash
# (Re)create .gpu-wheels/ (gitignored, ~33 MiB): wheels for Python 3.12 on x86-64 Linux of what
# benchmarks/gpu_check.py needs and the GPU machine (no network) may lack. The check installs from it, with
# `pip --no-index`, only what its probe finds missing. Seen missing there: orjson; the others are fallbacks
# (the machine's package list has them). Their dependencies come along (pure Python). Never torch.
#
#     bash benchmarks/gpu_wheels.sh    # then name .gpu-wheels in the run's carry
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu-wheels
python3 -m pip download --quiet --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 -d .gpu-wheels \
  orjson==3.13.0 cmake==4.4.5 ninja==1.13.2 scikit-build-core==1.1.2 pybind11==3.1.0 pytest-benchmark==5.3.1 \
  hypothesis==6.170.27 pytest-xdist==3.8.0
ls .gpu-wheels
du -sh .gpu-wheels
