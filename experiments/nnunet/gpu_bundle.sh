#!/usr/bin/env bash
# Build .nnunet_gpu/site312.tar.xz: the Python packages nnU-Net v2.8.1 needs beyond a stock CUDA PyTorch image
# (python 3.12, torch, timm, scipy, scikit-image, pandas, matplotlib... already there), for a GPU machine that can
# reach no registry. Compiled ones as cp312/abi3 wheels, pure-Python ones copied from .venv-nnunet.
# Then: run experiments/nnunet/gpu_run.sh there (carry .nnunet_gpu, experiments/work/nnunet_full/raw and the plan).
set -euo pipefail
cd "$(dirname "$0")/../.."
SP=$(ls -d .venv-nnunet/lib/python3*/site-packages)
TMP=$(mktemp -d); mkdir -p "$TMP/whl" "$TMP/site" .nnunet_gpu
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$TMP/whl" \
  simpleitk==2.5.7 blosc2==4.14.1 connected-components-3d==4.1.1 ndindex==1.10.1 numexpr==2.14.2
for w in "$TMP"/whl/*.whl; do unzip -q -o "$w" -d "$TMP/site"; done
for p in nnunetv2 acvl_utils batchgenerators batchgeneratorsv2 dynamic_network_architectures nibabel; do
  cp -r "$SP/$p" "$TMP/site/"; done
find "$TMP/site" -name __pycache__ -prune -exec rm -rf {} +
find "$TMP/site/nibabel" -type d -name tests -prune -exec rm -rf {} +
strip --strip-unneeded "$TMP"/site/cc3d/*.so || true
tar -C "$TMP/site" -cf - . | xz -6 -T2 > .nnunet_gpu/site312.tar.xz
rm -rf "$TMP"; ls -la .nnunet_gpu/site312.tar.xz
