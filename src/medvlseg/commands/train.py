"""`medvlseg train --config YAML --data MANIFEST_OR_CACHE --out RUN_DIR [--resume]`: train or resume a model."""

from __future__ import annotations

import argparse

# CLI flag → TrainConfig field (dotted); every flag overrides the config file.
FLAG_FIELDS = {
    "preset": "preset", "epochs": "epochs", "patch_size": "patch_size", "batch_size": "batch_size",
    "seed": "seed", "device": "device", "lr": "lr", "steps_per_epoch": "steps_per_epoch",
    "label_mode": "label_mode", "num_workers": "num_workers", "val_every": "val_every", "amp": "amp",
    "threads": "threads", "text_encoder": "text.name", "template": "text.template",
    "train_annotated": "train_annotated", "init": "init",
}


def add_parser(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    """Register `medvlseg train` and its flags."""
    p = subparsers.add_parser(
        "train", parents=parents, help="train or resume a model",
        description="Train a model (lacaf, universal, unet, medvlm) on a manifest (preprocessed into RUN_DIR/cache) or a "
                    "preprocessed cache. Under `torchrun --nproc_per_node=N` it trains with DDP.",
    )
    p.add_argument("--config", default=None, help="train config YAML (configs/lacaf.yaml, ...); flags override it")
    p.add_argument("--data", default=None,
                   help="manifest JSON, preprocessed cache folder, or phantom:PRESET (engine cases generated on the fly: "
                        "tiny | small | paper; settings under `stream:` in the config); default: the config's `data:`")
    p.add_argument("--out", required=True, help="run folder (checkpoints, logs, everything predict needs)")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last (config from RUN_DIR)")
    p.add_argument("--init", default=None, metavar="MODEL",
                   help="fine-tune: start from the weights of a shipped model (default) or a run folder; its "
                        "config.yaml is the base config unless --config is given (`medvlseg models` lists them)")
    p.add_argument("--preset", default=None, help="lacaf | universal | unet | medvlm | segvol | segevolution")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--steps-per-epoch", type=int, default=None, help="optimizer steps per epoch")
    p.add_argument("--patch-size", type=int, default=None, help="patch edge, voxels")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="peak learning rate")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:1")
    p.add_argument("--label-mode", choices=("5class", "3class"), default=None,
                   help="5class: partial-label loss (default); 3class: naive, unannotated lung = background")
    p.add_argument("--train-annotated", choices=("any", "both"), default=None,
                   help="any: every training case (default); both: fully-labeled cases only")
    p.add_argument("--text-encoder", default=None, help="minilm | clip | bert | precomputed | random")
    p.add_argument("--template", default=None, help="prompt template name or a string with one {}")
    p.add_argument("--num-workers", type=int, default=None, help="patch-loading worker processes")
    p.add_argument("--val-every", type=int, default=None, help="epochs between validations (0: never)")
    p.add_argument("--amp", choices=("auto", "bf16", "fp16", "off"), default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (0: default)")
    p.add_argument("--light", action="store_true", default=None, help="light CPU backbone variant")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any config field, dotted (e.g. --set augment.flip_prob=0 --set model.backbone.width=0.5)")
    p.add_argument("--preprocess-workers", type=int, default=1, help="workers when --data is a manifest")
    p.add_argument("--stop-after", type=int, default=None, help="stop after this many epochs in this call")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    p.set_defaults(func=run)


def resolve_config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """TrainConfig: the run's saved config on --resume, else --config (or defaults); then flags override."""
    from pathlib import Path

    import yaml

    from medvlseg.errors import ConfigError, InputError
    from medvlseg.train.config import TrainConfig
    from medvlseg.train.run_folder import CONFIG_FILE, read_config
    from medvlseg.utils.config import load, override

    base_path = Path(args.config) if args.config else None
    if base_path is None and args.init and not args.resume:  # fine-tuning: the initial model's own recipe
        from medvlseg.models.zoo import resolve_model

        base_path = resolve_model(args.init) / CONFIG_FILE
        if args.data:  # recorded instead of the initial model's own training data
            args.set = [f"data={args.data}", *args.set]
    if args.resume:
        config, base_path = read_config(args.out), Path(args.out) / CONFIG_FILE
    elif base_path is not None and not base_path.is_file():
        raise InputError(base_path, "config not found")
    else:
        config = load(TrainConfig, base_path) if base_path is not None else TrainConfig()
    changes = {field: getattr(args, flag) for flag, field in FLAG_FIELDS.items()}
    changes["light"] = args.light
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(item, "--set needs KEY=VALUE")
        if key.startswith("model."):  # dotted ModelConfig overrides live in the `model` dict
            config.model[key[len("model."):]] = yaml.safe_load(value)
            continue
        changes[key] = yaml.safe_load(value)
    try:
        return override(config, **changes)
    except ConfigError as exc:  # unknown keys / bad values
        raise InputError(base_path or "train config", str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    """Train; prints the run folder and the best validation Dice."""
    from medvlseg.commands.checks import check_train_config
    from medvlseg.train.trainer import Trainer

    from medvlseg.train.stream import is_stream
    from medvlseg.utils.config import override

    config = resolve_config(args)
    if is_stream(args.data):  # recorded in RUN/config.yaml, so --resume streams the same engine
        config = override(config, data=args.data)
    check_train_config(config)
    trainer = Trainer(config, args.data, args.out, resume=args.resume, progress=args.progress,
                      preprocess_workers=args.preprocess_workers)
    result = trainer.fit(stop_after=args.stop_after)
    if trainer.info.is_main:
        best = f"{result.best_dice:.4f} (epoch {result.best_epoch})" if result.best_epoch > 0 else "n/a"
        print(f"{result.run_dir}: {result.epochs_done}/{config.epochs} epochs, best val Dice {best}, "
              f"{result.seconds:.0f} s")
    return 0
