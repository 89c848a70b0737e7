"""`medvlseg export RUN --format monai-bundle`: a MONAI bundle folder that runs the run's network without medvlseg.

Layout (MONAI bundle specification): `configs/metadata.json`, `configs/inference.json`, `models/model.ts`
(TorchScript, class embeddings folded in: `infer.export`), `scripts/` (bundle transforms + a copy of medvlseg's
Hessian tubularity filter, so the bundle needs only monai, torch, numpy and nibabel), `docs/README.md`, `LICENSE`.
`python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT` (from the
bundle folder) writes `OUT/<case>_seg.nii.gz` in each input's own geometry: MONAI LoadImaged → Orientationd RAS →
Spacingd (the run's working spacing) → ScaleIntensityRanged (the run's HU window) → Tubularityd →
SlidingWindowInferer (Gaussian blending, the training window) → Activationsd → Labelsd (arteries 1, veins 2 for a
5-class run) → Invertd → SaveImaged. Unlike `medvlseg predict` there is no lung restriction or small-component
removal, and Spacingd anchors its grid at the first voxel (predict resizes over the field of view), so labels can
differ from predict's near boundaries.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from medvlseg.errors import InputError

GROUPS_3 = [[0, 2], [1, 3]]  # 5-class model channels (LA, LV, RA, RV) → artery, vein


def _output_classes(names: list[str]) -> tuple[list[list[int]], list[str]]:
    """Channel groups and output label names: artery/vein for a 4-class (left/right) run, else one per class."""
    if len(names) == 4:
        return GROUPS_3, ["pulmonary artery", "pulmonary vein"]
    return [[k] for k in range(len(names))], list(names)


def inference_config(prep: Any, window: list[int], activation: str, groups: list[list[int]]) -> dict:
    """The bundle's configs/inference.json as a dict (MONAI config syntax: `@` references, `$` expressions)."""
    pre: list[dict] = [
        {"_target_": "LoadImaged", "keys": "image", "image_only": True},
        {"_target_": "EnsureChannelFirstd", "keys": "image"},
        {"_target_": "Orientationd", "keys": "image", "axcodes": "RAS", "labels": [["L", "R"], ["P", "A"], ["I", "S"]]}]
    if prep.target_spacing is not None:
        pre.append({"_target_": "Spacingd", "keys": "image", "pixdim": list(prep.target_spacing), "mode": "bilinear"})
    pre.append({"_target_": "ScaleIntensityRanged", "keys": "image", "a_min": prep.window[0], "a_max": prep.window[1],
                "b_min": 0.0, "b_max": 1.0, "clip": True})
    if prep.tubularity:
        pre.append({"_target_": "scripts.transforms.Tubularityd", "keys": "image", "sigmas_mm": list(prep.sigmas_mm),
                    "gamma": prep.tubularity_gamma, "block_size": prep.block_size, "min_vox": prep.pyramid_min_vox})
    pre.append({"_target_": "EnsureTyped", "keys": "image", "dtype": "$torch.float32"})
    post = [{"_target_": "Activationsd", "keys": "pred", "sigmoid": activation == "sigmoid",
             "softmax": activation == "softmax"},
            {"_target_": "scripts.transforms.Labelsd", "keys": "pred", "activation": activation, "groups": groups,
             "threshold": "@threshold"},
            {"_target_": "Invertd", "keys": "pred", "transform": "@preprocessing", "orig_keys": "image",
             "nearest_interp": True, "to_tensor": True},
            {"_target_": "SaveImaged", "keys": "pred", "output_dir": "@output_dir", "output_postfix": "seg",
             "output_dtype": "$numpy.uint8", "resample": False, "separate_folder": False, "print_log": False}]
    return {
        "imports": ["$import glob", "$import os", "$import numpy", "$import torch", "$import scripts"],
        "bundle_root": ".", "dataset_dir": "$os.path.join(@bundle_root, 'sample')",
        "output_dir": "$os.path.join(@bundle_root, 'eval')", "threshold": 0.5,
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
        "datalist": "$[{'image': f} for f in sorted(glob.glob(os.path.join(@dataset_dir, '*.nii*')))]",
        "network": "$torch.jit.load(os.path.join(@bundle_root, 'models', 'model.ts'), map_location=@device)",
        "preprocessing": {"_target_": "Compose", "transforms": pre},
        "dataset": {"_target_": "Dataset", "data": "@datalist", "transform": "@preprocessing"},
        "inferer": {"_target_": "SlidingWindowInferer", "roi_size": window, "sw_batch_size": 1, "overlap": 0.5,
                    "mode": "gaussian"},
        "postprocessing": {"_target_": "Compose", "transforms": post},
        "run": ["$scripts.transforms.run(@dataset, @network, @inferer, @postprocessing, @device)"],
    }


