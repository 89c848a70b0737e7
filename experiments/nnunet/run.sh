#!/usr/bin/env bash
# nnU-Net v2 trained by nnU-Net itself on the phantom benchmark, scored by `medvlseg evaluate` (Table IV row).
#
# One command: bash experiments/nnunet/run.sh [smoke|full] [STAGE...]
#   stages (default all, in order): setup convert plan train predict evaluate table
#   (preprocess: re-create the preprocessed data from raw/ and an existing plan, for a machine that got only those;
#    bench: seconds per training iteration on this machine, experiments/nnunet/bench_iter.py)
#   smoke: tiny phantoms, nnUNetTrainer_1epoch, 1 repeat;
#   full:  the `full` budget's phantoms (preset small; experiments/work/full/phantoms), nnUNetTrainer_1epoch
#          (1 epoch = 250 iterations of batch 2, 80^3 patches: its smallest fixed-epoch variant), 3 repeats.
#   nnU-Net is not seeded: repeat r is an independent run with its own nnUNet_results (results_rep<r>), predictions
#   (pred_rep<r>) and scores (eval_rep<r>); finished repeats are skipped (train: results_rep<r>/train.json with a
#   final checkpoint; predict: every test case written; evaluate: eval_rep<r>/summary.json).
#   `table` writes docs/results/table4_nnunet.{md,csv,json} (full) or $WORK/table4_nnunet.* (smoke).
# Environment: TRAINER, REPEATS, DEVICE (auto|cpu|cuda; auto = cuda when torch sees one), PARALLEL=1 (repeats'
#   train/predict run side by side: for one GPU), NNPY (the python that imports nnunetv2; default .venv-nnunet's),
#   nnUNet_n_proc_DA (default 1 on cpu, 4 per repeat on cuda), OMP_NUM_THREADS (default 2), WORK.
# Wall time: on the project's 2-core CPU (shared) one training iteration took ~29 s (bench), so one repeat of
#   nnUNetTrainer_1epoch is ~2 h there. The committed full-budget row was trained on one H100 GPU (PARALLEL=1):
#   see docs/results/table4_nnunet.md for the exact commands.
# nnU-Net lives in its own virtual environment (.venv-nnunet): its dependency dynamic-network-architectures pulls
# timm (and torchvision), which must never enter the project's .venv. Its plan (patch size, spacing, network) is
# copied to $WORK/plan.json and written into the table (stage `table`).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUDGET=${1:-smoke}; shift || true
STAGES=${*:-setup convert plan train predict evaluate table}
case $BUDGET in
  smoke) PHANTOM=tiny; TRAINER=${TRAINER:-nnUNetTrainer_1epoch}; REPEATS=${REPEATS:-1}
         DOC=${DOC:-experiments/work/nnunet_smoke/table4_nnunet} ;;
  full)  PHANTOM=small; TRAINER=${TRAINER:-nnUNetTrainer_1epoch}; REPEATS=${REPEATS:-3}
         DOC=${DOC:-docs/results/table4_nnunet} ;;
  *) echo "usage: $0 [smoke|full] [stages]" >&2; exit 2 ;;
esac
WORK=${WORK:-experiments/work/nnunet_$BUDGET}
DATA=experiments/work/$BUDGET/phantoms/dataset.json   # the same phantoms as our experiments of this budget
NNVENV=${NNVENV:-.venv-nnunet}
NNPY=${NNPY:-$NNVENV/bin/python}
PYSYS=${PYSYS:-python3}   # stdlib only (timed.py)
export nnUNet_raw=$PWD/$WORK/raw nnUNet_preprocessed=$PWD/$WORK/preprocessed
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} nnUNet_compile=${nnUNet_compile:-false}
DID=501; DNAME=Dataset501_PhantomAV
mkdir -p "$WORK"

