"""Training curves: loss and validation Dice per epoch from a run's `log.csv`, as a PNG."""

from __future__ import annotations

import csv
from pathlib import Path

from medvlseg.utils.atomic import atomic_path


def _floats(rows: list[dict[str, str]], key: str) -> list[float]:
    """Column `key` as floats (empty cells → NaN)."""
    return [float(r[key]) if r.get(key) not in (None, "") else float("nan") for r in rows]


def plot_training_log(log_csv: str | Path, png: str | Path, title: str = "training") -> Path:
    """Write a two-panel PNG (loss; validation Dice per class and mean) from a run's log.csv."""
    from matplotlib.figure import Figure

    rows = list(csv.DictReader(Path(log_csv).open(encoding="utf-8")))
    epochs = [int(r["epoch"]) for r in rows]
    fig = Figure(figsize=(10, 3.6))
    ax_loss, ax_dice = fig.subplots(1, 2)
    ax_loss.plot(epochs, _floats(rows, "loss"), color="black")
    ax_loss.set(xlabel="epoch", ylabel="training loss ½(Dice + BCE)", title="loss")
    dice_cols = [k for k in (rows[0] if rows else {}) if k.startswith("val_dice_")]
    for key in dice_cols:
        points = [(e, v) for e, v in zip(epochs, _floats(rows, key)) if v == v]
        if points:
            style = {"color": "black", "linewidth": 2} if key == "val_dice_mean" else {"alpha": 0.7}
            ax_dice.plot(*zip(*points), marker="o", label=key.removeprefix("val_dice_").replace("_", " "), **style)
    ax_dice.set(xlabel="epoch", ylabel="validation Dice", title="validation Dice", ylim=(0, 1))
    if dice_cols:
        ax_dice.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    png = Path(png)
    with atomic_path(png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return png