def metadata(run_dir: Path, preset: str, window: list[int], in_channels: int, labels: list[str],
             prep: Any) -> dict:
    """configs/metadata.json: versions, task, input/output format (MONAI bundle metadata fields)."""
    import monai
    import numpy
    import torch

    from medvlseg import __version__

    channels = {"0": f"CT, HU window {prep.window[0]:g}..{prep.window[1]:g} scaled to [0, 1]"}
    if in_channels > 1:
        channels["1"] = "Hessian tubularity (Frangi vesselness) of channel 0, [0, 1]"
    return {
        "version": "0.1.0", "changelog": {"0.1.0": f"exported by medvlseg {__version__} from {run_dir.name}"},
        "monai_version": monai.__version__, "pytorch_version": torch.__version__.split("+")[0],
        "numpy_version": numpy.__version__, "required_packages_version": {"nibabel": _version("nibabel")},
        "name": f"medvlseg {preset} pulmonary artery/vein segmentation", "task": "Pulmonary artery and vein "
        "segmentation of chest CT", "description": f"{preset} network trained with medvlseg (run {run_dir.name}); "
        "class embeddings folded into the TorchScript model, no text encoder needed.",
        "authors": "medvlseg", "copyright": "Apache-2.0", "data_type": "nibabel",
        "image_classes": "single-channel chest CT in HU", "label_classes": {str(i + 1): n for i, n in
                                                                            enumerate(labels)},
        "intended_use": "research only, not for clinical use",
        "network_data_format": {
            "inputs": {"image": {"type": "image", "format": "hounsfield", "modality": "CT",
                                 "num_channels": in_channels, "spatial_shape": window, "dtype": "float32",
                                 "value_range": [0, 1], "is_patch_data": True, "channel_def": channels}},
            "outputs": {"pred": {"type": "image", "format": "segmentation", "num_channels": 1,
                                 "spatial_shape": window, "dtype": "uint8", "value_range": [0, len(labels)],
                                 "is_patch_data": False,
                                 "channel_def": {"0": "background", **{str(i + 1): n for i, n in
                                                                      enumerate(labels)}}}}},
    }


def _version(package: str) -> str:
    """Installed version of `package`."""
    from importlib.metadata import version

    return version(package)


def readme(meta: dict, window: list[int]) -> str:
    """docs/README.md of the bundle."""
    labels = ", ".join(f"{k} {v}" for k, v in meta["label_classes"].items())
    return f"""# {meta['name']}

{meta['description']}

Output labels: 0 background, {labels}. Input: a chest CT (NIfTI, HU); the output keeps the input's shape, affine and
orientation. Window {window} voxels, sliding-window inference with Gaussian blending.

```bash
cd BUNDLE
python -m monai.bundle run --config_file configs/inference.json --dataset_dir /path/to/cts --output_dir out
# → out/<case>_seg.nii.gz for every /path/to/cts/*.nii.gz
```

Needs monai {meta['monai_version']}, torch {meta['pytorch_version']}, numpy, nibabel (no medvlseg install: the
tubularity filter is in scripts/tubularity.py). Differences from `medvlseg predict`: no lung restriction or
small-component removal; MONAI Spacingd resampling. {meta['intended_use'].capitalize()}.
Licence: Apache-2.0 (LICENSE).
"""


BUNDLE_IMPORT = "from .tubularity import tubularity"
SCRIPTS_INIT = '''"""Bundle scripts (medvlseg MONAI bundle): transforms and the inference loop; tubularity.py is medvlseg's own."""

from . import transforms

__all__ = ["transforms"]
'''


def _write_scripts(folder: Path) -> None:
    """BUNDLE/scripts: __init__.py, transforms.py (infer.bundle_transforms, tubularity import made bundle-local)
    and tubularity.py (a copy of data/tubularity.py)."""
    from medvlseg.data import tubularity as tubularity_module
    from medvlseg.infer import bundle_transforms

    folder.mkdir(parents=True)
    source = Path(bundle_transforms.__file__).read_text(encoding="utf-8")
    ours = "from medvlseg.data.tubularity import tubularity"
    lines = [BUNDLE_IMPORT if line.startswith(ours) else line for line in source.splitlines()]
    if BUNDLE_IMPORT not in lines:
        raise RuntimeError(f"{bundle_transforms.__file__}: the tubularity import line to rewrite is missing")
    (folder / "transforms.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "__init__.py").write_text(SCRIPTS_INIT, encoding="utf-8")
    shutil.copyfile(tubularity_module.__file__, folder / "tubularity.py")


def export_bundle(run_dir: str | Path, out: str | Path | None = None, checkpoint: str = "best",
                  window: int | None = None, overwrite: bool = False) -> Path:
    """Write the bundle folder (default RUN/monai_bundle) atomically: built beside it, then renamed into place."""
    from medvlseg.infer.export import export_run
    from medvlseg.infer.predictor import Predictor, PredictOptions
    from medvlseg.utils.atomic import write_json, write_text

    run_dir = Path(run_dir)
    out = Path(out) if out else run_dir / "monai_bundle"
    if out.exists() and not overwrite:
        raise InputError(out, "exists (use --overwrite)")
    predictor = Predictor.from_run(run_dir, PredictOptions(device="cpu", checkpoint=checkpoint, patch_size=window))
    model = predictor.model
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        template = Path(str(resources.files("medvlseg") / "resources" / "monai_bundle"))
        shutil.copyfile(template / "LICENSE", tmp / "LICENSE")
        _write_scripts(tmp / "scripts")
        ts = export_run(run_dir, "torchscript", out=tmp / "models" / "model.ts", window=window, checkpoint=checkpoint)
        info = json.loads(ts.with_name(ts.name + ".json").read_text(encoding="utf-8"))
        ts.with_name(ts.name + ".json").unlink()
        groups, labels = _output_classes(predictor.class_names)
        meta = metadata(run_dir, model.config.preset, info["window"], info["in_channels"], labels, predictor.preprocess)
        write_json(tmp / "configs" / "metadata.json", meta)
        write_json(tmp / "configs" / "inference.json",
                   inference_config(predictor.preprocess, info["window"], info["activation"], groups))
        write_text(tmp / "docs" / "README.md", readme(meta, info["window"]))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
