#!/usr/bin/env bash
# The full-budget nnU-Net row on one GPU machine with a stock CUDA PyTorch python3 and no registry access.
# Needs, beside the repo: .nnunet_gpu/site312.tar.xz (gpu_bundle.sh), experiments/work/nnunet_full/raw and
# preprocessed/Dataset501_PhantomAV/{nnUNetPlans,dataset,dataset_fingerprint}.json (from `run.sh full convert plan`).
# Re-creates the preprocessed data from raw + that plan (identical bytes), trains the 3 repeats side by side
# (PARALLEL=1) and predicts the test split; packs logs, debug/timing JSONs and predictions (no checkpoints) into
# ${OUT:-.}/nnunet_full_gpu.tar.gz. Scoring and the table run back on the project machine:
#   tar -xzf nnunet_full_gpu.tar.gz -C experiments/work/nnunet_full && bash experiments/nnunet/run.sh full evaluate table
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-.}
python3 -c "import tarfile; tarfile.open('.nnunet_gpu/site312.tar.xz').extractall('/tmp/nnsite')" || exit 1
export PYTHONPATH=/tmp/nnsite NNPY=python3 PYSYS=python3 DEVICE=${DEVICE:-cuda} PARALLEL=1
export nnUNet_n_proc_DA=${nnUNet_n_proc_DA:-4} OMP_NUM_THREADS=1 nnUNet_compile=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import sys, torch, nnunetv2, SimpleITK, blosc2; print(sys.version.split()[0], torch.__version__)" \
  | tee -a "$OUT/gpu.txt" || exit 1
NP=8 bash experiments/nnunet/run.sh full preprocess > "$OUT/preprocess.log" 2>&1 || { tail -n 30 "$OUT/preprocess.log"; exit 1; }
timeout -s KILL "${TRAIN_TIMEOUT:-420}" bash experiments/nnunet/run.sh full train 2>&1 | tee "$OUT/train.log" | tail -n 40
bash experiments/nnunet/run.sh full predict 2>&1 | tee "$OUT/predict.log" | tail -n 20
W=experiments/work/nnunet_full
tar -czf "$OUT/nnunet_full_gpu.tar.gz" --exclude='*.pth' -C "$W" $(cd "$W" && ls -d results_rep* pred_rep* 2>/dev/null)
ls -la "$OUT"