nn() {  # nn MODULE FUNCTION ARGS...: an nnU-Net console entry point, run by $NNPY (no console scripts needed)
  local mod=$1 fn=$2; shift 2
  "$NNPY" -c "import sys; from $mod import $fn as f; sys.argv[0] = '$fn'; sys.exit(f())" "$@"
}
resolve_device() {
  if [ "${DEVICE:-auto}" = auto ]; then
    DEVICE=$("$NNPY" -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
  fi
  if [ "$DEVICE" = cpu ]; then export nnUNet_n_proc_DA=${nnUNet_n_proc_DA:-1}
  else export nnUNet_n_proc_DA=${nnUNet_n_proc_DA:-4}; fi
  HARDWARE=$("$NNPY" -c "
import os, platform, torch
gpu = torch.cuda.get_device_name(0) if '$DEVICE' == 'cuda' else None
print(f'{gpu}, ' if gpu else '', end='')
print(f'{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), torch {torch.__version__}')")
}
model_dir() { echo "$WORK/results_rep$1/$DNAME/${TRAINER}__nnUNetPlans__3d_fullres/fold_all"; }

rep_train() {
  local r=$1 res=$PWD/$WORK/results_rep$1
  if [ -f "$res/train.json" ] && "$PYSYS" -c "import json,sys; d=json.load(open(sys.argv[1])); \
sys.exit(0 if d.get('trainer') == sys.argv[2] and d.get('checkpoint_final') else 1)" "$res/train.json" "$TRAINER"
  then echo "repeat $r: trained ($res/train.json), skipped"; return 0; fi
  mkdir -p "$res"
  local rc=0
  nnUNet_results=$res "$PYSYS" experiments/nnunet/timed.py "$res/train.json.part" trainer="$TRAINER" repeat="$r" \
    device="$DEVICE" hardware="$HARDWARE" nnUNet_n_proc_DA="$nnUNet_n_proc_DA" OMP_NUM_THREADS="$OMP_NUM_THREADS" -- \
    "$NNPY" -c "import sys; from nnunetv2.run.run_training import run_training_entry as f; sys.argv[0] = 'nnUNetv2_train'; sys.exit(f())" \
    $DID 3d_fullres all -tr "$TRAINER" -device "$DEVICE" > "$res/train.log" 2>&1 || rc=$?
  tail -n 5 "$res/train.log"
  # the final checkpoint is written before nnU-Net's own validation: a run whose validation failed still predicts
  "$PYSYS" - "$res/train.json.part" "$(model_dir "$r")/checkpoint_final.pth" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1])); d["checkpoint_final"] = os.path.isfile(sys.argv[2])
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
  mv "$res/train.json.part" "$res/train.json"
  echo "repeat $r: train rc $rc"
  return $rc
}
rep_predict() {
  local r=$1 res=$PWD/$WORK/results_rep$1 pred=$WORK/pred_rep$1
  local want have
  want=$(ls "$nnUNet_raw/$DNAME/imagesTs" | sed 's/_0000\.nii\.gz$//' | sort)
  have=$(ls "$pred" 2>/dev/null | grep '\.nii\.gz$' | sed 's/\.nii\.gz$//' | sort || true)
  if [ -n "$want" ] && [ "$want" = "$have" ]; then echo "repeat $r: predicted ($pred), skipped"; return 0; fi
  nnUNet_results=$res "$PYSYS" experiments/nnunet/timed.py "$res/predict.json" repeat="$r" device="$DEVICE" -- \
    "$NNPY" -c "import sys; from nnunetv2.inference.predict_from_raw_data import predict_entry_point as f; sys.argv[0] = 'nnUNetv2_predict'; sys.exit(f())" \
    -i "$nnUNet_raw/$DNAME/imagesTs" -o "$pred" -d $DID -c 3d_fullres -f all -tr "$TRAINER" -device "$DEVICE" \
    --disable_tta > "$res/predict.log" 2>&1 || { tail -n 20 "$res/predict.log"; return 1; }
}
rep_evaluate() {
  local r=$1
  if [ -f "$WORK/eval_rep$r/summary.json" ]; then echo "repeat $r: evaluated, skipped"; return 0; fi
  .venv/bin/medvlseg evaluate --pred "$WORK/pred_rep$r" --manifest "$DATA" --split test --out "$WORK/eval_rep$r" \
    --no-progress
}

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
      nn nnunetv2.experiment_planning.plan_and_preprocess_entrypoints plan_and_preprocess_entry \
        -d $DID -c 3d_fullres -np 2 --verify_dataset_integrity
      cp "$nnUNet_preprocessed/$DNAME/nnUNetPlans.json" "$WORK/plan.json" ;;
    preprocess)
      nn nnunetv2.experiment_planning.plan_and_preprocess_entrypoints preprocess_entry \
        -d $DID -c 3d_fullres -np "${NP:-2}" ;;
    bench)
      resolve_device
      nnUNet_results=$PWD/$WORK/bench_results "$NNPY" experiments/nnunet/bench_iter.py "${BENCH_N:-5}" 3 "$TRAINER" \
        "$DEVICE" | grep "^{" | tail -n 1 | tee "$WORK/bench_$DEVICE.json" ;;
    train|predict)
      resolve_device
      echo "device $DEVICE ($HARDWARE), trainer $TRAINER, repeats $REPEATS, nnUNet_n_proc_DA $nnUNet_n_proc_DA"
      pids=(); fail=0
      for r in $(seq 0 $((REPEATS - 1))); do
        if [ "${PARALLEL:-0}" = 1 ]; then "rep_$stage" "$r" & pids+=($!); else "rep_$stage" "$r" || fail=1; fi
      done
      for p in "${pids[@]}"; do wait "$p" || fail=1; done
      [ $fail = 0 ] || { echo "$stage failed for some repeat" >&2; exit 1; } ;;
    evaluate)
      for r in $(seq 0 $((REPEATS - 1))); do rep_evaluate "$r"; done ;;
    table)
      .venv/bin/python experiments/nnunet/table.py --work "$WORK" --trainer "$TRAINER" --repeats "$REPEATS" \
        --out "$DOC" --budget "$BUDGET" ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
