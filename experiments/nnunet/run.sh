#!/usr/bin/env bash
# nnU-Net v2 trained by nnU-Net itself on the phantom benchmark, scored by `medvlseg evaluate` (Table IV row).
#
# One command: bash experiments/nnunet/run.sh [smoke|full] [STAGE...]
#   stages (default all, in order): setup convert plan train predict evaluate
#   smoke: tiny phantoms, nnUNetTrainer_1epoch;  full: the experiments' `small` phantoms, nnUNetTrainer_10epochs
#   (about the wall time of one of our full runs on 2 CPU cores; override with TRAINER=...).
# nnU-Net lives in its own virtual environment (.venv-nnunet): its dependency dynamic-network-architectures pulls
# timm (and torchvision), which must never enter the project's .venv. Its plan (patch size, spacing, epochs) is
# copied to $WORK/plan.json and printed beside the metrics.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUDGET=${1:-smoke}; shift || true
STAGES=${*:-setup convert plan train predict evaluate}
case $BUDGET in
  smoke) PHANTOM=tiny; TRAINER=${TRAINER:-nnUNetTrainer_1epoch} ;;
  full)  PHANTOM=small; TRAINER=${TRAINER:-nnUNetTrainer_10epochs} ;;
  *) echo "usage: $0 [smoke|full] [stages]" >&2; exit 2 ;;
esac
WORK=experiments/work/nnunet_$BUDGET
DATA=experiments/work/$BUDGET/phantoms/dataset.json   # the same phantoms as our experiments of this budget
NNVENV=${NNVENV:-.venv-nnunet}
export nnUNet_raw=$PWD/$WORK/raw nnUNet_preprocessed=$PWD/$WORK/preprocessed nnUNet_results=$PWD/$WORK/results
export nnUNet_n_proc_DA=${nnUNet_n_proc_DA:-2} OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
DID=501; DNAME=Dataset501_PhantomAV
mkdir -p "$WORK"
for stage in $STAGES; do
  echo "== nnU-Net $BUDGET: $stage ($(date -u +%T))"
  case $stage in
    setup)
      test -x "$NNVENV/bin/python" || python3 -m venv "$NNVENV"
      # nnU-Net's trainer imports timm, which imports torchvision; the registry's torchvision is built against
      # the registry's (CUDA) torch, and next to a CPU-only torch build (what pip picks here from a local wheel)
      # its operators fail to register. So this venv takes the registry's own torch (--isolated: no local
      # wheels); it runs on CPUs too (a large download, ~3 GB).
      "$NNVENV/bin/python" -c "import torch, torchvision" 2>/dev/null || {
        "$NNVENV/bin/python" -m pip uninstall -y -q torch torchvision || true
        "$NNVENV/bin/python" -m pip --isolated install -q --cert "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" \
          "torch==2.13.0" "torchvision==0.28.0"; }
      "$NNVENV/bin/python" -m pip install -q --disable-pip-version-check "nnunetv2==2.8.1"
      "$NNVENV/bin/python" -c "import torchvision, nnunetv2" ;;
    convert)
      test -f "$DATA" || .venv/bin/medvlseg phantom --out "$(dirname "$DATA")" --preset "$PHANTOM" --seed 0
      .venv/bin/python -c "from medvlseg.experiments.nnunet import convert; print(convert('$DATA', '$nnUNet_raw', $DID))" ;;
    plan)
      "$NNVENV/bin/nnUNetv2_plan_and_preprocess" -d $DID -c 3d_fullres -np 2 --verify_dataset_integrity
      cp "$nnUNet_preprocessed/$DNAME/nnUNetPlans.json" "$WORK/plan.json" ;;
    train)
      /usr/bin/time -f "train wall %e s, peak RSS %M KB" \
        "$NNVENV/bin/nnUNetv2_train" $DID 3d_fullres all -tr "$TRAINER" -device cpu --npz 2>&1 | tail -n 40 ;;
    predict)
      "$NNVENV/bin/nnUNetv2_predict" -i "$nnUNet_raw/$DNAME/imagesTs" -o "$WORK/pred" -d $DID -c 3d_fullres \
        -f all -tr "$TRAINER" -device cpu --disable_tta ;;
    evaluate)
      .venv/bin/medvlseg evaluate --pred "$WORK/pred" --manifest "$DATA" --split test --out "$WORK/eval"
      .venv/bin/python - "$WORK" "$TRAINER" <<'PY'
import json, sys
work, trainer = sys.argv[1], sys.argv[2]
plan = json.load(open(f"{work}/plan.json"))["configurations"]["3d_fullres"]
print(f"nnU-Net plan: patch {plan['patch_size']}, spacing {plan['spacing']} mm, batch {plan['batch_size']}, "
      f"trainer {trainer}")
print(open(f"{work}/eval/report.md").read())
PY
      ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
