"""Inference: sliding-window prediction with mirroring TTA, cc3d post-processing, label writers, batch mode.

Public API: `Predictor.from_run(run_dir, PredictOptions(...))` → `.predict_volume(volume) -> Prediction`,
`.predict_file(input, output)`; `run_batch(predictor, items, out_dir, ...)`; `collect_inputs(path)`;
`Predictor.decide(...)` (labels on the input grid); `postprocess_labels(...)`; writers in `medvlseg.infer.writers`.
Heavy imports (torch, monai) happen when the submodules are imported, not here.
"""
